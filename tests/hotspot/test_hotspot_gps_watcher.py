"""GPS fix manager: usable fixes only, fix age, the receiver vanishing and coming back."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from firmware_bridge.errors import DeviceUnavailable
from firmware_bridge.types import Fix
from hotspot.channels import Watch
from hotspot.client.backoff import Backoff
from hotspot.clock import NS_PER_S, FakeClock
from hotspot.gps_watcher import MAX_FIX_AGE_S, GpsWatcher, HeldFix, fix_to_proto, report_fix
from pocnet.gnss import FixKind
from pocnet.wire import reports_pb2

GOOD = Fix(kind=FixKind.THREE_D, lat=-33.8688197, lon=151.2092955, height_m=-3.21,
           h_acc_m=4.0, satellites=9, time=datetime(2026, 1, 1, tzinfo=UTC), gnss_fix_ok=True)
TWO_D = Fix(kind=FixKind.TWO_D, lat=1.0, lon=1.0, h_acc_m=3.0, gnss_fix_ok=True)


class ScriptedGps:
    """Yields its fixes, then fails (receiver unplugged) or blocks (still connected)."""

    def __init__(self, fixes: list[Fix], then_fail: bool) -> None:
        self._fixes = fixes
        self._fail = then_fail
        self.stopped = False

    async def start(self) -> None: ...

    async def stop(self) -> None:
        self.stopped = True

    async def fixes(self):
        for fix in self._fixes:
            yield fix
            await asyncio.sleep(0)
        if self._fail:
            raise DeviceUnavailable("/dev/ttyACM0 vanished")
        await asyncio.Event().wait()


def test_conversion_to_wire() -> None:
    g = fix_to_proto(GOOD)
    assert (g.lat_e7, g.lon_e7, g.height_mm, g.h_acc_mm) == (-338688197, 1512092955, -3210, 4000)
    assert g.fix_type == reports_pb2.FIX_3D and g.satellites == 9
    assert g.gnss_time_ns == 1_767_225_600 * NS_PER_S
    assert fix_to_proto(TWO_D).fix_type == reports_pb2.FIX_2D


def test_report_fix_gating() -> None:
    t = 1_000 * NS_PER_S
    assert report_fix(None, t) is None
    assert report_fix(HeldFix(TWO_D, t), t) is None
    assert report_fix(HeldFix(GOOD, t), t + int(MAX_FIX_AGE_S * NS_PER_S)) is not None
    assert report_fix(HeldFix(GOOD, t), t + int((MAX_FIX_AGE_S + 1) * NS_PER_S)) is None
    # NTP stepped the clock back an hour: the fix's age is unknown, so it is not evidence
    # (it used to count as 0 s old for the next hour, even with the receiver unplugged).
    assert report_fix(HeldFix(GOOD, t), t - 3600 * NS_PER_S) is None


def test_survives_the_receiver_disappearing_and_coming_back() -> None:
    async def go():
        clock = FakeClock()
        opened: list[ScriptedGps] = []
        script = [
            ScriptedGps([TWO_D, GOOD], then_fail=True),   # a fix, then unplugged
            None,                                          # reopen fails: still gone
            ScriptedGps([GOOD], then_fail=False),          # back
        ]

        def open_gps():
            gps = script[len(opened)] if len(opened) < len(script) else script[-1]
            opened.append(gps)
            if gps is None:
                raise DeviceUnavailable("no such device")
            return gps

        watch: Watch[HeldFix | None] = Watch(None)
        records: list[str] = []
        watcher = GpsWatcher(open_gps, watch, clock, Backoff(random.Random(1), max_s=60),
                             record=lambda key, state: records.append(state["status"]))
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        await clock.settle()
        first = watch.get()
        assert first is not None and first.fix == GOOD
        assert opened[0].stopped
        await clock.advance(0.2)
        assert watch.get() == first            # kept (ageing) while the receiver is gone
        await clock.advance(120)
        assert len(opened) == 3 and watcher.reopens == 2
        assert watch.get().received_ns > first.received_ns
        assert records == ["fix", "lost", "fix"]    # what `pocnet-hotspot info` shows
        stop.set()
        await task

    asyncio.run(go())


def test_a_gps_gone_for_months_warns_once_not_every_minute(caplog) -> None:
    """The owner unplugged the receiver and left it configured: the watcher keeps trying
    (every 60 s at most) but says so once, then again only when a fix comes back."""
    import logging

    def gone():
        raise DeviceUnavailable("/dev/ttyACM0: no such device")

    async def go() -> int:
        clock = FakeClock()
        watcher = GpsWatcher(gone, Watch(None), clock, Backoff(random.Random(2), max_s=60))
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        await clock.advance(3600)
        stop.set()
        await task
        return watcher.reopens

    with caplog.at_level(logging.DEBUG, logger="hotspot.gps_watcher"):
        reopens = asyncio.run(go())
    assert reopens > 50                         # still trying, bounded by the backoff
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "no such device" in warnings[0].getMessage()


def test_the_configured_uart_speed_reaches_the_driver(tmp_path) -> None:
    """An M9 or F9 on the header talks at 38400 baud: at 9600 the daemon would read noise."""
    from hotspot.gps_watcher import gps_factory

    port = tmp_path / "ttyAMA0"          # not opened until the watcher starts the receiver
    gps = gps_factory(str(port), 38400)()
    assert (gps.port, gps.baudrate) == (str(port), 38400)
