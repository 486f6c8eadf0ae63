"""The oracle's Prometheus endpoint: ingest by kind, refusals by status, commit latency, queue
depths, verifier lag, epochs and payouts, scraped over real HTTP from a real gRPC server."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import urllib.request

import grpc
import pytest
from oracle_client import RunningServer
from oracle_factories import keypair, witness_report
from prometheus_client.parser import text_string_to_metric_families

from oracle.ingest import Ingestor
from oracle.metrics import OracleMetrics
from oracle.payout.ledger import Ledger
from pocnet.keys import Network
from pocnet.wire import service_pb2, service_pb2_grpc

NOW_MS = 1_800_000_000_000


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _until(port: int, done, timeout_s: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        m = _scrape(port)
        if done(m) or time.monotonic() > deadline:
            return m
        time.sleep(0.05)


class MeteredServer(RunningServer):
    """RunningServer with metrics wired as `serve` wires them, on a fake wall clock."""

    async def _create(self):  # type: ignore[no-untyped-def]
        from oracle_client import _FixedRegion

        from oracle.server import build_oracle, create_server

        self.metrics = OracleMetrics(clock_ms=lambda: NOW_MS)
        oracle = build_oracle(self.settings, locator=lambda: _FixedRegion(),
                              metrics=self.metrics)
        server, port = create_server(self.settings, "127.0.0.1:0", oracle)
        await server.start()
        self.metrics.watch(oracle.committer, oracle.repo, self.settings.payout.ledger)
        self.metrics_port = self.metrics.start("127.0.0.1:0")
        return server, port

    def close(self) -> None:
        self.metrics.stop()
        super().close()


@pytest.fixture
def metered(oracle_settings, tmp_path):  # type: ignore[no-untyped-def]
    settings, operator = oracle_settings
    settings = settings.with_("payout", ledger=str(tmp_path / "ledger.db"))
    running = MeteredServer(settings, operator)
    try:
        yield running
    finally:
        running.close()


def test_ingest_refusals_and_commits_are_counted(metered) -> None:  # type: ignore[no-untyped-def]
    with grpc.insecure_channel(metered.address) as channel:
        stub = service_pb2_grpc.IngestServiceStub(channel)
        report = witness_report(keypair(71))
        stub.SubmitWitness(report, timeout=5)
        stub.SubmitWitness(report, timeout=5)                  # a duplicate
        forged = witness_report(keypair(72), signer=keypair(73))
        with pytest.raises(grpc.RpcError) as refused:
            stub.SubmitWitness(forged, timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # A call is counted when its handler returns, which may be just after the client has its
    # status: wait for the third call to be counted.
    calls = "pocnet_oracle_calls_total"
    m = _until(metered.metrics_port,
               lambda m: sum(v for (name, _), v in m.items() if name == calls) == 3)
    assert m[("pocnet_oracle_reports_stored_total", (("kind", "witness"),))] == 1
    assert m[("pocnet_oracle_reports_duplicate_total", (("kind", "witness"),))] == 1
    ok = ("pocnet_oracle_calls_total", (("code", "OK"), ("method", "SubmitWitness")))
    assert m[ok] == 2
    bad = (("code", "UNAUTHENTICATED"), ("method", "SubmitWitness"))
    assert m[("pocnet_oracle_refusals_total", bad)] == 1
    assert ("pocnet_oracle_refusals_total", (("code", "OK"), ("method", "SubmitWitness"))) not in m
    assert m[("pocnet_oracle_commit_seconds_count", ())] == 2  # one commit per stored report
    assert m[("pocnet_oracle_ingest_queue_depth", ())] == 0


def test_levels_are_read_when_scraped(metered, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from oracle_factories import beacon_report

    m = _scrape(metered.metrics_port)
    assert m[("pocnet_oracle_verification_backlog", ())] == 0
    assert m[("pocnet_oracle_verifier_lag_seconds", ())] == 0
    assert m[("pocnet_oracle_epochs_stored", ())] == 0
    assert m[("pocnet_oracle_last_epoch", ())] == -1
    assert not any(name == "pocnet_oracle_payout_batches" for name, _ in m)  # no ledger yet
    assert not (tmp_path / "ledger.db").exists()                  # and none created by looking
    repo = metered.oracle.repo
    beacon = Ingestor(repo, None, Network.MAINNET, lambda: NOW_MS - 90_000).prepare(
        "beacon", beacon_report(keypair(74), bytes(32), 1))
    # Ready 30 s before "now": exactly that long behind. One ready a second in the future is
    # not yet the verifier's to do.
    repo.insert_reports([beacon._replace(ready_ms=NOW_MS - 30_000)])
    later = Ingestor(repo, None, Network.MAINNET, lambda: NOW_MS).prepare(
        "beacon", beacon_report(keypair(75), bytes(32), 1))
    repo.insert_reports([later._replace(ready_ms=NOW_MS + 1_000)])
    Ledger(tmp_path / "ledger.db").close()
    m = _scrape(metered.metrics_port)
    assert m[("pocnet_oracle_verification_backlog", ())] == 1
    assert m[("pocnet_oracle_verifier_lag_seconds", ())] == 30.0
    assert {labels: v for (name, labels), v in m.items()
            if name == "pocnet_oracle_payout_batches"} == {
        (("state", s),): 0 for s in ("planned", "signed", "sent", "confirmed")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_the_endpoint_only_when_configured(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    from oracle.server import serve

    settings, _ = oracle_settings
    port = _free_port()
    settings = settings.with_("oracle", listen="127.0.0.1:0").with_(
        "metrics", listen=f"127.0.0.1:{port}")
    ready = threading.Event()
    stop: list[asyncio.Event] = []
    scraped: list[dict] = []

    async def main() -> None:
        stop.append(asyncio.Event())
        task = asyncio.create_task(serve(settings, stop=stop[0], ready=lambda *_: ready.set()))
        while not ready.is_set():
            await asyncio.sleep(0.05)
        scraped.append(await asyncio.to_thread(_scrape, port))
        stop[0].set()
        await asyncio.wait_for(task, 30)

    asyncio.run(main())
    assert ("pocnet_oracle_ingest_queue_depth", ()) in scraped[0]
    assert scraped[0][("pocnet_oracle_refusals_held", ())] == 0  # serve wires the tarpit
    with pytest.raises(OSError):
        _scrape(port)  # stopped with the server


def test_verdict_streams_are_counted(metered) -> None:  # type: ignore[no-untyped-def]
    """A server-streaming call (StreamVerdicts) is counted like the others, refusals too."""
    with grpc.insecure_channel(metered.address) as channel:
        stub = service_pb2_grpc.QueryServiceStub(channel)
        assert list(stub.StreamVerdicts(service_pb2.VerdictRowsRequest(to_ms=1), timeout=5)) == []
        with pytest.raises(grpc.RpcError):
            list(stub.StreamVerdicts(service_pb2.VerdictRowsRequest(), timeout=5))
    calls = "pocnet_oracle_calls_total"
    m = _until(metered.metrics_port,
               lambda m: sum(v for (name, _), v in m.items() if name == calls) == 2)
    assert m[(calls, (("code", "OK"), ("method", "StreamVerdicts")))] == 1
    bad = (("code", "INVALID_ARGUMENT"), ("method", "StreamVerdicts"))
    assert m[(calls, bad)] == 1
    assert m[("pocnet_oracle_refusals_total", bad)] == 1
