"""What the RAK3172 and RN2483 drivers share: one command at a time over a line transport,
unsolicited lines (received frames, a reboot banner) routed as they arrive, and recovery.

A module talks in two voices: answers to the command in flight, and events it emits on its
own. A single pump task reads every line; the subclass claims events (`_on_event`), the rest
go to the command in flight. A reboot banner mid-stream means the module forgot its
configuration: the command in flight fails, and the subclass's `_configure` runs again. A
timeout leaves the module in an unknown state: the command fails, and `_configure` is retried
in the background, with backoff, until the module answers (issue 4: recover from a timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from firmware_bridge.bounds import RxGate
from firmware_bridge.errors import (
    BridgeError,
    DeviceTimeout,
    DeviceUnavailable,
    FrameError,
    TxRejected,
)
from firmware_bridge.serial_at import commands as at
from firmware_bridge.serial_at.transport import SerialLineTransport
from firmware_bridge.types import RxPacket, TxPacket
from pocnet.errors import DecodeError

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 2.0
TX_TIMEOUT_S = 10.0        # SF12/125 kHz, 255 bytes is ~9 s on air; beacons are ~2.5 s
RX_QUEUE_SIZE = 256
# After a timeout the driver reconfigures in the background, first after one command timeout,
# then backing off to this, so a hung module is retried without being flooded.
RECOVERY_MAX_DELAY_S = 60.0
# Until the hotspot tunes the module to its plan: EU868's first channel, the beacon's datarate.
DEFAULT_RX_FREQ_HZ = 868_100_000
DEFAULT_RX_DATARATE = "SF12BW125"
_RESET = "\x00reset"       # marker the pump puts in the answer queue after a reboot banner
_PUMP_IDLE_S = 3600.0


class AtRadioSession:
    """Base of the AT radio drivers (not a Radio itself: subclasses add transmit/configure).
    A subclass names its module's factory serial speed in DEFAULT_BAUDRATE."""

    DEFAULT_BAUDRATE: int

    def __init__(
        self,
        port: str,
        *,
        rx_freq_hz: int = DEFAULT_RX_FREQ_HZ,
        rx_datarate: str = DEFAULT_RX_DATARATE,
        rx_power_dbm: int = 14,
        baudrate: int | None = None,
        command_timeout_s: float = COMMAND_TIMEOUT_S,
        tx_timeout_s: float = TX_TIMEOUT_S,
        now_ns: Callable[[], int] = time.time_ns,
        reconnect_attempts: int = 5,
    ) -> None:
        sf, bw_hz = at.parse_datarate(rx_datarate)
        self.rx_params = at.P2pParams(rx_freq_hz, sf, bw_hz, power_dbm=rx_power_dbm)
        baudrate = self.DEFAULT_BAUDRATE if baudrate is None else baudrate
        self.port = port
        self.command_timeout_s = command_timeout_s
        self.tx_timeout_s = tx_timeout_s
        self._now_ns = now_ns
        self._reconnect_attempts = reconnect_attempts
        self.transport = SerialLineTransport(port, baudrate)
        self.resets_seen = 0
        self.timeouts = 0
        self.rx_dropped = 0
        self._gate = RxGate()
        self._answers: asyncio.Queue[str] = asyncio.Queue()
        self._rx: asyncio.Queue[RxPacket | None] = asyncio.Queue(RX_QUEUE_SIZE)
        self._lock = asyncio.Lock()
        self._pump: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._failed: BridgeError | None = None
        self._needs_config = False
        self._rebooting = False    # inside a boot banner, until the next good configure
        self._recovering = False   # a background reconfigure after a timeout is scheduled
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
                self.timeouts += 1
                self._needs_config = True
                self._schedule_recovery()
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

    def _tx_request(
        self,
        packet: TxPacket,
        power_range_dbm: tuple[int, int],
        encode: Callable[[at.P2pParams], object],
    ) -> tuple[at.P2pParams, int, str]:
        """(settings, power, payload hex) for `packet`, checked before the port is touched.

        Power above the module's maximum is clamped (the receipt reports what was used, as the
        beacon report must); anything the module cannot send is TxRejected.
        """
        try:
            sf, bw_hz = at.parse_datarate(packet.datarate)
        except DecodeError as exc:
            raise TxRejected(str(exc)) from exc
        low, high = power_range_dbm
        if packet.power_dbm < low:
            raise TxRejected(f"power {packet.power_dbm} dBm below the module's {low} dBm")
        power = min(packet.power_dbm, high)
        params = at.P2pParams(
            packet.freq_hz, sf, bw_hz, packet.code_rate, packet.preamble_symbols, power
        )
        try:
            encode(params)
            payload_hex = at.check_payload(packet.payload)
        except ValueError as exc:
            raise TxRejected(str(exc)) from exc
        return params, power, payload_hex

    async def _back_to_rx(self, resume: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """After a transmission (lock held): listen again. A failure here must not undo a
        transmission the module confirmed, so it is logged and left to the recovery."""
        try:
            await resume()
        except (TxRejected, FrameError, DeviceTimeout) as exc:
            log.warning("%s: could not return to receive: %s", self.port, exc)
            self._needs_config = True
            self._schedule_recovery()

    def _schedule_recovery(self) -> None:
        if self._running and not self._recovering:
            self._recovering = True
            self._spawn(self._recover())

    async def _recover(self) -> None:
        """Reconfigure until the module answers again: without this, a timeout outside a
        transmission (e.g. while fetching a frame's SNR) would leave it deaf until the next
        beacon."""
        delay_s = self.command_timeout_s
        try:
            while self._running and self._needs_config:
                await asyncio.sleep(delay_s)
                try:
                    await self._reconfigure()
                except (TxRejected, FrameError, DeviceTimeout) as exc:
                    log.info("%s: still not answering: %s", self.port, exc)
                delay_s = min(2 * delay_s, RECOVERY_MAX_DELAY_S)
        finally:
            self._recovering = False

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s: background step failed: %s", self.port, task.exception())

    @property
    def frames_rejected(self) -> Counter[str]:
        """Frames the module reported outside the physical bounds, by reason (dropped)."""
        return self._gate.dropped

    def _put_rx(self, frame: RxPacket | None) -> None:
        if frame is not None and not self._gate.admit(frame):
            log.debug("%s: frame outside physical bounds dropped: %s", self.port, frame)
            return
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
