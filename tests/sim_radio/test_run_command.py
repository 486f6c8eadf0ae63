"""`pocnet-sim run`: per-hotspot reception report, JSON with the dishonest flags, same output
for the same seed, one-line errors with exit status 2."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from sim_radio.cli import COMMANDS, main

SMALL_TOWN = Path(__file__).resolve().parents[2] / "sim_radio" / "scenarios" / "small_town.toml"


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["run", str(SMALL_TOWN), "--json", *args]) == 0
    out, err = capsys.readouterr()
    assert err == ""  # no progress bar with --json
    return json.loads(out)


def test_registered() -> None:
    assert "run" in COMMANDS


def test_json_reports_every_hotspot_with_its_truth(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys, "--rounds", "2")
    assert doc["hotspots"] == 50 and len(doc["hotspot_reports"]) == 50
    assert [r["round"] for r in doc["rounds"]] == [0, 1]
    reports = {h["id"]: h for h in doc["hotspot_reports"]}
    assert sum(h["beacons"] for h in reports.values()) == 100  # one per hotspot per round
    assert sum(h["heard"] for h in reports.values()) == sum(
        r["witness_reports"] for r in doc["rounds"]
    )
    dishonest = {h["id"]: h["dishonest"] for h in reports.values() if h["dishonest"]}
    assert len(dishonest) == doc["dishonest"] == 14
    behaviours = {d["behaviour"] for cheats in dishonest.values() for d in cheats}
    assert behaviours == {
        "false_location",
        "rssi_inflation",
        "attenuator",
        "shared_antenna",
        "collusion_ring",
        "beacon_relay",
        "replay",
        "clock_offset",
    }
    heard = [h for h in reports.values() if h["heard"]]
    assert heard
    for h in heard:
        assert h["rssi_dbm"]["min"] <= h["rssi_dbm"]["mean"] <= h["rssi_dbm"]["max"]
        assert h["snr_db"]["min"] <= h["snr_db"]["mean"] <= h["snr_db"]["max"]
    inflated = [
        h
        for h in reports.values()
        if any(d["behaviour"] == "rssi_inflation" for d in h["dishonest"])
    ]
    assert all(h["flagged_reports"].get("inflated") == h["heard"] for h in inflated)
    honest = [h for h in reports.values() if not h["dishonest"]]
    assert all(h["asserted"] == {"lat": h["lat"], "lon": h["lon"]} for h in honest)


def test_same_seed_same_report_other_seed_other(capsys: pytest.CaptureFixture[str]) -> None:
    a = _json(capsys, "--rounds", "1")
    b = _json(capsys, "--rounds", "1")
    c = _json(capsys, "--rounds", "1", "--seed", "99")
    assert a == b
    assert c["seed"] == 99 and c["hotspot_reports"] != a["hotspot_reports"]


def test_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(SMALL_TOWN), "--rounds", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("small town: 50 hotspots (14 dishonest), 1 round(s)")
    assert out[1].split()[:2] == ["hotspot", "heard"]
    assert len(out) == 52


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--rounds", "0"], "--rounds must be 1..10000"),
        (["--seed", "-3"], "--seed must not be negative"),
        (["--population", "/nonexistent.csv"], "population.path: no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert main(["run", str(SMALL_TOWN), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pocnet-sim: error: ") and expected in err
    assert err.count("\n") == 1


def test_bad_scenario_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("rounds = 'many'\n")
    assert main(["run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pocnet-sim: error: bad.toml: rounds: expected an integer")
    assert "; bad.toml: population.kind: expected one of" in err  # every mistake, one line
    assert err.count("\n") == 1


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    assert main(["run", str(SMALL_TOWN), "--rounds", "2"]) == 0
    assert "100/100" in tty.getvalue() and "beacon" in tty.getvalue()
    tty.truncate(0)
    assert main(["run", str(SMALL_TOWN), "--rounds", "1", "--json"]) == 0
    assert tty.getvalue().strip("\x00") == ""
    capsys.readouterr()


def test_receptions_list_what_each_hotspot_heard(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 3: "reports per hotspot what it heard (and with what RSSI/SNR)"."""
    doc = _json(capsys, "--rounds", "2", "--receptions")
    ids = {h["id"] for h in doc["hotspot_reports"]}
    for h in doc["hotspot_reports"]:
        receptions = h["receptions"]
        assert len(receptions) == h["heard"]
        assert {rx["round"] for rx in receptions} <= {0, 1}
        assert all(rx["from"] in ids and rx["from"] != h["id"] for rx in receptions
                   if "replayed" not in rx["flags"] and "fabricated" not in rx["flags"])
        if receptions:
            rssi = [rx["rssi_dbm"] for rx in receptions]
            assert (min(rssi), max(rssi)) == (h["rssi_dbm"]["min"], h["rssi_dbm"]["max"])
    flagged = [rx for h in doc["hotspot_reports"] for rx in h["receptions"] if rx["flags"]]
    assert flagged, "the small town's cheats leave flagged receptions"
    # Without the option the JSON stays a summary.
    assert "receptions" not in _json(capsys, "--rounds", "1")["hotspot_reports"][0]


def test_text_receptions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(SMALL_TOWN), "--rounds", "1", "--receptions"]) == 0
    out = capsys.readouterr().out.splitlines()
    lines = [line for line in out if line.startswith("    round 0 from hs-")]
    assert lines and all(" dBm, SNR " in line for line in lines)
    assert len(out) == 52 + len(lines)
