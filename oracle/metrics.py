"""Prometheus metrics of a running oracle, on `[metrics] listen` (off unless set).

What an operator needs to see before hotspot owners complain: how fast reports arrive and how
many calls are refused and why (the gRPC status is the reason class), how much waits (the
commit queue, beacons ready but unverified, refusals the tarpit holds and whether it is full),
how long a commit takes, how far the verifier lags behind, which epochs are stored and how
payouts stand. Counters are fed by the server as things happen; levels (queues, lag, epochs,
payouts) are read from the database and the payout ledger when Prometheus scrapes, so nothing
is counted twice and a restart loses nothing that matters. Every metric lives in this object's
own registry: no process-global state, several oracles in one test process do not mix.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import grpc
import grpc.aio
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from oracle.errors import OracleError
from oracle.ratelimit import Tarpit
from oracle.storage.repository import InsertResult, NewReport

# Group commits wait for an fsync: milliseconds on an SSD, tens on a busy disk.
COMMIT_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class OracleMetrics:
    def __init__(self, clock_ms: Callable[[], int] | None = None) -> None:
        self.registry = CollectorRegistry()
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.stored = Counter("pocnet_oracle_reports_stored", "reports newly stored, by kind",
                              ["kind"], registry=self.registry)
        self.duplicates = Counter("pocnet_oracle_reports_duplicate",
                                  "reports received again (already stored), by kind", ["kind"],
                                  registry=self.registry)
        self.calls = Counter("pocnet_oracle_calls", "finished gRPC calls by method and status",
                             ["method", "code"], registry=self.registry)
        self.refused = Counter("pocnet_oracle_refusals",
                               "calls refused, by method and status (the refusal's class)",
                               ["method", "code"], registry=self.registry)
        self.commit = Histogram("pocnet_oracle_commit_seconds",
                                "time of one group commit (the fsync an ack waits for)",
                                buckets=COMMIT_BUCKETS_S, registry=self.registry)
        self._server: Any = None

    # --- fed by the server ---------------------------------------------------------------
    def observe_commit(self, rows: Sequence[NewReport], results: Sequence[InsertResult],
                       seconds: float) -> None:
        self.commit.observe(seconds)
        for row, result in zip(rows, results, strict=True):
            (self.duplicates if result.duplicate else self.stored).labels(row.kind).inc()

    def observe_call(self, method: str, code: grpc.StatusCode) -> None:
        self.calls.labels(method, code.name).inc()
        if code != grpc.StatusCode.OK:
            self.refused.labels(method, code.name).inc()

    def interceptor(self) -> grpc.aio.ServerInterceptor:
        return _CallCounter(self)

    # --- read when scraped ---------------------------------------------------------------
    def watch(self, committer: Any, repo: Any, ledger_path: str,
              tarpit: Tarpit | None = None) -> None:
        """Report the levels of this oracle's commit queue, database and payout ledger, and of
        its tarpit (oracle/ratelimit.py) when it has one."""
        self.registry.register(_Levels(committer, repo, ledger_path, self._clock_ms))
        if tarpit is not None:
            self.registry.register(_TarpitLevels(tarpit))

    def start(self, listen: str) -> int:
        """Serve /metrics on HOST:PORT (port 0 picks one); returns the port."""
        host, _, port = listen.rpartition(":")
        try:
            self._server, _ = start_http_server(int(port), host, registry=self.registry)
        except OSError as exc:
            raise OracleError(f"metrics.listen {listen}: {exc.strerror}") from None
        return int(self._server.server_port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _code(context: grpc.aio.ServicerContext, failed: bool) -> grpc.StatusCode:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    return grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK


class _CallCounter(grpc.aio.ServerInterceptor):
    """Counts every finished call with its status, whatever the servicer (one place, no
    servicer needs to know about metrics)."""

    def __init__(self, metrics: OracleMetrics) -> None:
        self._metrics = metrics

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = await continuation(details)
        if handler is None:
            return None
        method = details.method.rpartition("/")[2]
        observe = self._metrics.observe_call
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _counted(handler.unary_unary, method, observe),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _counted(handler.unary_stream, method, observe),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        if handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(
                _counted(handler.stream_stream, method, observe),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        return handler  # no other shapes in our services


def _counted(inner: Any, method: str, observe: Callable[[str, grpc.StatusCode], None]) -> Any:
    """`inner` (a coroutine, or an async generator of responses) counted when it finishes."""
    if inspect.isasyncgenfunction(inner):
        async def generator(request: Any, context: Any) -> Any:
            failed = True
            try:
                async for response in inner(request, context):
                    yield response
                failed = False
            finally:
                observe(method, _code(context, failed))

        return generator

    async def coroutine(request: Any, context: Any) -> Any:
        failed = True
        try:
            result = await inner(request, context)
            failed = False
            return result
        finally:
            observe(method, _code(context, failed))

    return coroutine


class _Levels:
    """Gauges computed at scrape time from the oracle's own state."""

    def __init__(self, committer: Any, repo: Any, ledger_path: str,
                 clock_ms: Callable[[], int]) -> None:
        self._committer = committer
        self._repo = repo
        self._ledger_path = ledger_path
        self._clock_ms = clock_ms

    def describe(self) -> list[Metric]:
        return []  # computed only when scraped: no database query at registration

    def collect(self) -> Iterator[Metric]:
        from oracle.payout.ledger import batch_states

        yield GaugeMetricFamily("pocnet_oracle_ingest_queue_depth",
                                "reports waiting for the next group commit",
                                value=self._committer.queued())
        now_ms = self._clock_ms()
        ready, oldest = self._repo.verification_backlog(now_ms)
        yield GaugeMetricFamily("pocnet_oracle_verification_backlog",
                                "beacons ready for verification and not yet verified",
                                value=ready)
        yield GaugeMetricFamily("pocnet_oracle_verifier_lag_seconds",
                                "how long the oldest ready beacon has waited for its verdict",
                                value=0 if oldest is None else max(0, now_ms - oldest) / 1000)
        epochs, latest = self._repo.stored_epochs()
        yield GaugeMetricFamily("pocnet_oracle_epochs_stored", "epochs with a stored manifest",
                                value=epochs)
        yield GaugeMetricFamily("pocnet_oracle_last_epoch",
                                "the latest epoch with a stored manifest (-1: none)",
                                value=-1 if latest is None else latest)
        batches = GaugeMetricFamily("pocnet_oracle_payout_batches",
                                    "payout batches in the ledger, by state", labels=["state"])
        for state, count in batch_states(self._ledger_path).items():
            batches.add_metric([state], count)
        yield batches


class _TarpitLevels:
    """The tarpit's numbers, read when scraped: refusals held now (at the short delay, and in
    the excess tier), and refusals answered at once because both tiers were full. The last
    growing means a flood keeps more calls in flight than the tarpit holds, so it is no longer
    slowed: a flooder on more connections than both tiers hold calls of
    (`connections.max_streams_per_connection` each; docs/security.md says what limits them: a
    firewall limit per address)."""

    def __init__(self, tarpit: Tarpit) -> None:
        self._tarpit = tarpit

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("pocnet_oracle_refusals_held",
                                "refusals of the not-onboarded budget the tarpit holds now",
                                value=self._tarpit.held)
        yield GaugeMetricFamily("pocnet_oracle_refusals_held_excess",
                                "refusals held excess_delay_s now: past a peer address's share "
                                "(per_peer_held) or past max_held_refusals",
                                value=self._tarpit.held_excess)
        yield CounterMetricFamily("pocnet_oracle_refusals_answered_at_once",
                                  "refusals of the not-onboarded budget answered at once because "
                                  "the tarpit held max_held_refusals and max_held_excess already",
                                  value=self._tarpit.answered_at_once)
        yield CounterMetricFamily("pocnet_oracle_refusals_reset_while_held",
                                  "held refusals whose client reset the call, kept until their "
                                  "delay ended (the hotspot listener: connections.hotspot_listen)",
                                  value=self._tarpit.reset_while_held)
