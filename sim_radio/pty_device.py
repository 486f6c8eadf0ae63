"""A virtual serial device on a real pseudo-terminal.

The driver under test opens `path` (e.g. /dev/pts/7) exactly as it would open /dev/ttyAMA0;
this side holds the master end. The slave end stays open here too, so the driver can close
and reopen the port (its reconnect path) without the master seeing end-of-file.

`PtyDevice` moves bytes; `PtyLineDevice` adds CR/LF line framing for AT modules, whose
subclasses only implement `handle_line`. Test hooks (`inject`, `mute`) produce the faults
drivers must survive: garbage bytes, partial lines, a module that stops answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tty

log = logging.getLogger(__name__)

MAX_COMMAND_BYTES = 1024


class PtyDevice:
    """The master side of a fresh pseudo-terminal; bytes in via `on_bytes`, out via `write`."""

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)          # no echo, no CR/LF translation before a driver opens
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self.dropped_bytes = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def write(self, data: bytes) -> None:
        """Send to the driver; what does not fit the pty buffer is dropped, as on a UART."""
        if self._closed:
            return
        try:
            sent = os.write(self._master, data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return
        self.dropped_bytes += len(data) - sent

    def on_bytes(self, data: bytes) -> None:
        """Bytes the driver wrote; subclasses parse them."""

    async def run(self) -> None:
        """Serve until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._master, self._readable)
        try:
            await asyncio.Event().wait()
        finally:
            self.close()

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # EIO while no one has the slave open: nothing to read
        if data:
            self.on_bytes(data)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._loop is not None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(self._master)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class PtyLineDevice(PtyDevice):
    """An AT module: commands are lines ending in CR and/or LF, answers end in CR LF."""

    eol = b"\r\n"

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()
        self.mute = False          # True: swallow commands silently, like a hung module
        self.commands: list[str] = []

    def send_line(self, text: str) -> None:
        if not self.mute:
            self.write(text.encode("ascii") + self.eol)

    def inject(self, data: bytes) -> None:
        """Raw bytes to the driver, for fault tests (noise, half lines)."""
        self.write(data)

    def on_bytes(self, data: bytes) -> None:
        self._buffer += data
        parts = self._buffer.replace(b"\r", b"\n").split(b"\n")
        self._buffer = bytearray(parts.pop()[-MAX_COMMAND_BYTES:])
        for part in parts:
            raw = part.strip()
            if not raw:
                continue
            try:
                line = raw.decode("ascii")
            except UnicodeDecodeError:
                self.handle_garbage(raw)
                continue
            if self.mute:
                continue
            self.commands.append(line)
            self.handle_line(line)

    def handle_garbage(self, raw: bytes) -> None:
        """Bytes that are not a command at all; modules answer as to an unknown command."""

    def handle_line(self, line: str) -> None:
        raise NotImplementedError
