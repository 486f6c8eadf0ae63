"""`pocnet-sim demo`'s town, its verdict summary and its command-line errors (fast parts; the
full run is `make demo`)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from pocnet import geo
from pocnet.regions.lookup import RegionLocator
from sim_radio import cli
from sim_radio.commands import demo

MIN_GRID_DISTANCE_M = 500     # docs/protocol.md §5 witness rule 9: 8 res-11 steps is ~400 m


def test_town_is_a_few_km_across_and_every_pair_can_witness() -> None:
    sites = [*demo.HONEST_SITES, demo.DISHONEST]
    for a, b in itertools.combinations(sites, 2):
        d = geo.haversine_m(a[1], a[2], b[1], b[2])
        assert MIN_GRID_DISTANCE_M < d < 10_000, (a[0], b[0], d)
    assert {s[3] for s in sites} == {"rak3172", "packet-forwarder"}
    assert any(s[4] for s in demo.HONEST_SITES)       # an honest hotspot with a u-blox


def test_the_liar_asserts_30_km_away_inside_eu868() -> None:
    _, lat, lon, _, gps = demo.DISHONEST
    _, a_lat, a_lon = demo.DISHONEST_ASSERTS
    assert geo.haversine_m(lat, lon, a_lat, a_lon) > 30_000
    assert gps   # its own receiver tells the truth: the verifier's GPS rule can see the lie
    locator = RegionLocator.default()
    for _, s_lat, s_lon, *_ in [*demo.HONEST_SITES, demo.DISHONEST]:
        assert locator.region_at(s_lat, s_lon) == "EU868"
    assert locator.region_at(a_lat, a_lon) == "EU868"


def _report(valid: bool | None, reason: str | None = None) -> dict:
    return {"valid": valid, "reason": reason, "detail": "", "selected": bool(valid),
            "location_trust": "0.5"}


def _beacon(beaconer: str, valid: bool, reason: str | None, witnesses: list[dict]) -> dict:
    return {"beaconer": beaconer, "received_ms": 0, **_report(valid, reason),
            "witnesses": witnesses}


def _members() -> list[demo.Member]:
    return [demo.Member(n, f"addr-{n}", n.encode(), "rak3172", False, n == demo.DISHONEST[0])
            for n in ("centrum", "vathorst", demo.DISHONEST[0])]


def test_summary_counts_and_catches_the_liar() -> None:
    liar = demo.DISHONEST[0]
    beacons = [
        _beacon("centrum", False, "gateway_no_valid_witnesses", [
            {"witness": "vathorst", **_report(False, "gateway_no_valid_beacons")},
            {"witness": liar, **_report(False, "bad_rssi")},
        ]),
        _beacon(liar, False, "gps_location_mismatch", [
            {"witness": "centrum", **_report(False, "gps_location_mismatch")},
        ]),
        _beacon("vathorst", True, None, [{"witness": "centrum", **_report(True)}]),
    ]
    result = demo._result(_members(), beacons, True, Path("/x"), 12.0, 40.5)
    s = result["summary"]
    assert (s["beacons"], s["beacons_valid"], s["beacons_invalid"]) == (3, 1, 2)
    assert (s["witnesses"], s["witnesses_valid"], s["witnesses_invalid"]) == (4, 1, 3)
    assert s["dishonest_caught"] is True
    assert s["dishonest_reasons"] == {"bad_rssi": 1, "gps_location_mismatch": 1}
    # An honest witness of the liar's beacon shares the beacon's verdict: not a false alarm.
    assert s["honest_flagged"] == []


def test_summary_does_not_count_reciprocity_alone_as_a_catch() -> None:
    liar = demo.DISHONEST[0]
    beacons = [_beacon(liar, False, "gateway_no_valid_witnesses", []),
               _beacon("centrum", False, "bad_rssi", [])]
    s = demo._result(_members(), beacons, True, Path("/x"), 1.0, 40.5)["summary"]
    assert s["dishonest_caught"] is False
    assert s["honest_flagged"] == [{"hotspot": "centrum", "reason": "bad_rssi", "detail": ""}]


@pytest.mark.parametrize("argv, message", [
    (["demo", "--hotspots", "2"], "--hotspots must be between 3"),
    (["demo", "--timeout-s", "0"], "--timeout-s must be > 0"),
])
def test_bad_arguments_are_one_line_and_exit_2(argv: list[str], message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_a_non_empty_dir_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "something").write_text("x")
    assert cli.main(["demo", "--dir", str(tmp_path)]) == 2
    assert "must be a new or empty directory" in capsys.readouterr().err
