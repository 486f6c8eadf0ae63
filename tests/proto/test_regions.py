"""Region plans against docs/protocol.md §3 and the regional parameters each module cites."""

from __future__ import annotations

import importlib

import pytest

from pocnet.errors import RegionTableError, UnknownRegionError
from pocnet.regions import PLAN_NAMES, RegionPlan, SubBand, get_plan

MHZ = 1_000_000


def _mhz(*values: float) -> tuple[int, ...]:
    return tuple(round(v * MHZ) for v in values)


# docs/protocol.md §3 table, channel column, in Helium's stored order (helium/miner
# audit/var-poc-v11-params.erl, REGION_PARAMS_*).
EXPECTED_CHANNELS = {
    "EU868": _mhz(867.1, 867.3, 867.5, 867.7, 867.9, 868.1, 868.3, 868.5),
    "US915": _mhz(903.9, 904.1, 904.3, 904.5, 904.7, 904.9, 905.1, 905.3),
    "AU915": _mhz(916.8, 917.0, 917.2, 917.4, 917.6, 917.8, 918.0, 918.2),
    "AS923-1": _mhz(923.2, 923.4, 923.6, 923.8, 924.0, 924.2, 924.4, 924.6),
    "AS923-2": _mhz(921.4, 921.6, 921.8, 922.0, 922.2, 922.4, 922.6, 922.8),
    "AS923-3": _mhz(916.6, 916.8, 917.0, 917.2, 917.4, 917.6, 917.8, 918.0),
    "AS923-4": _mhz(917.3, 917.5, 917.7, 917.9, 918.1, 918.3, 918.5, 918.7),
    "KR920": _mhz(922.1, 922.3, 922.5, 922.7, 922.9, 923.1, 923.3),
    "IN865": _mhz(865.0625, 865.4025, 865.985),
    "CN470": _mhz(486.3, 486.5, 486.7, 486.9, 487.1, 487.3, 487.5, 487.7),
}

# docs/protocol.md §3 table, max EIRP column (dBm x 10).
EXPECTED_EIRP = {
    "EU868": 161,
    "US915": 360,
    "AU915": 300,
    "AS923-1": 160,
    "AS923-2": 160,
    "AS923-3": 160,
    "AS923-4": 160,
    "KR920": 140,
    "IN865": 300,
    "CN470": 191,
}

# docs/protocol.md §3 table, tagged spreading column.
EU_SPREADING = ((65, 12), (129, 9), (238, 8))
US_SPREADING = ((25, 10), (67, 9), (139, 8), (256, 7))
WIDE_LIST = ((25, 12), (25, 11), (25, 10), (67, 9), (139, 8), (256, 7))


def test_plan_names_are_the_contracted_ones() -> None:
    assert PLAN_NAMES == (
        "EU868", "US915", "AU915", "AS923-1", "AS923-2", "AS923-3", "AS923-4",
        "KR920", "IN865", "CN470",
    )


@pytest.mark.parametrize("name", list(EXPECTED_CHANNELS))
def test_channels_eirp_bandwidth(name: str) -> None:
    plan = get_plan(name)
    assert plan.name == name
    assert plan.channels_hz == EXPECTED_CHANNELS[name]
    assert plan.max_eirp_dbm_x10 == EXPECTED_EIRP[name]
    assert plan.bandwidth_hz == 125_000


@pytest.mark.parametrize("name", list(EXPECTED_CHANNELS))
def test_tagged_spreading(name: str) -> None:
    expected = {"EU868": EU_SPREADING, "US915": US_SPREADING}.get(name, WIDE_LIST)
    assert get_plan(name).tagged_spreading == expected


def test_beacon_datarates_from_protocol_section_4() -> None:
    # docs/protocol.md §4: "EU868 -> SF12BW125, every other region -> SF9BW125".
    assert get_plan("EU868").beacon_datarate() == "SF12BW125"
    for name in PLAN_NAMES[1:]:
        assert get_plan(name).beacon_datarate(51) == "SF9BW125", name
    # The wide list: the first entry whose size holds the packet decides, in listed order.
    assert get_plan("KR920").beacon_datarate(25) == "SF12BW125"
    assert get_plan("KR920").beacon_datarate(26) == "SF9BW125"
    assert get_plan("KR920").beacon_datarate(256) == "SF7BW125"
    with pytest.raises(RegionTableError):
        get_plan("KR920").beacon_datarate(257)
    # Datarate follows the payload size: 25 bytes fit SF10 in US915, 66 bytes need SF9 in EU868.
    assert get_plan("US915").beacon_datarate(25) == "SF10BW125"
    assert get_plan("EU868").beacon_datarate(66) == "SF9BW125"
    with pytest.raises(RegionTableError):
        get_plan("EU868").beacon_datarate(239)


@pytest.mark.parametrize(
    ("name", "gain", "expected"),
    [
        ("EU868", 0, 16),  # trunc(16.1)
        ("EU868", 12, 14),  # trunc(16.1 - 1.2) = trunc(14.9)
        ("EU868", 11, 15),  # exactly 15.0
        ("US915", 12, 34),  # trunc(36.0 - 1.2) = trunc(34.8)
        ("US915", 80, 28),
        ("KR920", 145, 0),  # trunc(-0.5) = 0: toward zero, not floor
        ("KR920", 250, -11),  # trunc(-11.0)
        ("CN470", 25, 16),  # trunc(16.6)
    ],
)
def test_max_conducted_power_truncates(name: str, gain: int, expected: int) -> None:
    assert get_plan(name).max_conducted_dbm(gain) == expected


@pytest.mark.parametrize(
    ("name", "gain", "expected"),
    [
        ("EU868", 161, 0),  # exactly 0 dBm: still a beacon
        ("EU868", 170, 0),  # trunc(-0.9) = 0
        ("EU868", 171, None),  # trunc(-1.0) = -1: no beacon (docs/protocol.md §4)
        ("KR920", 149, 0),
        ("KR920", 150, None),
        ("KR920", 300, None),
        ("AS923-1", 169, 0),
        ("AS923-1", 170, None),
        ("US915", 300, 6),
    ],
)
def test_beacon_power_is_none_when_conducted_power_is_negative(
    name: str, gain: int, expected: int | None
) -> None:
    assert get_plan(name).beacon_power_dbm(gain) == expected


def test_eu868_duty_cycle_sub_bands() -> None:
    # docs/protocol.md §3: 1 % on 868.0-868.6 MHz (ETSI EN 300 220-2 band h1.4); the 867.x channels
    # are in 865-868 MHz (band h1.3), 1 % too.
    eu = get_plan("EU868")
    for freq in eu.channels_hz:
        assert eu.duty_cycle_for(freq) == 0.01
    assert {b.label for b in eu.sub_bands} >= {"h1.3", "h1.4"}
    h14 = next(b for b in eu.sub_bands if b.label == "h1.4")
    assert (h14.low_hz, h14.high_hz) == (868_000_000, 868_600_000)
    assert eu.duty_cycle_for(868_700_000) is None
    assert get_plan("US915").duty_cycle_for(903_900_000) is None


def test_dwell_time() -> None:
    # docs/protocol.md §3: 400 ms per channel per 20 s in US915 and AS923; none in EU868.
    assert get_plan("US915").dwell_time_ms == 400
    for name in ("AS923-1", "AS923-2", "AS923-3", "AS923-4"):
        assert get_plan(name).dwell_time_ms == 400
    assert get_plan("EU868").dwell_time_ms == 0


def test_get_plan_is_lenient_on_spelling_and_strict_on_names() -> None:
    assert get_plan("eu868") is get_plan("EU868")
    assert get_plan("as923_2") is get_plan("AS923-2")
    for bad in ("EU433", "", "AS923", "US-915"):
        with pytest.raises(UnknownRegionError):
            get_plan(bad)


def _plan(**overrides: object) -> RegionPlan:
    fields: dict[str, object] = {
        "name": "X",
        "channels_hz": (868_100_000,),
        "bandwidth_hz": 125_000,
        "max_eirp_dbm_x10": 140,
        "tagged_spreading": EU_SPREADING,
    }
    fields.update(overrides)
    return RegionPlan(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "overrides",
    [
        {"channels_hz": ()},
        {"channels_hz": (1, 1)},
        {"tagged_spreading": ()},
        {"tagged_spreading": ((129, 9), (65, 12))},
        {"tagged_spreading": ((65, 13),)},
        {"sub_bands": (SubBand("x", 2, 1, 0.01),)},
        {"sub_bands": (SubBand("x", 1, 2, 0.0),)},
    ],
)
def test_inconsistent_table_is_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(RegionTableError):
        _plan(**overrides)


@pytest.mark.parametrize("module", ["eu868", "us915", "au915", "as923", "kr920", "in865", "cn470"])
def test_each_plan_module_cites_its_source(module: str) -> None:
    doc = importlib.import_module(f"pocnet.regions.{module}").__doc__ or ""
    assert "docs/protocol.md §3" in doc
    assert "RP002" in doc


# helium/gateway-rs beacon/src/region.rs, test `test_select_datarate`: Helium's serialised
# BlockchainRegionParamsV1 for EU868 (helium/proto region_param_v1: 1 channel_frequency,
# 2 bandwidth, 3 max_eirp, 4 spreading{1 tagged_spreading{1 region_spreading, 2 max_packet_size}}).
HELIUM_EU868_PARAMS = bytes(
    [10, 35, 8, 224, 202, 187, 157, 3, 16, 200, 208, 7, 24, 161, 1, 34, 20, 10, 4, 8, 6, 16, 65,
     10, 5, 8, 3, 16, 129, 1, 10, 5, 8, 2, 16, 238, 1, 10, 35, 8, 160, 229, 199, 157, 3, 16,
     200, 208, 7, 24, 161, 1, 34, 20, 10, 4, 8, 6, 16, 65, 10, 5, 8, 3, 16, 129, 1, 10, 5, 8, 2,
     16, 238, 1, 10, 35, 8, 224, 255, 211, 157, 3, 16, 200, 208, 7, 24, 161, 1, 34, 20, 10, 4,
     8, 6, 16, 65, 10, 5, 8, 3, 16, 129, 1, 10, 5, 8, 2, 16, 238, 1, 10, 35, 8, 160, 154, 224,
     157, 3, 16, 200, 208, 7, 24, 161, 1, 34, 20, 10, 4, 8, 6, 16, 65, 10, 5, 8, 3, 16, 129, 1,
     10, 5, 8, 2, 16, 238, 1, 10, 35, 8, 224, 180, 236, 157, 3, 16, 200, 208, 7, 24, 161, 1, 34,
     20, 10, 4, 8, 6, 16, 65, 10, 5, 8, 3, 16, 129, 1, 10, 5, 8, 2, 16, 238, 1, 10, 35, 8, 160,
     207, 248, 157, 3, 16, 200, 208, 7, 24, 161, 1, 34, 20, 10, 4, 8, 6, 16, 65, 10, 5, 8, 3,
     16, 129, 1, 10, 5, 8, 2, 16, 238, 1, 10, 35, 8, 224, 233, 132, 158, 3, 16, 200, 208, 7, 24,
     161, 1, 34, 20, 10, 4, 8, 6, 16, 65, 10, 5, 8, 3, 16, 129, 1, 10, 5, 8, 2, 16, 238, 1, 10,
     35, 8, 160, 132, 145, 158, 3, 16, 200, 208, 7, 24, 161, 1, 34, 20, 10, 4, 8, 6, 16, 65, 10,
     5, 8, 3, 16, 129, 1, 10, 5, 8, 2, 16, 238, 1]
)
# helium/proto RegionSpreading: SF_INVALID=0, SF7=1, SF8=2, SF9=3, SF10=4, SF11=5, SF12=6.
REGION_SPREADING_SF = {1: 7, 2: 8, 3: 9, 4: 10, 5: 11, 6: 12}


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """A minimal protobuf reader (varint and length-delimited fields only)."""
    out: list[tuple[int, int | bytes]] = []
    i = 0

    def varint() -> int:
        nonlocal i
        value = shift = 0
        while True:
            byte = buf[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while i < len(buf):
        key = varint()
        if key & 7 == 0:
            out.append((key >> 3, varint()))
        elif key & 7 == 2:
            length = varint()
            out.append((key >> 3, buf[i : i + length]))
            i += length
        else:
            raise AssertionError(f"unexpected wire type {key & 7}")
    return out


def test_eu868_matches_helium_region_params() -> None:
    eu = get_plan("EU868")
    channels, spreadings = [], set()
    for _, param in _fields(HELIUM_EU868_PARAMS):
        assert isinstance(param, bytes)
        fields = dict(_fields(param))
        channels.append(fields[1])
        assert fields[2] == eu.bandwidth_hz
        assert fields[3] == eu.max_eirp_dbm_x10
        spreading = fields[4]
        assert isinstance(spreading, bytes)
        tagged = []
        for _, entry in _fields(spreading):
            assert isinstance(entry, bytes)
            e = dict(_fields(entry))
            tagged.append((e[2], REGION_SPREADING_SF[e[1]]))  # type: ignore[index]
        spreadings.add(tuple(tagged))
    assert tuple(channels) == eu.channels_hz  # same channels in the same order
    assert spreadings == {eu.tagged_spreading}


def test_datarate_selection_as_gateway_rs() -> None:
    # gateway-rs `test_select_datarate` on the EU868 params above.
    eu = get_plan("EU868")
    assert eu.beacon_datarate(30) == "SF12BW125"
    assert eu.beacon_datarate(90) == "SF9BW125"
    assert eu.beacon_datarate(130) == "SF8BW125"
    with pytest.raises(RegionTableError):
        eu.beacon_datarate(300)


def test_dwell_time_is_enforced_everywhere_in_us915_and_where_required_in_as923() -> None:
    """docs/protocol.md §3: "US915 and AS923 (where required) 400 ms dwell time per channel per 20
    s"."""
    from pocnet.link import parse_datarate, time_on_air_s

    us915, as923 = get_plan("US915"), get_plan("AS923-1")
    assert us915.enforced_dwell_time_ms() == 400
    assert as923.dwell_time_ms == 400
    assert as923.enforced_dwell_time_ms() == 0
    assert as923.enforced_dwell_time_ms(where_required=True) == 400
    assert get_plan("EU868").enforced_dwell_time_ms(where_required=True) == 0
    # Both beacons (SF9BW125, 0.33 s) fit the limit: Helium's AS923 beacon is not SF12.
    for plan in (us915, as923):
        sf, bw = parse_datarate(plan.beacon_datarate())
        assert time_on_air_s(52, sf, bw) * 1000 <= 400
