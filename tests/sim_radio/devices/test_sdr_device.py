"""`pocnet-sim device sdr --record` then `pocnet-hotspot sdr decode`: a beacon survives the
round trip through a SigMF file with its payload, datarate, channel, RSSI and SNR."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hotspot.cli import main as hotspot_main
from pocnet.regions import get_plan
from sim_radio.cli import main as sim_main


def _record(tmp_path: Path, capsys, *extra: str) -> tuple[Path, dict]:
    path = tmp_path / "beacon"
    assert sim_main(["device", "sdr", "--record", str(path), "--region", "US915",
                     "--json", *extra]) == 0
    endpoint = json.loads(capsys.readouterr().out)["endpoint"]
    assert endpoint == str(path) + ".sigmf-meta"
    return Path(endpoint), json.loads(Path(endpoint).read_text())


def _command(name: str, *argv: str) -> dict:
    """One front-end command in its own process, as a tester runs it."""
    exe = Path(sys.executable).with_name(name)
    done = subprocess.run([str(exe), *argv], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_record_and_decode_a_beacon(tmp_path: Path) -> None:
    """The two commands of the issue, each run once as a tester would."""
    out = _command("pocnet-sim", "device", "sdr", "--record", str(tmp_path / "beacon"),
                   "--snr", "0", "--rssi", "-110", "--datatype", "ci16_le",
                   "--region", "US915", "--json")
    meta_path = Path(out["endpoint"])
    meta = json.loads(meta_path.read_text())
    sent = meta["global"]["core:description"].split()[1]
    assert len(bytes.fromhex(sent)) == 52 and sent.startswith("e0")
    out = _command("pocnet-hotspot", "sdr", "decode", str(meta_path), "--region", "US915",
                   "--sf", "9", "--json")
    assert out["channels_hz"] == list(get_plan("US915").channels_hz[:8])
    [frame] = out["frames"]
    assert frame["payload"] == sent
    assert frame["datarate"] == "SF9BW125" and frame["code_rate"] == "4/5"
    assert frame["freq_hz"] == int(meta["global"]["core:description"].split()[3])
    assert frame["snr_db"] == pytest.approx(0.0, abs=1.0)
    # RSSI is the channel's power, signal plus noise: −110 dBm + 3 dB at 0 dB SNR.
    assert frame["rssi_dbm"] == pytest.approx(-107.0, abs=1.0)
    assert frame["crc_ok"] is True and frame["sync_word"] == "0x34"


def test_noise_alone_decodes_nothing(tmp_path: Path) -> None:
    out = _command("pocnet-sim", "device", "sdr", "--record", str(tmp_path / "noise"),
                   "--snr", "-40", "--region", "US915", "--json")
    out = _command("pocnet-hotspot", "sdr", "decode", out["endpoint"], "--region", "US915",
                   "--sf", "9", "--json")
    assert out["frames"] == [] and len(out["channels_hz"]) == 8


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sdr", "decode", "missing.sigmf-meta"], "no such SigMF metadata"),
        (["sdr", "decode", "x.cf32"], "sample rate and frequency"),
        (["sdr", "decode", "x.sigmf-meta", "--region", "XX000"], "XX000"),
        (["sdr", "decode", "x.sigmf-meta", "--sf", "6"], "--sf"),
        (["sdr"], "choose a command"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys) -> None:
    assert hotspot_main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_recording_outside_the_plan(tmp_path: Path, capsys) -> None:
    meta_path, _ = _record(tmp_path, capsys, "--snr", "10")
    assert hotspot_main(["sdr", "decode", str(meta_path), "--region", "EU868"]) == 2
    assert "covers no EU868 channel" in capsys.readouterr().err
