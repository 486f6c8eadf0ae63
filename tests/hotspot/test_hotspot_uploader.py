"""Uploader + ingest client against a real in-test gRPC oracle: sessions, outages, rejections."""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path

import grpc
import pytest
from hotspot_sink_oracle import SinkOracle, SinkServer
from hotspot_testkit import advance_until, eventually, make_settings, quiet, task_outbox

from hotspot.channels import Watch
from hotspot.client.backoff import SESSION_RENEW_S, Backoff
from hotspot.client.connection import OracleConnection
from hotspot.client.ingest import BATCHES_OFF_S, IngestClient
from hotspot.clock import NS_PER_S, FakeClock
from hotspot.keystore import KeyStore
from hotspot.metrics import HotspotMetrics
from hotspot.outbox import Outbox
from hotspot.uploader import BATCH, Uploader
from pocnet import signing
from pocnet.wire import MAX_BATCH_REPORTS, ingest_pb2, reports_pb2


class Rig:
    """An outbox, an uploader task and a sink oracle, all on one fake clock."""

    def __init__(self, tmp: Path, server: SinkServer) -> None:
        self.clock = FakeClock()
        self.server = server
        self.settings = make_settings(tmp, server.endpoint)
        self.keys = KeyStore.load(self.settings.key.file)
        self.metrics = HotspotMetrics()
        self.depth: Watch[int] = Watch(0)
        self.outbox = Outbox(self.settings.outbox.path, on_change=self.depth.set)
        self.conn = OracleConnection(self.settings.oracle)
        self.client = IngestClient(self.conn, self.keys, self.clock)
        self.uploader = Uploader(task_outbox(self.outbox), self.client, self.depth, self.clock,
                                 Backoff(random.Random(3)), self.metrics)
        self.stop = asyncio.Event()

    def witness(self, n: int, expires_s: float | None = 180) -> bytes:
        report = reports_pb2.WitnessReport(pub_key=self.keys.key_bytes,
                                           data=n.to_bytes(51, "big"), signal=-1000 - n)
        self.keys.sign(report)
        now = self.clock.now_ns()
        return self.outbox.enqueue("witness", report, now,
                                   None if expires_s is None else now + int(expires_s * NS_PER_S))

    async def __aenter__(self) -> Rig:
        self.task = asyncio.create_task(self.uploader.run(self.stop))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 5)
        await self.client.close()
        await self.conn.close()


def _fails_once(code: grpc.StatusCode, details: str):
    """A SinkOracle.reject that refuses the next report with this status, then none."""
    left = [1]

    def reject(kind, report):
        if left[0]:
            left[0] -= 1
            return code, details
        return None

    return reject


def with_oracle(test):
    def wrapper(tmp_path: Path) -> None:
        oracle = SinkOracle()
        server = SinkServer(oracle).start()
        try:
            asyncio.run(test(tmp_path, oracle, server))
        finally:
            server.stop()
    wrapper.__name__ = test.__name__
    return wrapper


@with_oracle
async def test_stream_delivers_in_order_and_acks(tmp_path, oracle, server) -> None:
    async with Rig(tmp_path, server) as rig:
        ids = [rig.witness(n) for n in range(20)]
        await eventually(lambda: rig.outbox.depth() == 0)
    assert list(oracle.stored) == ids
    assert oracle.sessions == 1 and oracle.unary == 0
    acked = rig.metrics.reports_acknowledged.labels(kind="witness").get()
    assert acked == 20


@with_oracle
async def test_a_backlog_goes_in_batches_each_report_acked_once(tmp_path, oracle, server) -> None:
    """A hotspot back from an outage finds 100 reports in its outbox: they go as report
    batches of at most BATCH, soonest first, each acked once (docs/protocol.md §2)."""
    rig = Rig(tmp_path, server)
    ids = [rig.witness(n) for n in range(100)]
    async with rig:
        await eventually(lambda: rig.outbox.depth() == 0)
    assert BATCH == 32
    assert oracle.batch_sizes == [32, 32, 32, 4]
    assert list(oracle.stored) == ids
    assert oracle.submissions == 100 and oracle.unary == 0 and oracle.sessions == 1
    assert all(n == 1 for n in oracle.acked_new.values())
    assert rig.metrics.reports_acknowledged.labels(kind="witness").get() == 100


@with_oracle
async def test_a_batch_never_exceeds_the_oracles_size_limit(tmp_path, oracle, server) -> None:
    """docs/protocol.md §2: the StreamRequest carrying a batch is at most MAX_BATCH_BYTES. The
    client sends the first reports that fit and says so by the outcomes it returns."""
    from pocnet.wire import MAX_BATCH_BYTES

    rig = Rig(tmp_path, server)
    reports = []
    for n in range(MAX_BATCH_REPORTS):
        report = reports_pb2.WitnessReport(pub_key=rig.keys.key_bytes, data=bytes(1000),
                                           signal=-1000 - n)
        rig.keys.sign(report)
        reports.append(("witness", report))
    outcomes = await rig.client.submit_batch(reports)
    await rig.client.close()
    await rig.conn.close()
    sent = len(outcomes)
    assert 1 < sent < MAX_BATCH_REPORTS and oracle.batch_sizes == [sent]
    assert all(isinstance(o, ingest_pb2.ReportAck) for o in outcomes)
    one_more = (ingest_pb2.BatchedReport(witness=reports[sent][1]).ByteSize() + 3)
    assert oracle.batch_bytes[0] <= MAX_BATCH_BYTES < oracle.batch_bytes[0] + one_more


@with_oracle
async def test_each_report_of_a_batch_is_settled_on_its_own(tmp_path, oracle, server) -> None:
    """A refusal in the middle of a batch drops that report alone; a transient one is retried
    alone later; the rest of the batch is acked at once."""
    again = [1]

    def reject(kind, report):
        if report.signal == -1005:
            return grpc.StatusCode.INVALID_ARGUMENT, "oversized"
        if report.signal == -1010 and again[0]:
            again[0] -= 1
            return grpc.StatusCode.RESOURCE_EXHAUSTED, "rate limit: at most 5 reports/s"
        return None

    oracle.reject = reject
    rig = Rig(tmp_path, server)
    ids = [rig.witness(n) for n in range(20)]
    async with rig:
        await eventually(lambda: rig.outbox.depth() == 1)  # the one to retry
        assert len(oracle.stored) == 18
        assert rig.outbox.drops() == {"rejected_invalid_argument": 1}
        await advance_until(rig.clock, lambda: rig.outbox.depth() == 0, step_s=30)
    assert oracle.batch_sizes[0] == 20
    assert sorted(oracle.stored) == sorted(ids[:5] + ids[6:])
    assert all(n == 1 for n in oracle.acked_new.values())


def test_an_oracle_without_batches_gets_reports_one_at_a_time(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    """An oracle older than batches ends the stream at the first one: the same reports go one
    at a time on a new stream, and no batch is tried again for BATCHES_OFF_S."""
    oracle = SinkOracle()
    oracle.batches = False
    server = SinkServer(oracle).start()

    async def go() -> tuple[list[bytes], list[bytes]]:
        rig = Rig(tmp_path, server)
        ids = [rig.witness(n) for n in range(10)]
        async with rig:
            await eventually(lambda: rig.outbox.depth() == 0)
            later = [rig.witness(n) for n in range(10, 15)]
            await eventually(lambda: rig.outbox.depth() == 0)
        return ids, later

    try:
        with caplog.at_level(logging.INFO, logger="hotspot.client.ingest"):
            ids, later = asyncio.run(go())
    finally:
        server.stop()
    assert list(oracle.stored) == ids + later
    assert oracle.unary == 0 and oracle.sessions == 2  # the refused one, then one for all
    assert [r.getMessage() for r in caplog.records
            if getattr(r, "event", None) == "batches_refused"] == [
        "the oracle refused a report batch (UNAUTHENTICATED: only reports may follow the "
        f"session init); sending reports one at a time for {BATCHES_OFF_S} s"]


@with_oracle
async def test_session_is_renewed_before_30_minutes(tmp_path, oracle, server) -> None:
    async with Rig(tmp_path, server) as rig:
        rig.witness(1)
        await eventually(lambda: rig.outbox.depth() == 0)
        await rig.clock.advance(SESSION_RENEW_S + 1)
        rig.witness(2, expires_s=None)
        await eventually(lambda: rig.outbox.depth() == 0)
    assert oracle.sessions == 2


@with_oracle
async def test_session_is_renewed_when_the_clock_steps_back(tmp_path, oracle, server) -> None:
    """Its age is unknown then: kept, it would outlive the oracle's 30 minutes (docs/protocol.md §1)
    and the next report would fail on it before falling back to a unary call."""
    async with Rig(tmp_path, server) as rig:
        rig.witness(1, expires_s=None)
        await eventually(lambda: rig.outbox.depth() == 0)
        rig.clock._now_ns -= 3600 * NS_PER_S       # NTP steps the host clock back an hour
        rig.witness(2, expires_s=None)
        await eventually(lambda: rig.outbox.depth() == 0)
    assert oracle.sessions == 2 and oracle.unary == 0


@with_oracle
async def test_unary_fallback_signed_by_device_key(tmp_path, oracle, server) -> None:
    oracle.stream_enabled = False
    async with Rig(tmp_path, server) as rig:
        rig.witness(1)
        await eventually(lambda: rig.outbox.depth() == 0)
    assert oracle.unary == 1 and oracle.sessions == 0
    (_kind, report), = oracle.stored.values()
    signing.verify(report, rig.keys.public_key)


@with_oracle
async def test_oracle_down_then_up_delivers_each_report_once(tmp_path, oracle, server) -> None:
    server.stop()
    async with Rig(tmp_path, server) as rig:
        ids = [rig.witness(n, expires_s=None) for n in range(5)]
        await advance_until(rig.clock, lambda: rig.outbox.peek(1)[0].attempts >= 3, step_s=30)
        assert rig.outbox.depth() == 5 and not oracle.stored
        server.start()  # same port
        await advance_until(rig.clock, lambda: rig.outbox.depth() == 0, step_s=30)
    assert sorted(oracle.stored) == sorted(ids)
    assert oracle.submissions == 5  # nothing was acked twice or lost


@with_oracle
async def test_rejections_drop_with_a_counted_reason(tmp_path, oracle, server) -> None:
    def reject(kind, report):
        if report.signal == -1001:
            return grpc.StatusCode.FAILED_PRECONDITION, "entropy expired for this report"
        if report.signal == -1002:
            return grpc.StatusCode.INVALID_ARGUMENT, "oversized"
        return None

    oracle.reject = reject
    async with Rig(tmp_path, server) as rig:
        ids = [rig.witness(n) for n in range(4)]
        await eventually(lambda: rig.outbox.depth() == 0)
    assert sorted(oracle.stored) == sorted([ids[0], ids[3]])
    assert rig.outbox.drops() == {"entropy_expired": 1, "rejected_invalid_argument": 1}


@with_oracle
async def test_a_kind_the_oracle_does_not_implement_does_not_block_the_queue(
        tmp_path, oracle, server) -> None:
    """An oracle without SubmitCoverage (an older release): retried as "transient", a coverage
    report (a day to live) held every beacon and witness behind it until they expired."""
    def reject(kind, report):
        if kind == "coverage":
            return grpc.StatusCode.UNIMPLEMENTED, "Method not found!"
        return None

    oracle.reject = reject
    async with Rig(tmp_path, server) as rig:
        coverage = reports_pb2.CoverageReport(pub_key=rig.keys.key_bytes, timestamp=1)
        rig.keys.sign(coverage)
        rig.outbox.enqueue("coverage", coverage, 0, None)
        behind = rig.witness(1)
        await eventually(lambda: rig.outbox.depth() == 0, timeout_s=5)
    assert list(oracle.stored) == [behind]
    assert rig.outbox.drops() == {"rejected_unimplemented": 1}


@with_oracle
async def test_reports_past_their_window_are_dropped_unsent(tmp_path, oracle, server) -> None:
    server.stop()
    async with Rig(tmp_path, server) as rig:
        rig.witness(1, expires_s=180)
        keep = rig.witness(2, expires_s=None)
        await advance_until(rig.clock, lambda: rig.outbox.drops().get("expired") == 1,
                            step_s=60)
        server.start()
        await advance_until(rig.clock, lambda: rig.outbox.depth() == 0, step_s=60)
    assert list(oracle.stored) == [keep]


def test_an_outbox_write_failure_backs_off_instead_of_crashing(tmp_path: Path) -> None:
    """A full disk can refuse even the ack's delete: the report stays and goes again later
    (the oracle dedups by content hash), and the task lives on: no systemd restart loop."""
    from hotspot.errors import OutboxFull
    from pocnet.wire import ingest_pb2

    class FlakyOutbox(Outbox):
        failures = 2

        def ack(self, seq: int) -> None:
            if self.failures:
                self.failures -= 1
                raise OutboxFull("outbox: write failed: the disk is full")
            super().ack(seq)

    class Sink:
        def __init__(self) -> None:
            self.sent: list[bytes] = []

        async def submit(self, kind, report):
            self.sent.append(signing.report_id(report))
            return ingest_pb2.ReportAck(id=self.sent[-1])

    async def go() -> tuple[list[bytes], bytes, int]:
        clock = FakeClock()
        depth: Watch[int] = Watch(0)
        outbox = FlakyOutbox(tmp_path / "o.sqlite", on_change=depth.set)
        sink = Sink()
        uploader = Uploader(task_outbox(outbox), sink, depth, clock, Backoff(random.Random(1)),
                            HotspotMetrics())
        report_id = outbox.enqueue("witness", reports_pb2.WitnessReport(signal=-1), 0)
        stop = asyncio.Event()
        task = asyncio.create_task(uploader.run(stop))
        await clock.advance(60)
        stop.set()
        await task                              # returned normally: it never crashed
        return sink.sent, report_id, outbox.depth()

    sent, report_id, left = asyncio.run(go())
    assert sent == [report_id] * 3 and left == 0


def test_a_report_the_oracle_keeps_failing_does_not_block_the_others(tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="hotspot.uploader")
    with_oracle(_keeps_failing)(tmp_path)
    lines = [r.getMessage() for r in caplog.records if getattr(r, "event", "") == "upload_backoff"]
    assert lines and all("witness report not delivered" in line for line in lines)
    assert "INTERNAL: poisoned row" in lines[0]


async def _keeps_failing(tmp_path, oracle, server) -> None:
    """INTERNAL is retried (it may be the oracle's passing trouble), but that report waits
    its own backoff: the witnesses behind it are delivered while they are still valid, and
    it is retried until its window closes, then dropped as expired and counted."""
    tries: list[int] = []

    def reject(kind, report):
        if report.signal == -1000:
            tries.append(1)
            return grpc.StatusCode.INTERNAL, "poisoned row"
        return None

    oracle.reject = reject
    async with Rig(tmp_path, server) as rig:
        start_ns = rig.clock.now_ns()
        stuck = rig.witness(0, expires_s=180)              # the soonest to expire: tried first
        behind = [rig.witness(n, expires_s=190) for n in range(1, 5)]
        await advance_until(rig.clock, lambda: set(behind) <= set(oracle.stored)
                            and rig.outbox.depth() <= 1, step_s=1)   # stored and acked
        # Delivered while the poisoned one was still queued and valid, not after it expired.
        assert tries and rig.outbox.depth() == 1 and rig.outbox.drops() == {}
        assert rig.clock.now_ns() - start_ns < 180 * NS_PER_S
        await advance_until(rig.clock, lambda: rig.outbox.depth() == 0, step_s=10)
        assert rig.clock.now_ns() - start_ns > 180 * NS_PER_S   # held until its window closed
    assert stuck not in oracle.stored and sorted(oracle.stored) == sorted(behind)
    assert len(tries) >= 2 * 3                                  # retried (stream + unary each)
    assert rig.outbox.drops() == {"expired": 1}


@with_oracle
async def test_a_failing_coverage_report_waits_behind_witnesses_and_is_kept(
        tmp_path, oracle, server) -> None:
    """A coverage report (a day to live) queued first goes after the witnesses, keeps its
    own retry time while the oracle fails it, and is delivered once the oracle recovers."""
    failing = [True]
    tries: list[int] = []

    def reject(kind, report):
        if kind == "coverage" and failing[0]:
            tries.append(1)
            return grpc.StatusCode.UNKNOWN, "exception in servicer"
        return None

    oracle.reject = reject
    async with Rig(tmp_path, server) as rig:
        report = reports_pb2.CoverageReport(pub_key=rig.keys.key_bytes, timestamp=7)
        rig.keys.sign(report)
        now = rig.clock.now_ns()
        cover = rig.outbox.enqueue("coverage", report, now, now + 86_400 * NS_PER_S)
        witnesses = [rig.witness(n) for n in range(3)]
        await eventually(lambda: len(oracle.stored) == 3)
        assert list(oracle.stored) == witnesses                 # the witnesses went first
        await advance_until(rig.clock, lambda: rig.outbox.peek(1)[0].attempts >= 3, step_s=20)
        # None in flight: the uploader is back asleep on the fake clock (its backoff or the
        # held report's turn), so its last refusal is recorded; on a busy machine that can
        # take longer than the settle time.
        await quiet(lambda: (len(tries), rig.outbox.peek(1)[0].attempts),
                    idle=lambda: rig.clock.next_deadline_ns is not None)
        (held,) = rig.outbox.peek(5)
        assert held.next_attempt_ns > rig.clock.now_ns()        # waiting its own turn
        assert rig.outbox.peek(5, rig.clock.now_ns()) == []
        late = rig.witness(99)                                  # not stuck behind it
        await eventually(lambda: late in oracle.stored)
        failing[0] = False
        await advance_until(rig.clock, lambda: rig.outbox.depth() == 0, step_s=20)
    assert list(oracle.stored) == [*witnesses, late, cover]
    assert rig.outbox.drops() == {}


# The statuses the oracle's stream guard ends a session with (oracle/stream_guard.py).
STREAM_ENDINGS = [
    (grpc.StatusCode.UNAVAILABLE, "no report for 600 s: stream closed"),
    (grpc.StatusCode.ABORTED, "replaced by a newer session of the same device key"),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, "too many streams from 127.0.0.1 (at most 1 sessions)"),
]


def _stream_ended_lines(caplog) -> list[tuple[str, str]]:
    return [(r.code, r.reason) for r in caplog.records
            if getattr(r, "event", "") == "stream_ended"]


@pytest.mark.parametrize(("code", "reason"), STREAM_ENDINGS, ids=lambda v: str(v)[:20])
def test_a_stream_the_oracle_ends_is_logged_and_reopened(tmp_path, caplog, code,
                                                         reason) -> None:
    """Ended between reports, the stream's own status is logged once and the next report
    goes on a new stream: it was never sent, so no unary call is needed to learn its fault."""
    caplog.set_level(logging.INFO, logger="hotspot.client.ingest")

    async def scenario(tmp_path, oracle, server) -> None:
        async with Rig(tmp_path, server) as rig:
            first = rig.witness(1)
            await eventually(lambda: rig.outbox.depth() == 0)
            assert oracle.end_streams(code, reason) == 1
            await eventually(lambda: not rig.client.streaming)    # the client saw it end
            second = rig.witness(2)
            await eventually(lambda: rig.outbox.depth() == 0)
        assert list(oracle.stored) == [first, second]
        assert oracle.sessions == 2 and oracle.unary == 0 and oracle.submissions == 2

    with_oracle(scenario)(tmp_path)
    assert _stream_ended_lines(caplog) == [(code.name, reason)]
    assert "report stream failed" not in caplog.text                # one line, not two


def test_a_stream_ended_with_a_report_in_flight_logs_why_and_reopens(tmp_path, caplog) -> None:
    """The report in flight goes unary (was it its fault?); the one after reopens a stream."""
    caplog.set_level(logging.INFO, logger="hotspot.client.ingest")
    reject = _fails_once(grpc.StatusCode.UNAVAILABLE, "commit timed out")

    async def scenario(tmp_path, oracle, server) -> None:
        oracle.reject = reject
        async with Rig(tmp_path, server) as rig:
            first = rig.witness(1)
            await eventually(lambda: rig.outbox.depth() == 0)
            second = rig.witness(2)
            await eventually(lambda: rig.outbox.depth() == 0)
        assert sorted(oracle.stored) == sorted([first, second])
        assert oracle.unary == 1 and oracle.sessions == 2

    with_oracle(scenario)(tmp_path)
    assert _stream_ended_lines(caplog) == [("UNAVAILABLE", "commit timed out")]
    assert "report stream failed" not in caplog.text


@pytest.mark.parametrize("when", ["open", "session_init"])
def test_a_stream_the_oracle_refuses_is_not_retried_for_a_while(tmp_path, when,
                                                                  caplog) -> None:
    """The oracle's stream limits refuse a stream (a key not onboarded is refused at its
    session init) and say for how long: the reports go unary, without a refused stream each,
    until then."""
    caplog.set_level(logging.INFO, logger="hotspot.client.ingest")
    refusal = (grpc.StatusCode.RESOURCE_EXHAUSTED, "all 90 report-stream slots for hotspots "
               "not onboarded are busy")

    async def scenario(tmp_path, oracle, server) -> None:
        setattr(oracle, "stream_refusal" if when == "open" else "session_refusal", refusal)
        async with Rig(tmp_path, server) as rig:
            ids = [rig.witness(n) for n in range(3)]
            await eventually(lambda: rig.outbox.depth() == 0)
            assert list(oracle.stored) == ids
            assert oracle.unary == 3 and oracle.stream_calls == 1 and oracle.sessions == 0
            oracle.stream_refusal = oracle.session_refusal = None
            await rig.clock.advance(oracle.retry_after_s - 1)
            rig.witness(3)
            await eventually(lambda: rig.outbox.depth() == 0)
            assert oracle.unary == 4 and oracle.stream_calls == 1      # still cooling down
            await rig.clock.advance(1)
            rig.witness(4)
            await eventually(lambda: rig.outbox.depth() == 0)
            assert oracle.unary == 4 and oracle.sessions == 1          # streams again

    with_oracle(scenario)(tmp_path)
    refused = [r for r in caplog.records if getattr(r, "event", None) == "stream_refused"]
    assert len(refused) == 1 and "not onboarded are busy" in refused[0].getMessage()


@with_oracle
async def test_a_rate_limit_on_a_stream_does_not_turn_streams_off(tmp_path, oracle,
                                                                   server) -> None:
    """RESOURCE_EXHAUSTED for one report (a rate limit, an overloaded oracle) is not a refusal
    of streams: it carries no retry-after key, and the next report opens a stream again."""
    oracle.reject = _fails_once(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                "rate limited: 5 reports/s per key")
    async with Rig(tmp_path, server) as rig:
        first = rig.witness(1)
        await eventually(lambda: rig.outbox.depth() == 0 and oracle.unary == 1)
        second = rig.witness(2)
        await eventually(lambda: rig.outbox.depth() == 0)
    assert sorted(oracle.stored) == sorted([first, second])
    assert oracle.sessions == 2 and oracle.unary == 1   # the second went by a new stream


def test_a_refusal_found_on_the_idle_stream_sends_the_next_report_unary_once(tmp_path) -> None:
    """The refusal (with its retry-after) ended the stream between reports: the next report
    must not open a stream, and goes by exactly one unary call per attempt."""
    unavailable_once = _fails_once(grpc.StatusCode.UNAVAILABLE, "commit timed out")

    async def scenario(tmp_path, oracle, server) -> None:
        async with Rig(tmp_path, server) as rig:
            rig.witness(1)
            await eventually(lambda: rig.outbox.depth() == 0)
            assert oracle.end_streams(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                      "too many streams from 127.0.0.1", retry_after_s=300) == 1
            await eventually(lambda: not rig.client.streaming)
            oracle.reject = unavailable_once
            rig.witness(2)
            await eventually(lambda: oracle.unary == 1)        # refused: back to the outbox
            await advance_until(rig.clock, lambda: rig.outbox.depth() == 0, step_s=1)
        assert len(oracle.stored) == 2
        assert oracle.unary == 2                  # one unary call per attempt, never two
        assert oracle.stream_calls == 1 and oracle.sessions == 1

    with_oracle(scenario)(tmp_path)
