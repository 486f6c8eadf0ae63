"""LoRa link physics against published numbers (each expected value cites where it is from)."""

from __future__ import annotations

import math

import pytest

from pocnet import link
from pocnet.errors import DecodeError


@pytest.mark.parametrize(
    ("sf", "expected_ms"),
    # Issue 2 / Semtech LoRa calculator: 52 bytes, 125 kHz, CR 4/5, 8-symbol preamble,
    # explicit header, CRC on (LDRO on at SF12).
    [(7, 102.7), (9, 328.7), (12, 2465.8)],
)
def test_time_on_air_of_a_beacon_frame(sf: int, expected_ms: float) -> None:
    assert round(link.time_on_air_s(52, sf, 125_000) * 1000, 1) == expected_ms


def test_ldro_is_applied_only_above_16_ms_symbols() -> None:
    # SF11/125 kHz has 16.384 ms symbols (LDRO on); SF10 has 8.192 ms (off). Forcing LDRO on at
    # SF10 lengthens the frame, so the automatic choice at SF10 must be "off".
    auto = link.time_on_air_s(52, 10, 125_000)
    assert auto == link.time_on_air_s(52, 10, 125_000, ldro=False)
    assert auto < link.time_on_air_s(52, 10, 125_000, ldro=True)
    assert link.time_on_air_s(52, 11, 125_000) == link.time_on_air_s(52, 11, 125_000, ldro=True)


def test_time_on_air_other_settings() -> None:
    # 10 bytes at SF9: (80 - 36 + 28 + 16) / 36 -> 3 blocks of 5 symbols; without the CRC
    # (72 / 36) or the explicit header (68 / 36) only 2. A longer preamble adds exactly
    # (extra symbols x symbol time).
    base = link.time_on_air_s(10, 9, 125_000)
    assert base == pytest.approx((8 + 4.25 + 8 + 15) * 512 / 125_000)
    assert link.time_on_air_s(10, 9, 125_000, explicit_header=False) < base
    assert link.time_on_air_s(10, 9, 125_000, crc=False) < base
    longer = link.time_on_air_s(10, 9, 125_000, preamble=10)
    assert longer - base == pytest.approx(2 * 512 / 125_000)
    with pytest.raises(ValueError):
        link.time_on_air_s(20, 6, 125_000)


def test_fspl_at_one_kilometre_915_mhz() -> None:
    assert round(link.fspl_db(1000, 915e6), 2) == 91.68  # issue 2
    # Doubling the distance adds 20·log10(2) = 6.02 dB.
    assert link.fspl_db(2000, 915e6) - link.fspl_db(1000, 915e6) == pytest.approx(6.0206, 1e-4)
    with pytest.raises(ValueError):
        link.fspl_db(0, 915e6)


def test_noise_and_sensitivity() -> None:
    # kTB over 125 kHz: -174 + 10·log10(125000) = -123.03 dBm.
    assert link.thermal_noise_dbm(125_000) == pytest.approx(-123.03, abs=0.005)
    # SX1276 datasheet: SF12/125 kHz sensitivity about -137 dBm with a 6 dB noise figure.
    assert link.sensitivity_dbm(12, 125_000) == pytest.approx(-137.0, abs=0.1)
    assert link.sensitivity_dbm(7, 125_000) == pytest.approx(-124.5, abs=0.1)
    # Each SF step gains 2.5 dB (SX1276 datasheet, table 13).
    for sf in range(7, 12):
        gain = link.sensitivity_dbm(sf, 125_000) - link.sensitivity_dbm(sf + 1, 125_000)
        assert gain == pytest.approx(2.5)


def test_rssi_bound_truncates_gains_toward_zero() -> None:
    fspl = link.fspl_db(1000, 915e6)
    # 27 dBm + trunc(12/10)=1 + trunc(-15/10)=-1
    assert link.rssi_bound_dbm(27, 12, -15, 1000, 915e6) == pytest.approx(27 + 1 - 1 - fspl)
    assert link.rssi_bound_dbm(27, 19, 0, 1000, 915e6) == pytest.approx(27 + 1 - fspl)
    assert link.rssi_bound_dbm(27, -19, 0, 1000, 915e6) == pytest.approx(27 - 1 - fspl)


def test_snr_plausibility_threshold() -> None:
    noise = -174 + 10 * math.log10(125_000)
    rssi = -100.0
    limit = rssi - noise + 3
    assert link.snr_plausible(limit, rssi, 125_000)
    assert not link.snr_plausible(limit + 0.1, rssi, 125_000)


def test_below_sensitivity_has_a_ten_db_margin() -> None:
    assert not link.below_sensitivity(-147.0, 12, 125_000)
    assert link.below_sensitivity(-147.1, 12, 125_000)
    assert not link.below_sensitivity(-134.0, 7, 125_000)
    assert link.below_sensitivity(-134.1, 7, 125_000)
    # 500 kHz has 6 dB more noise, so its floor is 6 dB higher.
    assert link.verifier_sensitivity_dbm(7, 500_000) == pytest.approx(-124 + 6.0206, 1e-4)


def test_datarate_names() -> None:
    assert link.parse_datarate("SF12BW125") == (12, 125_000)
    assert link.parse_datarate("SF7BW500") == (7, 500_000)
    assert link.datarate_name(9, 125_000) == "SF9BW125"
    for bad in ("SF6BW125", "SF12BW126", "LRFHSS1BW137", "FSK50", "sf12bw125"):
        with pytest.raises(DecodeError):
            link.parse_datarate(bad)


def test_rssi_bound_on_helium_published_case() -> None:
    """helium/oracles iot_verifier/src/poc.rs, test `test_calc_expected_rssi`: tx power 12 dBm,
    gains 81 and 83 (dBi x 10), 508 m, 867900024 Hz → -57.334232963418515 dBm.

    Helium divides by c = 2.998e8 m/s (its `const C`); docs/protocol.md §5 by 299792458 m/s. The
    whole difference is that constant, 20·log10(2.998e8 / 299792458) dB, to the last digits."""
    helium = -57.334232963418515
    ours = link.rssi_bound_dbm(12, 81, 83, 508, 867_900_024)
    c_difference_db = 20 * math.log10(2.998e8 / 299_792_458)
    assert ours - helium == pytest.approx(-c_difference_db, abs=1e-9)
    assert abs(ours - helium) < 0.001


def test_time_on_air_parameter_limits() -> None:
    """Code rate 4/8 (cr=4) and an empty payload are valid LoRa frames; cr 5 and a negative
    length are not. By hand (AN1200.13), SF7BW125, 0 bytes, CR 4/8, explicit header, CRC:
    8·0 − 28 + 28 + 16 = 16 → ceil(16/28)·8 = 8, so 8 + 8 = 16 payload symbols; (8 + 4.25 + 16)
    × 1.024 ms = 28.928 ms."""
    assert link.time_on_air_s(0, 7, 125_000, cr=4) == pytest.approx(0.028928, abs=1e-9)
    for bad in ({"cr": 5}, {"cr": 0}, {"payload_len": -1}):
        args = {"payload_len": 0, "sf": 7, "bw_hz": 125_000, "cr": 1, **bad}
        with pytest.raises(ValueError):
            link.time_on_air_s(**args)
