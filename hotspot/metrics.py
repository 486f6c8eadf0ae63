"""Prometheus metrics of one daemon, counted in plain objects and served in the text format.

Owned by the app and handed to the tasks, so two daemons in one test process never share
counters.

Written here rather than with prometheus_client: the hotspot needs two metric types (counter,
gauge), at most one label each and one HTTP path, a small subset of the text exposition format
0.0.4 (prometheus.io/docs/instrumenting/exposition_formats). prometheus_client brings
http.server, wsgiref, email and its own thread, 3.5 MB of a small board's memory
(docs/benchmarks.md, "Hotspot daemon (issue 15)"); no lighter well-kept exporter exists. The
endpoint runs on the daemon's event loop, so scrape-time callbacks read task state on the
thread that writes it. The tests parse the output back with prometheus_client's own parser.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Mapping

from hotspot.errors import MetricsError

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METRICS_PATH = "/metrics"
# A scrape request is one line and a few headers; anything longer or slower is not Prometheus.
MAX_REQUEST_BYTES = 8192
REQUEST_TIMEOUT_S = 10.0

Labels = tuple[str, ...]


def format_value(value: float) -> str:
    """A sample value as the text format spells it (Go's ParseFloat reads it back)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


class _Child:
    """One labelled series of a family (what `family.labels(reason=...)` returns)."""

    __slots__ = ("_family", "_key")

    def __init__(self, family: _Family, key: Labels) -> None:
        self._family = family
        self._key = key

    def inc(self, amount: float = 1.0) -> None:
        self._family._add(self._key, amount)

    def get(self) -> float:
        return self._family.values().get(self._key, 0.0)


class _Family:
    """A metric name with its help, type and labelled values; exposition emits every series."""

    kind = "untyped"
    suffix = ""

    def __init__(self, name: str, documentation: str, labelnames: tuple[str, ...] = ()) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._values: dict[Labels, float] = {} if labelnames else {(): 0.0}
        self._source: Callable[[], Mapping[Labels, float]] | None = None

    def labels(self, **labels: str) -> _Child:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {tuple(labels)}")
        return _Child(self, tuple(str(labels[n]) for n in self.labelnames))

    def get(self, **labels: str) -> float:
        """The current value of one series (0 for one never counted)."""
        return self.labels(**labels).get() if labels else self.values().get((), 0.0)

    def values(self) -> dict[Labels, float]:
        """Every series by its label values, as a scrape reads them now."""
        if self._source is not None:
            return {key: float(v) for key, v in self._source().items()}
        return dict(self._values)

    def _add(self, key: Labels, amount: float) -> None:
        self._values[key] = self._values.get(key, 0.0) + amount

    def _set(self, key: Labels, value: float) -> None:
        self._values[key] = float(value)

    def _unlabelled(self) -> Labels:
        if self.labelnames:
            raise ValueError(f"{self.name} has labels {self.labelnames}: use .labels()")
        return ()

    def exposition(self) -> list[str]:
        name = self.name + self.suffix
        lines = [f"# HELP {name} {_escape_help(self.documentation)}", f"# TYPE {name} {self.kind}"]
        for key, value in sorted(self.values().items()):
            labels = ",".join(f'{n}="{_escape_label(v)}"' for n, v in zip(self.labelnames, key,
                                                                          strict=True))
            lines.append(f"{name}{{{labels}}} {format_value(value)}" if labels
                         else f"{name} {format_value(value)}")
        return lines


class Counter(_Family):
    """Counts up only; exposed as `<name>_total` as the format's counters are."""

    kind = "counter"
    suffix = "_total"

    def inc(self, amount: float = 1.0) -> None:
        self._add(self._unlabelled(), amount)

    def _add(self, key: Labels, amount: float) -> None:
        if amount < 0:
            raise ValueError(f"{self.name}: a counter cannot go down ({amount})")
        super()._add(key, amount)

    def read_from(self, counts: Callable[[], Mapping[str, int]]) -> None:
        """Take the values from `counts` (one label) at scrape time instead of counting here."""
        if len(self.labelnames) != 1:
            raise ValueError(f"{self.name}: read_from needs exactly one label")
        self._source = lambda: {(str(k),): float(v) for k, v in counts().items()}


class Gauge(_Family):
    """A value that goes up and down, set directly or computed at scrape time."""

    kind = "gauge"

    def set(self, value: float) -> None:
        self._source = None
        self._set(self._unlabelled(), value)

    def set_function(self, read: Callable[[], float]) -> None:
        self._unlabelled()
        self._source = lambda: {(): float(read())}


class HotspotMetrics:
    def __init__(self) -> None:
        self.beacons_sent = Counter("pocnet_hotspot_beacons_sent",
                                    "beacons confirmed by the radio")
        self.witnesses_sent = Counter("pocnet_hotspot_witnesses_sent", "witness reports queued")
        self.coverage_sent = Counter("pocnet_hotspot_coverage_sent", "coverage reports queued")
        self.reports_acknowledged = Counter("pocnet_hotspot_reports_acknowledged",
                                            "reports the oracle acknowledged", ("kind",))
        self.reports_dropped = Counter("pocnet_hotspot_reports_dropped",
                                       "reports dropped without delivery", ("reason",))
        self.entropy_refused = Counter("pocnet_hotspot_entropy_refused",
                                       "oracle entropy not beaconed on (unknown oracle key, bad "
                                       "signature, stale)", ("reason",))
        self.frames_ignored = Counter("pocnet_hotspot_frames_ignored",
                                      "received frames not witnessed", ("reason",))
        self.radio_errors = Counter("pocnet_hotspot_radio_errors",
                                    "radio failures (transmit rejected, timeout, device lost)",
                                    ("kind",))
        # Counted by the radio drivers in firmware_bridge (which knows nothing of Prometheus)
        # and read from their tally at scrape time.
        self.frames_dropped = Counter(
            "pocnet_hotspot_frames_dropped",
            "frames the radio driver received but dropped (outside physical bounds, "
            "undecodable), by reason", ("reason",))
        self.outbox_depth = Gauge("pocnet_hotspot_outbox_depth", "reports waiting in the outbox")
        self.gps_fix_age = Gauge("pocnet_hotspot_gps_fix_age_seconds",
                                 "age of the latest usable GPS fix (-1: none)")
        self.gps_fix_age.set(-1)
        self.families: tuple[_Family, ...] = (
            self.beacons_sent, self.witnesses_sent, self.coverage_sent,
            self.reports_acknowledged, self.reports_dropped, self.entropy_refused,
            self.frames_ignored, self.radio_errors, self.frames_dropped, self.outbox_depth,
            self.gps_fix_age,
        )

    def track_fix_age(self, age_s: Callable[[], float]) -> None:
        """Compute the fix age at scrape time (it grows between fixes)."""
        self.gps_fix_age.set_function(age_s)

    def track_driver_drops(self, counts: Callable[[], Mapping[str, int]]) -> None:
        """Read the drivers' dropped-frame tally (by reason) at scrape time."""
        self.frames_dropped.read_from(counts)

    def exposition(self) -> bytes:
        """Every family in the text format, as one scrape returns it."""
        lines = [line for family in self.families for line in family.exposition()]
        return ("\n".join(lines) + "\n").encode("utf-8")

    async def serve(self, address: str, port: int) -> Callable[[], None]:
        """Listen for scrapes on the running loop; returns the function that stops it."""
        if port == 0:
            return lambda: None
        try:
            server = await asyncio.start_server(self._answer, address, port,
                                                limit=MAX_REQUEST_BYTES)
        except OSError as exc:  # a settings problem: restarting cannot free the port
            raise MetricsError(
                f"metrics.port {port} on {address}: {exc.strerror or exc}"
            ) from None
        log.info("metrics on http://%s:%d%s", address, port, METRICS_PATH)
        return server.close

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One HTTP/1.1 request, one response, then close (Prometheus reconnects per scrape
        or keeps nothing open that matters at a 15 s interval)."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT_S)
            method, target, *_ = [*head.split(b"\r\n", 1)[0].decode("latin-1").split(" "), ""]
            if method not in ("GET", "HEAD"):
                status, body = "405 Method Not Allowed", b"GET only\n"
            elif target.split("?", 1)[0] not in (METRICS_PATH, "/"):
                status, body = "404 Not Found", f"metrics are at {METRICS_PATH}\n".encode()
            else:
                status, body = "200 OK", self.exposition()
            ctype = CONTENT_TYPE if status == "200 OK" else "text/plain; charset=utf-8"
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
            if method != "HEAD":
                writer.write(body)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError):
            pass  # a client that went away or never sent a request: nothing to answer
        finally:
            writer.close()
