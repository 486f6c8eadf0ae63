"""AT command/response over a serial line: one command in flight, answer lines until the final
result code, with a deadline.

Byte handling (pyserial port setup, the event loop's fd reader, dropping non-printable and
overlong lines) is the shared `serial_at.transport.SerialLineTransport`; this module adds what
a Quectel modem needs on top: skip the command's echo, collect the information lines, stop on
`OK` / `ERROR` / `+CME ERROR: <n>`, and, after a command timed out, throw away whatever the
modem says late so it cannot be taken for the next command's answer.
"""

from __future__ import annotations

import asyncio
import logging

from firmware_bridge.errors import DeviceTimeout, ModemError
from firmware_bridge.modem_5g.commands import final_result
from firmware_bridge.serial_at.transport import SerialLineTransport

log = logging.getLogger(__name__)

DEFAULT_BAUDRATE = 115_200  # RM500Q/RM520N main UART and USB AT port default
COMMAND_TIMEOUT_S = 2.0  # AT+QENG answers in well under a second
# After a timeout the line is clean once it has been quiet this long. 20 ms proved too short
# on a busy 2-core host (a late answer was read as the next command's); 100 ms costs only
# after a timeout.
DRAIN_QUIET_S = 0.1
MAX_ANSWER_LINES = 64  # more than this without a final result code is not an answer


class AtChannel:
    """Commands to one modem port; DeviceTimeout/DeviceUnavailable/ModemError on failure."""

    def __init__(
        self,
        port: str,
        baudrate: int = DEFAULT_BAUDRATE,
        command_timeout_s: float = COMMAND_TIMEOUT_S,
    ) -> None:
        self.port = port
        self.command_timeout_s = command_timeout_s
        self.lines = SerialLineTransport(port, baudrate)
        self._lock = asyncio.Lock()
        self._dirty = False
        self.timeouts = 0
        self.stray_lines = 0

    @property
    def garbled_lines(self) -> int:
        return self.lines.garbled_lines

    @property
    def is_open(self) -> bool:
        return self.lines.is_open

    async def open(self) -> None:
        await self.lines.open()
        self._dirty = True  # whatever a booting modem printed before we listened

    async def close(self) -> None:
        await self.lines.close()

    async def reopen(self) -> None:
        await self.lines.reconnect()
        self._dirty = True

    async def command(self, command: str, timeout_s: float | None = None) -> list[str]:
        """Send `command`; return the information lines of a successful answer."""
        async with self._lock:
            if self._dirty:
                await self._drain()
            await self.lines.write_line(command, eol="\r")
            try:
                return await asyncio.wait_for(
                    self._answer(command), timeout_s or self.command_timeout_s)
            except TimeoutError:
                self.timeouts += 1
                self._dirty = True
                raise DeviceTimeout(
                    f"{self.port}: no final result for {command} within "
                    f"{timeout_s or self.command_timeout_s:g} s"
                ) from None

    async def _answer(self, command: str) -> list[str]:
        info: list[str] = []
        while True:
            line = await self.lines.read_line(timeout_s=3600)
            if line == command:
                continue  # echo (ATE1, the modem's default until ATE0)
            result = final_result(line)
            if result is not None:
                ok, code = result
                if not ok:
                    raise ModemError(command, code)
                return info
            if len(info) >= MAX_ANSWER_LINES:
                self._dirty = True
                raise DeviceTimeout(f"{self.port}: {command} answer never ends")
            info.append(line)

    async def _drain(self) -> None:
        """Discard lines until the port has been quiet for DRAIN_QUIET_S."""
        while True:
            try:
                line = await self.lines.read_line(timeout_s=DRAIN_QUIET_S)
            except DeviceTimeout:
                break
            self.stray_lines += 1
            log.debug("%s: discarding late line %r", self.port, line[:80])
        self._dirty = False
