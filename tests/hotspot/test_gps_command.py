"""`pocnet-hotspot gps`: the JSON contract, replays of the recordings, live devices, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tty
from pathlib import Path

import pytest

from hotspot.cli import main

REPO = Path(__file__).resolve().parents[2]
GPS_DATA = REPO / "tests" / "firmware_bridge" / "ublox_gps" / "data"
KEYS = {"lat", "lon", "height_m", "h_acc_m", "fix", "satellites", "time", "usable"}


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    assert main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    record = json.loads(out[0])
    assert set(record) == KEYS
    return record


def test_replay_prints_the_last_fix(capsys: pytest.CaptureFixture[str]) -> None:
    record = _json(capsys, ["gps", "--replay",
                            str(GPS_DATA / "synthetic_navpvt_nofix_2d_3d_60s.ubx"), "--json"])
    assert record["fix"] == "3d" and record["usable"] is True
    assert record["lat"] == pytest.approx(37.774904)
    assert record["lon"] == pytest.approx(-122.4194)
    assert record["satellites"] == 11
    assert record["time"] == "2024-05-01T00:00:59Z"


@pytest.mark.parametrize(
    ("name", "fix", "usable"),
    [
        ("gpsd__test_daemon_ublox-zed-f9t-rtcm3.log", "time", False),
        ("pyubx2__examples_2023-4-17_82912_serial-COM3.ubx", "none", False),
        ("gpsd__test_daemon_ublox-neo-m8n.log", "3d", True),
        ("pyubx2__tests_pygpsdata-BADCK2.log", "3d", True),
    ],
)
def test_replay_of_recordings(capsys: pytest.CaptureFixture[str], name: str, fix: str,
                              usable: bool) -> None:
    record = _json(capsys, ["gps", "--replay", str(GPS_DATA / name), "--json"])
    assert record["fix"] == fix and record["usable"] is usable
    if fix == "none":
        assert record["lat"] is None and record["h_acc_m"] is None


def test_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gps", "--replay", str(GPS_DATA / "gpsd__test_daemon_neo-m8n.log")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fix 3d, 44.0689") and "usable" in out


def test_empty_capture_reports_no_fix(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.ubx"
    empty.write_bytes(b"\x00garbage only\xff" * 10)
    record = _json(capsys, ["gps", "--replay", str(empty), "--json"])
    assert record == {"lat": None, "lon": None, "height_m": None, "h_acc_m": None,
                      "fix": "none", "satellites": 0, "time": None, "usable": False}


@pytest.mark.parametrize(
    "argv",
    [
        ["gps", "--replay", "/nonexistent/x.ubx"],
        ["gps", "--device", "/dev/pocnet-no-such-gps"],
        ["gps"],
        ["gps", "--device", "/dev/null", "--replay", "x"],
        ["gps", "--replay", "x", "--timeout-s", "0"],
    ],
)
def test_bad_input_is_one_line_exit_2(capsys: pytest.CaptureFixture[str],
                                      argv: list[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:   # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]


def test_live_device_once(capsys: pytest.CaptureFixture[str]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim_radio.cli", "device", "ublox", "--json", "--rate", "20",
         "--acquire-after-s", "0", "--lat", "51.5", "--lon", "-0.12"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        endpoint = json.loads(proc.stdout.readline())["endpoint"]
        record = _json(capsys, ["gps", "--device", endpoint, "--once", "--json"])
        assert record["lat"] == pytest.approx(51.5) and record["lon"] == pytest.approx(-0.12)
        assert record["fix"] in ("2d", "3d")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_silent_device_times_out_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        code = main(["gps", "--device", os.ttyname(slave), "--once", "--timeout-s", "0.3"])
        assert code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "no GNSS data" in err[0]
    finally:
        os.close(master)
        os.close(slave)
