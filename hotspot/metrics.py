"""Prometheus metrics of one daemon, on its own registry (no process-global collectors).

Owned by the app and handed to the tasks, so two daemons in one test process never share
counters.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from hotspot.errors import MetricsError

log = logging.getLogger(__name__)


class _DriverDrops(Collector):
    """Frames the radio driver dropped, read from the driver's own tally at scrape time (the
    drivers count in firmware_bridge, which knows nothing of Prometheus)."""

    def __init__(self) -> None:
        self.source: Callable[[], Mapping[str, int]] = dict

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "pocnet_hotspot_frames_dropped",
            "frames the radio driver received but dropped (outside physical bounds, "
            "undecodable), by reason",
            labels=["reason"],
        )
        for reason, count in sorted(self.source().items()):
            family.add_metric([reason], count)
        yield family


class HotspotMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.beacons_sent = Counter("pocnet_hotspot_beacons_sent",
                                    "beacons confirmed by the radio", registry=r)
        self.witnesses_sent = Counter("pocnet_hotspot_witnesses_sent",
                                      "witness reports queued", registry=r)
        self.coverage_sent = Counter("pocnet_hotspot_coverage_sent",
                                     "coverage reports queued", registry=r)
        self.reports_acknowledged = Counter("pocnet_hotspot_reports_acknowledged",
                                            "reports the oracle acknowledged", ["kind"],
                                            registry=r)
        self.reports_dropped = Counter("pocnet_hotspot_reports_dropped",
                                       "reports dropped without delivery", ["reason"],
                                       registry=r)
        self.entropy_refused = Counter("pocnet_hotspot_entropy_refused",
                                       "oracle entropy not beaconed on (unknown oracle key, bad "
                                       "signature, stale)", ["reason"], registry=r)
        self.frames_ignored = Counter("pocnet_hotspot_frames_ignored",
                                      "received frames not witnessed", ["reason"], registry=r)
        self.radio_errors = Counter("pocnet_hotspot_radio_errors",
                                    "radio failures (transmit rejected, timeout, device lost)",
                                    ["kind"], registry=r)
        self.outbox_depth = Gauge("pocnet_hotspot_outbox_depth", "reports waiting in the outbox",
                                  registry=r)
        self.gps_fix_age = Gauge("pocnet_hotspot_gps_fix_age_seconds",
                                 "age of the latest usable GPS fix (-1: none)", registry=r)
        self.gps_fix_age.set(-1)
        self._driver_drops = _DriverDrops()
        r.register(self._driver_drops)

    def track_fix_age(self, age_s: Callable[[], float]) -> None:
        """Compute the fix age at scrape time (it grows between fixes)."""
        self.gps_fix_age.set_function(age_s)

    def track_driver_drops(self, counts: Callable[[], Mapping[str, int]]) -> None:
        """Read the drivers' dropped-frame tally (by reason) at scrape time."""
        self._driver_drops.source = counts

    def serve(self, address: str, port: int) -> Callable[[], None]:
        """Start the HTTP endpoint on its own thread; returns the function that stops it."""
        if port == 0:
            return lambda: None
        try:
            server, thread = start_http_server(port, addr=address, registry=self.registry)
        except OSError as exc:  # a settings problem: restarting cannot free the port
            raise MetricsError(
                f"metrics.port {port} on {address}: {exc.strerror or exc}"
            ) from None
        log.info("metrics on http://%s:%d/metrics", address, port)

        def stop() -> None:
            server.shutdown()
            server.server_close()
            if isinstance(thread, threading.Thread):
                thread.join(timeout=5)

        return stop
