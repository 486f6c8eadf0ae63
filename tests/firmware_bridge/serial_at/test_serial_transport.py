"""Line I/O over a real pseudo-terminal: framing, garbage, long lines, deadlines, a lost port."""

from __future__ import annotations

import asyncio
import os
import tty

import pytest

from firmware_bridge.errors import DeviceTimeout, DeviceUnavailable
from firmware_bridge.serial_at.transport import SerialLineTransport


def _pty() -> tuple[int, int, str]:
    master, slave = os.openpty()
    tty.setraw(slave)
    return master, slave, os.ttyname(slave)


def test_lines_are_framed_on_cr_and_lf_and_garbage_is_skipped() -> None:
    master, slave, path = _pty()

    async def main() -> None:
        t = SerialLineTransport(path, 115200, max_line_bytes=64)
        await t.open()
        try:
            os.write(master, b"OK\r\n\xff\xfe\x00AT_ERROR\r\nO\x00\x93K\r\npartial")
            assert await t.read_line(1.0) == "OK"
            # leading noise is trimmed; a line with noise inside is dropped
            assert await t.read_line(1.0) == "AT_ERROR"
            os.write(master, b" line\r\n" + b"X" * 200 + b"\r\n+EVT:TXP2P DONE\n")
            assert await t.read_line(1.0) == "partial line"
            assert await t.read_line(1.0) == "+EVT:TXP2P DONE"
            assert t.garbled_lines == 3    # trimmed noise, noisy line, overlong line
            await t.write_line("AT+NWM=0")
            await asyncio.sleep(0.05)
            assert os.read(master, 100) == b"AT+NWM=0\r\n"
        finally:
            await t.close()

    try:
        asyncio.run(main())
    finally:
        os.close(master)
        os.close(slave)


def test_read_deadline_raises_device_timeout() -> None:
    master, slave, path = _pty()

    async def main() -> None:
        t = SerialLineTransport(path, 57600)
        await t.open()
        try:
            with pytest.raises(DeviceTimeout, match="no answer"):
                await t.read_line(0.05)
            os.write(master, b"half a li")     # never terminated
            with pytest.raises(DeviceTimeout):
                await t.read_line(0.05)
        finally:
            await t.close()

    try:
        asyncio.run(main())
    finally:
        os.close(master)
        os.close(slave)


def test_missing_port_is_device_unavailable() -> None:
    async def main() -> None:
        t = SerialLineTransport("/dev/does-not-exist-pocnet", 115200)
        with pytest.raises(DeviceUnavailable, match="cannot open"):
            await t.open()
        with pytest.raises(DeviceUnavailable):
            await t.write_line("AT")

    asyncio.run(main())


def test_lost_port_is_reported_and_reconnect_reopens() -> None:
    master, slave, path = _pty()
    os.close(slave)   # only the transport holds the slave: closing the master -> EIO

    async def main() -> None:
        t = SerialLineTransport(path, 115200)
        await t.open()
        os.close(master)
        with pytest.raises(DeviceUnavailable, match="went away"):
            await t.read_line(1.0)
        # the pty is gone for good: reconnect tries, then gives up with a clear error
        with pytest.raises(DeviceUnavailable):
            await t.reconnect(attempts=2, delay_s=0.01)
        await t.close()

    asyncio.run(main())


def test_reconnect_to_a_port_that_is_still_there() -> None:
    master, slave, path = _pty()

    async def main() -> None:
        t = SerialLineTransport(path, 115200)
        await t.open()
        await t.reconnect(attempts=2, delay_s=0.01)
        assert t.reconnects == 1
        os.write(master, b"OK\r\n")
        assert await t.read_line(1.0) == "OK"
        await t.close()

    try:
        asyncio.run(main())
    finally:
        os.close(master)
        os.close(slave)
