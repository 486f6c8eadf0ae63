"""Periodic signed 5G/LTE coverage reports from a Quectel modem (pocnet adds, issue 5 §8).

Every `interval_s` the modem's serving cells (plus the GPS fix, or the modem's own GNSS fix)
become a CoverageReport in the outbox. A modem that fails is reopened with backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from firmware_bridge.errors import BridgeError, FrameError
from firmware_bridge.interfaces import CellModem
from hotspot.channels import Watch, until
from hotspot.client.backoff import Backoff
from hotspot.clock import NS_PER_S, Clock, sleep_s
from hotspot.gps_watcher import HeldFix, fix_to_proto, report_fix
from hotspot.keystore import KeyStore
from hotspot.metrics import HotspotMetrics
from hotspot.outbox import AsyncOutbox
from pocnet.wire import reports_pb2

log = logging.getLogger(__name__)

def modem_factory(device: str, uere_m: float = 0.0) -> Callable[[], CellModem]:
    """How to (re)open the configured modem; `uere_m` 0 leaves its GNSS fixes unusable."""

    def open_configured() -> CellModem:
        from firmware_bridge.registry import open_modem

        return open_modem(device, uere_m=uere_m or None)

    return open_configured


class Coverager:
    def __init__(self, open_modem: Callable[[], CellModem], interval_s: int,
                 fixes: Watch[HeldFix | None], keystore: KeyStore, outbox: AsyncOutbox,
                 clock: Clock, backoff: Backoff, metrics: HotspotMetrics) -> None:
        self._open = open_modem
        self._interval_s = interval_s
        self._fixes = fixes
        self._keys = keystore
        self._outbox = outbox
        self._clock = clock
        self._backoff = backoff
        self._metrics = metrics

    async def run(self, shutdown: asyncio.Event) -> None:
        while not shutdown.is_set():
            modem = self._open()
            try:
                await modem.start()
                while not shutdown.is_set():
                    ok, _ = await until(shutdown, self._handle_measure(modem))
                    if not ok:
                        break
                    await until(shutdown, sleep_s(self._clock, self._interval_s))
            except (BridgeError, OSError) as exc:
                delay = self._backoff.next_delay_s()
                log.warning("modem failed: %s; reopening in %.0f s", exc, delay,
                            extra={"event": "modem_lost"})
                await until(shutdown, sleep_s(self._clock, delay))
            finally:
                try:
                    await modem.stop()
                except (BridgeError, OSError):
                    pass

    async def _handle_measure(self, modem: CellModem) -> None:
        cells = await modem.serving_cells()
        now_ns = self._clock.now_ns()
        fix = report_fix(self._fixes.get(), now_ns)
        if fix is None:
            modem_fix = await modem.gnss_fix()
            if modem_fix is not None and modem_fix.usable:
                fix = fix_to_proto(modem_fix)
        self._backoff.reset()
        if not cells:
            log.info("modem reports no serving cell", extra={"event": "coverage_empty"})
            return
        # The driver package owns the conversion; imported here so no modem, no import.
        from firmware_bridge.modem_5g.coverage import cells_to_wire

        try:
            wire_cells = cells_to_wire(cells)
        except FrameError as exc:
            log.warning("unusable cell measurement: %s", exc, extra={"event": "coverage_bad"})
            return
        report = reports_pb2.CoverageReport(pub_key=self._keys.key_bytes, timestamp=now_ns,
                                            cells=wire_cells)
        if fix is not None:
            report.gps_fix.CopyFrom(fix)
        self._keys.sign(report)
        # Coverage has no entropy window; a day-old measurement is still worth delivering.
        if await self._outbox.enqueue("coverage", report, now_ns,
                                now_ns + 86_400 * NS_PER_S) is not None:
            self._metrics.coverage_sent.inc()
