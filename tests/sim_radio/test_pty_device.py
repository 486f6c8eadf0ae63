"""The pseudo-terminal base of the virtual AT modules."""

from __future__ import annotations

import asyncio
import os

from sim_radio.pty_device import PtyLineDevice


async def _read(fd: int, want: bytes, timeout_s: float = 2.0) -> bytes:
    """Poll a non-blocking fd without blocking the loop the device runs on."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    got = b""
    while len(got) < len(want) and loop.time() < deadline:
        try:
            got += os.read(fd, 4096)
        except BlockingIOError:
            await asyncio.sleep(0.005)
    return got


class Echo(PtyLineDevice):
    def handle_line(self, line: str) -> None:
        self.send_line(line.upper())


def test_line_framing_survives_reopen_and_full_buffers() -> None:
    async def main() -> None:
        device = Echo()
        task = asyncio.create_task(device.run())
        try:
            flags = os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK
            fd = os.open(device.path, flags)
            os.write(fd, b"ab")
            os.write(fd, b"c\rdef\n\r\n")
            assert await _read(fd, b"ABC\r\nDEF\r\n") == b"ABC\r\nDEF\r\n"
            os.close(fd)                      # a driver closes and reopens the port
            fd = os.open(device.path, flags)
            os.write(fd, b"again\r\n")
            assert await _read(fd, b"AGAIN\r\n") == b"AGAIN\r\n"
            device.mute = True
            os.write(fd, b"ignored\r\nlast\r\n")
            assert await _read(fd, b"x", timeout_s=0.1) == b""
            assert device.commands == ["abc", "def", "again"]
            for _ in range(200):              # nobody reads: the pty fills, bytes drop
                device.write(b"x" * 1024)
            assert device.dropped_bytes > 0
            os.close(fd)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        device.write(b"after close")          # harmless

    asyncio.run(main())
