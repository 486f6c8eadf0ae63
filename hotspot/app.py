"""The only wiring: channels, services and tasks, run in one TaskGroup until SIGTERM.

A task that crashes cancels its siblings and the process exits non-zero (systemd restarts
it). SIGTERM sets the shutdown event; tasks finish their current item, bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import time
from collections.abc import Callable

from hotspot.beaconer import Beaconer
from hotspot.channels import Inbox, Watch, until
from hotspot.client.backoff import Backoff
from hotspot.client.connection import OracleConnection
from hotspot.client.entropy import EntropyClient
from hotspot.client.ingest import IngestClient
from hotspot.client.registry import RegistryClient
from hotspot.clock import Clock, RealClock
from hotspot.coverage import Coverager, modem_factory
from hotspot.entropy_check import EntropyCheck
from hotspot.errors import MetricsError
from hotspot.gps_watcher import GpsWatcher, HeldFix, gps_factory
from hotspot.keystore import KeyStore
from hotspot.metrics import HotspotMetrics
from hotspot.outbox import AsyncOutbox
from hotspot.region_watcher import RegionWatcher, initial_plan
from hotspot.settings import Settings
from hotspot.transceiver import SINGLE_CHANNEL_KINDS, RxItem, Transceiver, radio_factory
from hotspot.uploader import Uploader
from hotspot.witnesser import Witnesser
from pocnet.regions import RegionPlan

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 10.0


async def run_daemon(settings: Settings, clock: Clock | None = None,
                     rng: random.Random | None = None, air: object | None = None,
                     shutdown: asyncio.Event | None = None,
                     on_ready: Callable[[HotspotMetrics], None] | None = None) -> None:
    started = time.monotonic()
    clock = clock or RealClock()
    rng = rng or random.Random()
    shutdown = shutdown or asyncio.Event()
    keys = KeyStore.load(settings.key.file)
    metrics = HotspotMetrics()
    depth: Watch[int] = Watch(0)

    def depth_changed(n: int) -> None:
        depth.set(n)
        metrics.outbox_depth.set(n)

    outbox = AsyncOutbox.open(
        settings.outbox.path, settings.outbox.max_reports, depth_changed,
        lambda reason, n: metrics.reports_dropped.labels(reason=reason).inc(n))
    depth_changed(outbox.box.depth())  # at start, before the worker has anything to do
    fixes: Watch[HeldFix | None] = Watch(None)
    plans: Watch[RegionPlan | None] = Watch(initial_plan(settings.beacon.region, outbox.box))
    gain: Watch[int | None] = Watch(None)
    metrics.track_fix_age(lambda: -1.0 if (h := fixes.get()) is None else h.age_s(clock.now_ns()))
    conn = OracleConnection(settings.oracle)
    ingest = IngestClient(conn, keys, clock)
    rx: Inbox[RxItem] = Inbox(256)
    radio = radio_factory(settings.radio, clock, keys.address, air, plans)
    retune = plans if settings.radio.kind in SINGLE_CHANNEL_KINDS else None
    transceiver = Transceiver(radio, rx, clock, Backoff(rng), metrics, retune,
                              settings.beacon.dwell_time_where_required)
    tasks: list = [
        transceiver,
        Witnesser(rx, fixes, keys, outbox, clock, metrics),
        Beaconer(settings.beacon.antenna_gain_dbi_x10, transceiver.sender(), EntropyClient(conn),
                 plans, fixes, keys, outbox, clock, rng, Backoff(rng), metrics, gain,
                 (settings.beacon.first_delay_min_s, settings.beacon.first_delay_max_s),
                 EntropyCheck.from_addresses(settings.oracle.keys)),
        RegionWatcher(settings.beacon.region, RegistryClient(conn), keys.key_bytes, plans, outbox,
                      clock, Backoff(rng), gain),
        Uploader(outbox, ingest, depth, clock, Backoff(rng), metrics),
    ]
    if settings.gps.device:
        gps = gps_factory(settings.gps.device, settings.gps.baudrate)
        tasks.append(GpsWatcher(gps, fixes, clock, Backoff(rng, max_s=60.0),
                                outbox.record_state))
    if settings.coverage.modem_device:
        tasks.append(Coverager(modem_factory(settings.coverage.modem_device,
                                             settings.coverage.modem_gnss_uere_m),
                               settings.coverage.interval_s, fixes, keys, outbox, clock,
                               Backoff(rng), metrics))
    try:
        stop_metrics = await metrics.serve(settings.metrics.address, settings.metrics.port)
    except MetricsError:
        outbox.close()
        raise
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, shutdown.set)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (tests): the caller owns `shutdown`

    async def announce_ready() -> None:
        if (await until(shutdown, transceiver.ready.wait()))[0]:
            log.info("hotspot %s ready", keys.address, extra={
                "event": "ready", "startup_s": round(time.monotonic() - started, 3),
                "radio": settings.radio.kind, "oracle": conn.endpoint})
            if on_ready is not None:
                on_ready(metrics)

    try:
        async with asyncio.TaskGroup() as tg:
            running = [tg.create_task(t.run(shutdown), name=type(t).__name__) for t in tasks]
            tg.create_task(announce_ready())
            tg.create_task(_bounded_stop(shutdown, running))
    finally:
        stop_metrics()
        await ingest.close()
        await conn.close()
        outbox.close()
        log.info("hotspot stopped", extra={"event": "stopped"})


async def _bounded_stop(shutdown: asyncio.Event, running: list[asyncio.Task[None]],
                        grace_s: float = SHUTDOWN_GRACE_S) -> None:
    """After SIGTERM, give tasks `grace_s` to finish their item, then cancel them."""
    await shutdown.wait()
    log.info("shutting down", extra={"event": "shutdown"})
    _, pending = await asyncio.wait(running, timeout=grace_s)
    for task in pending:
        log.warning("%s did not stop in time; cancelling", task.get_name())
        task.cancel()
