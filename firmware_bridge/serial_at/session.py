"""What the RAK3172 and RN2483 drivers share: one command at a time over a line transport,
unsolicited lines (received frames, a reboot banner) routed as they arrive, and recovery.

A module talks in two voices: answers to the command in flight, and events it emits on its
own. A single pump task reads every line; the subclass claims events (`_on_event`), the rest
go to the command in flight. A reboot banner mid-stream means the module forgot its
configuration: the command in flight fails, and the subclass's `_configure` runs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from firmware_bridge.errors import BridgeError, DeviceTimeout, DeviceUnavailable, TxRejected
from firmware_bridge.serial_at.transport import SerialLineTransport
from firmware_bridge.types import RxPacket

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 2.0
TX_TIMEOUT_S = 10.0        # SF12/125 kHz, 255 bytes is ~9 s on air; beacons are ~2.5 s
RX_QUEUE_SIZE = 256
_RESET = "\x00reset"       # marker the pump puts in the answer queue after a reboot banner
_PUMP_IDLE_S = 3600.0


class AtRadioSession:
    """Base of the AT radio drivers (not a Radio itself: subclasses add transmit/configure)."""

    def __init__(
        self,
        port: str,
        baudrate: int,
        *,
        command_timeout_s: float = COMMAND_TIMEOUT_S,
        tx_timeout_s: float = TX_TIMEOUT_S,
        now_ns: Callable[[], int] = time.time_ns,
        reconnect_attempts: int = 5,
    ) -> None:
        self.port = port
        self.command_timeout_s = command_timeout_s
        self.tx_timeout_s = tx_timeout_s
        self._now_ns = now_ns
        self._reconnect_attempts = reconnect_attempts
        self.transport = SerialLineTransport(port, baudrate)
        self.resets_seen = 0
        self.rx_dropped = 0
        self._answers: asyncio.Queue[str] = asyncio.Queue()
        self._rx: asyncio.Queue[RxPacket | None] = asyncio.Queue(RX_QUEUE_SIZE)
        self._lock = asyncio.Lock()
        self._pump: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._failed: BridgeError | None = None
        self._needs_config = False
        self._rebooting = False    # inside a boot banner, until the next good configure
        self._running = False

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await self.transport.open()
        self._running = True
        self._pump = asyncio.create_task(self._run_pump(), name=f"at-pump {self.port}")
        try:
            async with self._lock:
                await self._configure()
        except BridgeError as exc:
            await self.stop()
            raise DeviceUnavailable(f"{self.port}: module not ready: {exc}") from exc

    async def stop(self) -> None:
        self._running = False
        for task in [*self._tasks, self._pump]:
            if task is not None:
                task.cancel()
        for task in [*self._tasks, self._pump]:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, BridgeError):
                    await task
        self._tasks.clear()
        self._pump = None
        await self.transport.close()
        self._put_rx(None)

    async def received(self) -> AsyncIterator[RxPacket]:
        while (frame := await self._rx.get()) is not None:
            yield frame
        if self._failed is not None:
            raise self._failed

    # --- for subclasses -------------------------------------------------------------------

    async def _configure(self) -> None:
        """Put the module in receive mode with the driver's settings (lock held)."""
        raise NotImplementedError

    def _on_event(self, line: str) -> bool:
        """Claim an unsolicited line (a received frame); False passes it to the command."""
        return False

    def _is_banner(self, line: str) -> bool:
        return False

    def _expects_banner(self) -> bool:
        """True while a command whose answer looks like the banner is in flight."""
        return False

    async def _command(
        self, line: str, terminal: Callable[[str], bool], timeout_s: float | None = None
    ) -> list[str]:
        """Send one line; return every answer line up to and including the terminal one.

        Call with the lock held. A reboot mid-command raises TxRejected("module reset").
        """
        self._check_alive()
        while not self._answers.empty():
            stale = self._answers.get_nowait()
            log.debug("%s: stale line %r", self.port, stale)
        await self.transport.write_line(line)
        return await self._collect(terminal, timeout_s or self.command_timeout_s, line)

    async def _collect(
        self, terminal: Callable[[str], bool], timeout_s: float, what: str
    ) -> list[str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        lines: list[str] = []
        while True:
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                answer = await asyncio.wait_for(self._answers.get(), remaining)
            except TimeoutError:
                self._needs_config = True
                raise DeviceTimeout(
                    f"{self.port}: no answer to {what!r} within {timeout_s:g} s"
                ) from None
            if answer == _RESET:
                self._check_alive()
                raise TxRejected("module reset")
            self._check_alive()
            lines.append(answer)
            if terminal(answer):
                return lines

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s: background step failed: %s", self.port, task.exception())

    def _put_rx(self, frame: RxPacket | None) -> None:
        try:
            self._rx.put_nowait(frame)
        except asyncio.QueueFull:
            self.rx_dropped += 1

    async def _ensure_configured(self) -> None:
        """After a timeout or reset, bring the module back to a known state (lock held)."""
        if self._needs_config:
            await self._configure()
            self._needs_config = False
            self._rebooting = False

    def _check_alive(self) -> None:
        if self._failed is not None:
            raise self._failed
        if not self._running:
            raise DeviceUnavailable(f"{self.port}: radio not started")

    # --- the pump -------------------------------------------------------------------------

    async def _run_pump(self) -> None:
        while self._running:
            try:
                line = await self.transport.read_line(_PUMP_IDLE_S)
            except DeviceTimeout:
                continue
            except DeviceUnavailable as exc:
                if not self._running:
                    return
                await self._recover_port(exc)
                continue
            self._route(line)

    def _route(self, line: str) -> None:
        if self._is_banner(line) and not self._expects_banner():
            if self._rebooting:
                return  # the rest of a multi-line boot banner
            self._rebooting = True
            self.resets_seen += 1
            log.warning("%s: module reset (%r); reconfiguring", self.port, line)
            self._needs_config = True
            self._answers.put_nowait(_RESET)
            self._spawn(self._reconfigure())
            return
        if self._on_event(line):
            return
        self._answers.put_nowait(line)

    async def _reconfigure(self) -> None:
        async with self._lock:
            await self._ensure_configured()

    async def _recover_port(self, cause: DeviceUnavailable) -> None:
        log.warning("%s: %s; reopening", self.port, cause)
        try:
            await self.transport.reconnect(self._reconnect_attempts)
        except DeviceUnavailable as exc:
            self._failed = exc
            self._running = False
            self._answers.put_nowait(_RESET)
            self._put_rx(None)
            return
        self._needs_config = True
        self._spawn(self._reconfigure())
