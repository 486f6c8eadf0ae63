"""`pocnet-oracle beacon`: output matches pocnet.beacon, bad input is one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from oracle.cli import main
from pocnet.beacon import derive_beacon
from pocnet.regions import get_plan

REMOTE_HEX = "00" * 32
LOCAL_HEX = "01020304"
TS = "1700000000"


def _args(**overrides: str) -> list[str]:
    opts = {
        "--remote-entropy": REMOTE_HEX,
        "--remote-timestamp": TS,
        "--local-entropy": LOCAL_HEX,
        "--region": "EU868",
    }
    opts.update(overrides)
    argv = ["beacon"]
    for key, value in opts.items():
        argv += [key, value]
    return argv


def _exit_code(argv: list[str]) -> int:
    """main()'s return value, or the status argparse exits with."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*_args(), "--gain", "12", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = derive_beacon(bytes(32), int(TS), bytes.fromhex(LOCAL_HEX), get_plan("EU868"), 12)
    assert out == {
        "data": expected.data.hex(),
        "frequency": expected.frequency_hz,
        "datarate": "SF12BW125",
        "tx_power": 14,
    }
    assert len(bytes.fromhex(out["data"])) == 51


def test_json_output_us915(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*_args(**{"--region": "us915"}), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["datarate"] == "SF9BW125"
    assert out["tx_power"] == 36
    assert out["frequency"] in get_plan("US915").channels_hz


def test_gain_above_the_max_eirp_derives_a_beacon_that_is_not_sent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """docs/protocol.md §4: KR920 max EIRP 14.0 dBm; gain 15.0 dBi leaves trunc(-1.0) dBm: no
    beacon, but the payload, frequency and datarate the verifier compares still print."""
    assert main([*_args(**{"--region": "KR920"}), "--gain", "150", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tx_power"] is None and out["datarate"] == "SF9BW125"
    assert main([*_args(**{"--region": "KR920"}), "--gain", "150"]) == 0
    assert "no beacon is sent" in capsys.readouterr().out


def test_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args()) == 0
    out = capsys.readouterr().out
    expected = derive_beacon(bytes(32), int(TS), bytes.fromhex(LOCAL_HEX), get_plan("EU868"))
    assert expected.data.hex() in out
    assert f"{expected.frequency_hz} Hz" in out
    assert "SF12BW125" in out
    assert "16 dBm" in out


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"--remote-entropy": "00" * 31}, "32 bytes"),
        ({"--remote-entropy": "00" * 33}, "32 bytes"),
        ({"--remote-entropy": "zz" * 32}, "not hexadecimal"),
        ({"--remote-entropy": "0" * 63}, "not hexadecimal"),
        ({"--local-entropy": "010203"}, "4 bytes"),
        ({"--local-entropy": "0102030405"}, "4 bytes"),
        ({"--region": "EU433"}, "unknown region"),
        ({"--remote-timestamp": "soon"}, "not a whole number"),
        ({"--remote-timestamp": str(1 << 63)}, "must be between 0 and 9223372036854775807"),
        ({"--gain": "301"}, "-10..30 dBi"),  # the registry's range: no absurd tx power
        ({"--gain": "-101"}, "-10..30 dBi"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], overrides: dict[str, str], message: str
) -> None:
    assert _exit_code([*_args(**overrides), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("pocnet-oracle")
    assert message in lines[0]


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(["beacon", "--help"]) == 0
    out = capsys.readouterr().out
    for option in (
        "--remote-entropy",
        "--remote-timestamp",
        "--local-entropy",
        "--region",
        "--gain",
        "--json",
    ):
        assert option in out


def test_installed_script_exits_2_on_bad_input() -> None:
    script = Path(sys.executable).parent / "pocnet-oracle"
    if not script.exists():
        script = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "pocnet-oracle"
    result = subprocess.run(
        [str(script), *_args(**{"--local-entropy": "01"})],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--local-entropy" in result.stderr
