"""Line I/O with an AT module over a serial port or a pseudo-terminal.

pyserial opens and configures the port (baud rate, 8N1, raw mode); the bytes themselves are
read through the event loop's fd reader, so a silent module never blocks the hotspot and a
read deadline is an ordinary asyncio timeout. Lines that are not printable ASCII (line noise,
a module booting at another baud rate) are counted and skipped rather than passed on.
"""

from __future__ import annotations

import asyncio
import logging
import os

import serial

from firmware_bridge.errors import DeviceTimeout, DeviceUnavailable

log = logging.getLogger(__name__)

# Longest line either module emits: RUI3 `+EVT:RXP2P:<rssi>:<snr>:<hex>` with a 255-byte
# payload is about 530 characters; anything far beyond that is noise, not a line.
MAX_LINE_BYTES = 1024
RECONNECT_ATTEMPTS = 5
RECONNECT_DELAY_S = 0.5
READ_CHUNK_BYTES = 4096


def _printable(line: bytes) -> bool:
    return all(32 <= b < 127 or b == 9 for b in line)


class SerialLineTransport:
    """One serial device, read as CR/LF-terminated ASCII lines.

    `read_line` raises DeviceTimeout when nothing arrives in time and DeviceUnavailable when
    the port has gone (unplugged USB adapter, closed pseudo-terminal); `reconnect` reopens it.
    """

    def __init__(self, port: str, baudrate: int, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.port = port
        self.baudrate = baudrate
        self.max_line_bytes = max_line_bytes
        self.garbled_lines = 0
        self.reconnects = 0
        self._serial: serial.Serial | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._buffer = bytearray()
        self._discarding = False
        self._lines: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._lost: str | None = None

    @property
    def is_open(self) -> bool:
        return self._serial is not None and self._lost is None

    async def open(self) -> None:
        """Open the port 8N1 without flow control; DeviceUnavailable if it cannot be opened."""
        self._loop = asyncio.get_running_loop()
        try:
            port = serial.Serial(
                self.port,
                baudrate=self.baudrate,
                bytesize=serial.EIGHTBITS,
                parity=serial.PARITY_NONE,
                stopbits=serial.STOPBITS_ONE,
                timeout=0,
                write_timeout=2.0,
                exclusive=True,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceUnavailable(f"cannot open {self.port}: {exc}") from exc
        self._serial = port
        self._lost = None
        self._buffer.clear()
        self._discarding = False
        self._lines = asyncio.Queue()
        self._loop.add_reader(port.fileno(), self._on_readable)

    async def close(self) -> None:
        port, self._serial = self._serial, None
        if port is None:
            return
        if self._loop is not None:
            try:
                self._loop.remove_reader(port.fileno())
            except (ValueError, OSError):
                pass
        try:
            port.close()
        except (serial.SerialException, OSError):
            pass
        self._lines.put_nowait(None)

    async def reconnect(
        self, attempts: int = RECONNECT_ATTEMPTS, delay_s: float = RECONNECT_DELAY_S
    ) -> None:
        """Close and reopen the port, retrying: a USB adapter takes a moment to come back."""
        await self.close()
        last: DeviceUnavailable | None = None
        for attempt in range(attempts):
            try:
                await self.open()
            except DeviceUnavailable as exc:
                last = exc
                await asyncio.sleep(delay_s * (attempt + 1))
                continue
            self.reconnects += 1
            return
        raise last or DeviceUnavailable(f"cannot reopen {self.port}")

    async def write_line(self, text: str, eol: str = "\r\n") -> None:
        port = self._serial
        if port is None or self._lost is not None:
            raise DeviceUnavailable(f"{self.port} is not open ({self._lost or 'closed'})")
        data = (text + eol).encode("ascii")
        try:
            await asyncio.to_thread(self._write_all, port, data)
        except (serial.SerialException, OSError) as exc:
            self._lost = str(exc)
            raise DeviceUnavailable(f"write to {self.port} failed: {exc}") from exc

    @staticmethod
    def _write_all(port: serial.Serial, data: bytes) -> None:
        port.write(data)
        port.flush()

    async def read_line(self, timeout_s: float) -> str:
        """The next printable line, without its terminator."""
        if self._lost is not None and self._lines.empty():
            raise DeviceUnavailable(f"{self.port} went away: {self._lost}")
        try:
            line = await asyncio.wait_for(self._lines.get(), timeout_s)
        except TimeoutError:
            raise DeviceTimeout(f"no answer from {self.port} within {timeout_s:g} s") from None
        if line is None:
            raise DeviceUnavailable(f"{self.port} went away: {self._lost or 'closed'}")
        return line.decode("ascii")

    def _on_readable(self) -> None:
        port = self._serial
        if port is None:
            return
        try:
            chunk = os.read(port.fileno(), READ_CHUNK_BYTES)
        except BlockingIOError:
            return
        except OSError as exc:  # EIO: the other end of a pty closed, or the adapter vanished
            self._mark_lost(str(exc))
            return
        if not chunk:
            self._mark_lost("end of file")
            return
        self._feed(chunk)

    def _mark_lost(self, reason: str) -> None:
        if self._lost is not None:
            return
        self._lost = reason
        port = self._serial
        if port is not None and self._loop is not None:
            try:
                self._loop.remove_reader(port.fileno())
            except (ValueError, OSError):
                pass
        log.warning("serial port %s lost: %s", self.port, reason)
        self._lines.put_nowait(None)

    def _feed(self, chunk: bytes) -> None:
        """Split on CR or LF; drop empty, overlong and non-printable lines."""
        data = self._buffer + chunk
        self._buffer = bytearray()
        parts = data.replace(b"\r", b"\n").split(b"\n")
        tail = parts.pop()
        for part in parts:
            if self._discarding:
                self._discarding = False
                self.garbled_lines += 1
                continue
            self._emit(part)
        if len(tail) > self.max_line_bytes:
            self._discarding = True
            tail = b""
        self._buffer = bytearray(tail)

    def _emit(self, line: bytes) -> None:
        # Noise before a good line (a glitch on the wire, a module powering up) is trimmed
        # off the front; a line with noise inside it cannot be trusted and is dropped.
        start = 0
        while start < len(line) and not 32 < line[start] < 127:
            start += 1
        if start:
            self.garbled_lines += 1
        line = line[start:].strip()
        if not line:
            return
        if len(line) > self.max_line_bytes or not _printable(line):
            self.garbled_lines += 1
            log.debug("skipping garbled line from %s: %r", self.port, line[:80])
            return
        self._lines.put_nowait(line)
