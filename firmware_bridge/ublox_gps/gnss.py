"""`UbloxGps`: a u-blox receiver on a serial port or pseudo-terminal, or a recorded file, as a
pocnet `Gps`.

pyubx2 reads blocking streams, so parsing runs in one daemon thread per receiver that hands
each `Fix` to the event loop. A serial port that disappears (USB receiver unplugged) is
reopened with backoff; a replay ends at the end of the file. With `ErrorPolicy.RAISE` the
first bad frame ends `fixes()` with FrameError; the daemon uses SKIP and reads the counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import serial

from firmware_bridge.bounds import fix_violation
from firmware_bridge.errors import BridgeError, DeviceUnavailable
from firmware_bridge.types import Fix
from firmware_bridge.ublox_gps.config import Generation, nav_pvt_config_bytes
from firmware_bridge.ublox_gps.fix import FixBuilder
from firmware_bridge.ublox_gps.reader import BlockingStream, ErrorPolicy, GnssReader, ReadCounters

log = logging.getLogger(__name__)

DEFAULT_BAUDRATE = 9600          # u-blox M8 and M10 factory default on UART1 (M9, F9: 38400)
READ_TIMEOUT_S = 0.2             # how often the reader thread checks for stop()
REOPEN_DELAY_S = 1.0
FIX_QUEUE_SIZE = 64


class UbloxGps:
    """Exactly one of `port` (a device path) or `replay` (a capture file) must be given."""

    def __init__(
        self,
        port: str | None = None,
        replay: str | None = None,
        *,
        baudrate: int = DEFAULT_BAUDRATE,
        policy: ErrorPolicy | str = ErrorPolicy.SKIP,
        configure: Generation | str | None = None,
        reopen_delay_s: float = REOPEN_DELAY_S,
    ) -> None:
        if (port is None) == (replay is None):
            raise ValueError("give exactly one of port or replay")
        self.port = port
        self.replay = replay
        self.baudrate = baudrate
        self.policy = ErrorPolicy(policy)
        self.configure = Generation(configure) if configure is not None else None
        self.reopen_delay_s = reopen_delay_s
        self.counters = ReadCounters()
        self.reopens = 0
        self.last_fix: Fix | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._queue: asyncio.Queue[Fix | BridgeError | None] = asyncio.Queue(FIX_QUEUE_SIZE)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._source: serial.Serial | BinaryIO | None = None

    @property
    def name(self) -> str:
        return self.port or self.replay or "?"

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        self._source = self._open()
        self._thread = threading.Thread(target=self._run, name=f"gnss {self.name}", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join, 5 * READ_TIMEOUT_S + self.reopen_delay_s)
        self._close_source()

    async def fixes(self) -> AsyncIterator[Fix]:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            if isinstance(item, BridgeError):
                raise item
            yield item

    # --- the reader thread ----------------------------------------------------------------

    def _open(self) -> serial.Serial | BinaryIO:
        if self.replay is not None:
            try:
                return Path(self.replay).open("rb")
            except OSError as exc:
                raise DeviceUnavailable(f"cannot open {self.replay}: {exc.strerror}") from exc
        try:
            port = serial.Serial(
                self.port, self.baudrate, timeout=READ_TIMEOUT_S, exclusive=True
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceUnavailable(f"cannot open {self.port}: {exc}") from exc
        if self.configure is not None:
            port.write(nav_pvt_config_bytes(self.configure))
            port.flush()
        return port

    def _close_source(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            with contextlib.suppress(OSError, serial.SerialException):
                source.close()

    def _run(self) -> None:
        end: BridgeError | None = None
        try:
            while not self._stop.is_set():
                self._read_source()
                if self.replay is not None or self._stop.is_set():
                    break
                self._reopen()
        except BridgeError as exc:
            end = exc
        finally:
            self._emit(end)
            if end is None:
                self._emit(None)

    def _read_source(self) -> None:
        source = self._source
        if source is None:
            return
        stream = source if self.replay is not None else BlockingStream(source, self._stop)
        reader = GnssReader(stream, self.policy)  # type: ignore[arg-type]
        reader.counters = self.counters
        builder = FixBuilder()
        try:
            for message in reader.messages():
                fix = builder.feed(message)
                if fix is None:
                    continue
                if (reason := fix_violation(fix)) is not None:
                    self.counters.fixes_out_of_bounds += 1
                    self.counters.last_error = reason
                    log.debug("GNSS %s: solution dropped: %s", self.name, reason)
                    continue
                self.last_fix = fix
                self._emit(fix)
        except (serial.SerialException, OSError) as exc:
            log.warning("GNSS port %s lost: %s", self.name, exc)

    def _reopen(self) -> None:
        self._close_source()
        while not self._stop.wait(self.reopen_delay_s):
            try:
                self._source = self._open()
            except DeviceUnavailable as exc:
                log.debug("GNSS port %s not back yet: %s", self.name, exc)
                continue
            self.reopens += 1
            return

    def _emit(self, item: Fix | BridgeError | None) -> None:
        """A replay waits for the consumer (every fix counts); a live port never does."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            if self.replay is None:
                loop.call_soon_threadsafe(self._put_latest, item)
                return
            future = asyncio.run_coroutine_threadsafe(self._queue.put(item), loop)
        except RuntimeError:  # the loop closed under us: nobody is listening any more
            return
        while not self._stop.is_set():
            try:
                future.result(READ_TIMEOUT_S)
                return
            except TimeoutError:
                continue
        future.cancel()

    def _put_latest(self, item: Fix | BridgeError | None) -> None:
        if self._queue.full():
            self._queue.get_nowait()   # a stale fix is worth less than the newest one
        self._queue.put_nowait(item)
