"""Follows the GNSS receiver and publishes the latest usable fix (docs/protocol.md §2 GPS
extension).

Only usable fixes (3D, receiver-valid, ≤ 50 m horizontal accuracy: `pocnet.gnss`) are kept; a
fix older than MAX_FIX_AGE_S is not attached to reports. When the receiver disappears the
watcher keeps its last fix (which ages out) and reopens the device with backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from firmware_bridge.errors import BridgeError
from firmware_bridge.gps_time import unix_ns
from firmware_bridge.interfaces import Gps
from firmware_bridge.types import Fix
from hotspot.channels import Watch, until
from hotspot.client.backoff import Backoff
from hotspot.clock import NS_PER_S, Clock, sleep_s
from pocnet.gnss import FixKind
from pocnet.wire import reports_pb2

log = logging.getLogger(__name__)

# A stationary hotspot's fix stays meaningful for a while; beyond this it is not evidence.
MAX_FIX_AGE_S = 120.0

_FIX_TYPES = {
    FixKind.NONE: reports_pb2.FIX_NONE,
    FixKind.TWO_D: reports_pb2.FIX_2D,
    FixKind.THREE_D: reports_pb2.FIX_3D,
    FixKind.TIME: reports_pb2.FIX_TIME_ONLY,
}


@dataclass(frozen=True)
class HeldFix:
    """A usable fix and when (host clock) the watcher received it, to know its age."""

    fix: Fix
    received_ns: int

    def age_s(self, now_ns: int) -> float:
        return max(0.0, (now_ns - self.received_ns) / NS_PER_S)


def gnss_time_ns(when: datetime | None) -> int:
    if when is None:
        return 0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return unix_ns(when)


def fix_to_proto(fix: Fix) -> reports_pb2.GpsFix:
    """The wire form (docs/protocol.md §2): degrees ×1e7, millimetres, GNSS time in ns."""
    return reports_pb2.GpsFix(
        lat_e7=round((fix.lat or 0.0) * 1e7),
        lon_e7=round((fix.lon or 0.0) * 1e7),
        height_mm=round((fix.height_m or 0.0) * 1000),
        h_acc_mm=max(0, round((fix.h_acc_m or 0.0) * 1000)),
        fix_type=_FIX_TYPES[fix.kind],
        satellites=max(0, fix.satellites),
        gnss_time_ns=gnss_time_ns(fix.time),
    )


def report_fix(held: HeldFix | None, now_ns: int) -> reports_pb2.GpsFix | None:
    """The fix to attach to a report made at `now_ns`, or None to leave the field empty."""
    if held is None or not held.fix.usable or held.age_s(now_ns) > MAX_FIX_AGE_S:
        return None
    if held.received_ns > now_ns:  # the clock was stepped back: the fix's age is unknown
        return None
    return fix_to_proto(held.fix)


def gps_factory(device: str, baudrate: int) -> Callable[[], Gps]:
    """How to (re)open the configured receiver; the driver registry is imported lazily."""

    def open_configured() -> Gps:
        from firmware_bridge.registry import open_gps

        return open_gps(device, baudrate=baudrate)

    return open_configured


class GpsWatcher:
    """Owns the Gps device; publishes Watch[HeldFix | None]."""

    def __init__(self, open_gps: Callable[[], Gps], fixes: Watch[HeldFix | None], clock: Clock,
                 backoff: Backoff, record: Callable[[str, object], None] | None = None) -> None:
        self._open = open_gps
        self._record = record  # persists transitions for `pocnet-hotspot info`
        self._have_fix = False
        self._quiet = False  # lost and already said so: repeats go to debug until a fix
        self._fixes = fixes
        self._clock = clock
        self._backoff = backoff
        self.reopens = 0

    async def run(self, shutdown: asyncio.Event) -> None:
        while not shutdown.is_set():
            why = await self._session(shutdown)
            if why is not None and not shutdown.is_set():
                await self._handle_lost(shutdown, why)

    async def _session(self, shutdown: asyncio.Event) -> str | None:
        """Open, follow until the receiver fails or shutdown; why it ended (None: shutdown)."""
        try:
            gps = self._open()
            await gps.start()
        except (BridgeError, OSError) as exc:
            return f"cannot open GPS: {exc}"
        try:
            ok, _ = await until(shutdown, self._follow(gps))
            return None if not ok else "GPS stream ended"
        except (BridgeError, OSError) as exc:
            return f"GPS lost: {exc}"
        finally:
            try:
                await gps.stop()
            except (BridgeError, OSError):
                pass

    async def _follow(self, gps: Gps) -> None:
        async for fix in gps.fixes():
            self._handle_fix(fix)

    def _handle_fix(self, fix: Fix) -> None:
        if not fix.usable:
            return
        now_ns = self._clock.now_ns()
        if not self._have_fix:
            self._have_fix, self._quiet = True, False
            log.info("GPS fix acquired: %d satellites, h_acc %.1f m", fix.satellites,
                     fix.h_acc_m or 0.0, extra={"event": "gps_fix"})
            self._note("fix", now_ns, fix)
        self._backoff.reset()
        self._fixes.set(HeldFix(fix, now_ns))

    def _note(self, status: str, now_ns: int, fix: Fix | None = None) -> None:
        if self._record is None:
            return
        state: dict[str, object] = {"status": status, "since_ns": now_ns}
        if fix is not None:
            state |= {"lat": fix.lat, "lon": fix.lon, "h_acc_m": fix.h_acc_m,
                      "satellites": fix.satellites}
        self._record("gps", state)

    async def _handle_lost(self, shutdown: asyncio.Event, why: str) -> None:
        self.reopens += 1
        if self._have_fix:
            self._have_fix = False
            self._note("lost", self._clock.now_ns())
        delay = self._backoff.next_delay_s()
        # A receiver gone for months would otherwise log a warning every minute.
        level = logging.DEBUG if self._quiet else logging.WARNING
        self._quiet = True
        log.log(level, "%s; reopening in %.1f s", why, delay, extra={"event": "gps_lost"})
        await until(shutdown, sleep_s(self._clock, delay))
