"""`pocnet-sim device KIND`: a real process serving a real pty that the real driver opens."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from firmware_bridge.serial_at.rak3172 import Rak3172Radio
from firmware_bridge.serial_at.rn2483 import Rn2483Radio
from firmware_bridge.types import TxPacket
from sim_radio.cli import main

REPO = Path(__file__).resolve().parents[2]


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sim_radio.cli", "device", *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_rak3172_device_process_serves_the_driver() -> None:
    proc = _start("rak3172", "--json", "--tx-delay-s", "0")
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["kind"] == "rak3172" and info["endpoint"].startswith("/dev/pts/")

        async def drive() -> None:
            radio = Rak3172Radio(info["endpoint"], command_timeout_s=2.0, tx_timeout_s=2.0)
            await radio.start()
            receipt = await radio.transmit(TxPacket(b"hi", 868_100_000, "SF12BW125", 14))
            assert receipt.power_dbm == 14
            await radio.stop()

        asyncio.run(asyncio.wait_for(drive(), 20))
    finally:
        assert _stop(proc) == 0


def test_rn2483_text_output() -> None:
    proc = _start("rn2483", "--tx-delay-s", "0")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("rn2483 ready at /dev/pts/")
        path = line.split()[3]

        async def drive() -> None:
            radio = Rn2483Radio(path, command_timeout_s=2.0)
            await radio.start()
            assert radio.firmware == "1.0.5"
            await radio.stop()

        asyncio.run(asyncio.wait_for(drive(), 20))
    finally:
        assert _stop(proc) == 0


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["device"]) == 2
    assert "choose a device kind" in capsys.readouterr().err
    assert main(["device", "ublox", "--rate", "-1"]) == 2
    err = capsys.readouterr().err
    assert "cannot start ublox" in err and len(err.strip().splitlines()) == 1
