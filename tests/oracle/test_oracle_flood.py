"""The flood (issue 10 "Done when"): 100 fresh keys sending witness reports as fast as one
client can against one oracle on loopback. The database grows by no more than the budget keys
not onboarded share, and an onboarded hotspot sending meanwhile has every report acknowledged.
Bounded: 5 s of flood, at most 20,000 reports. (Its ack latency against the flood's is measured
by tests/bench/bench_flood.py; figures in docs/benchmarks.md.)

And the tarpit: a refusal of that shared budget is answered only after
`not_onboarded.refusal_delay_s`, at most `max_held_refusals` at once (the next ones at once), so
a flooder waiting for its answers gets no more than its calls in flight per delay. Its sleep is
injected: nothing here waits for real time."""

from __future__ import annotations

import asyncio
import threading
import time

import grpc
import pytest
from oracle_client import RunningServer, StreamClient
from oracle_factories import assertion, keypair, witness_report

from pocnet import signing
from pocnet.wire import ingest_pb2, service_pb2_grpc

FLOOD_S = 5.0
MAX_REPORTS = 20_000
IN_FLIGHT = 128
FRESH_KEYS = 100
BUDGET = {"reports_per_s": 20.0, "reports_burst": 40.0, "bytes_per_s": 4000.0,
          "bytes_burst": 8000.0}


def _flood(address: str, stop: threading.Event, counts: dict[str, int]) -> None:
    keys = [keypair(10_000 + i) for i in range(FRESH_KEYS)]
    with grpc.insecure_channel(address) as channel:
        submit = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness
        pending: list[grpc.Future] = []
        n = 0
        while not stop.is_set() and n < MAX_REPORTS:
            report = witness_report(keys[n % FRESH_KEYS], timestamp_ns=n + 1)
            pending.append(submit.future(report, timeout=30))
            n += 1
            if len(pending) >= IN_FLIGHT:
                for future in pending:
                    counts["acked" if future.exception() is None else
                           future.exception().code().name] += 1
                pending = []
        for future in pending:
            counts["acked" if future.exception() is None else
                   future.exception().code().name] += 1
    counts["sent"] = n


def test_fresh_keys_cannot_grow_the_database_beyond_their_shared_budget(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    settings, operator = oracle_settings
    # The budget alone, refusals answered at once: the tarpit would slow this flooder (which
    # waits for its answers) to 128 calls a second, and this test is about the disk.
    settings = settings.with_("not_onboarded", **BUDGET, refusal_delay_s=0).with_(
        "rate_limit", per_key_rate_per_s=1000.0, per_key_burst=1000.0)  # per key: no help
    running = RunningServer(settings, operator)
    hotspot = keypair(77)
    running.oracle.registry.assert_location(assertion(hotspot, keypair(78)))
    counts: dict[str, int] = {"acked": 0, "RESOURCE_EXHAUSTED": 0}
    stop = threading.Event()
    try:
        started = time.monotonic()
        flood = threading.Thread(target=_flood, args=(running.address, stop, counts))
        flood.start()
        ours = []
        with grpc.insecure_channel(running.address) as channel:
            submit = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness
            for i in range(40):  # the onboarded hotspot, meanwhile
                report = witness_report(hotspot, timestamp_ns=i + 1)
                ours.append(submit(report, timeout=30).id)
                time.sleep(FLOOD_S / 40)
        stop.set()
        flood.join(60)
        elapsed_s = time.monotonic() - started
        assert not flood.is_alive()
    finally:
        stop.set()
        running.close()
    assert len(set(ours)) == 40  # every report of the onboarded hotspot acknowledged
    repo_rows = _stored_by_others(settings, hotspot.public_key.to_bytes())
    rows, raw_bytes = repo_rows
    allowed_reports = BUDGET["reports_burst"] + BUDGET["reports_per_s"] * elapsed_s
    allowed_bytes = BUDGET["bytes_burst"] + BUDGET["bytes_per_s"] * elapsed_s
    assert counts["sent"] > 10 * allowed_reports  # it was a flood ...
    assert rows == counts["acked"] and rows <= allowed_reports  # ... and the budget held
    assert raw_bytes <= allowed_bytes
    assert counts["RESOURCE_EXHAUSTED"] == counts["sent"] - counts["acked"]


def _stored_by_others(settings, ours: bytes) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    from oracle.storage import open_repository

    repo = open_repository(settings.oracle.database)
    try:
        with repo.transaction() as tx:
            tx.execute("SELECT count(*), coalesce(sum(length(raw)), 0) FROM reports "
                       "WHERE hotspot_key <> ?", (ours,))
            count, size = tx.fetchone()
    finally:
        repo.close()
    return int(count), int(size)


def _own_connection(address: str) -> grpc.Channel:
    """A channel on a connection of its own (grpcio shares one per target by default)."""
    return grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])


class HeldSleeps:
    """The tarpit's sleep on the server's loop: each waits until the test releases it, and
    tells the test thread it has begun."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.most_held = 0  # refusals held at once, at most
        self.begun = threading.Semaphore(0)
        self._waiting: list[asyncio.Future[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, delay_s: float) -> None:
        self._loop = asyncio.get_running_loop()
        future = self._loop.create_future()
        self._waiting.append(future)
        self.most_held = max(self.most_held, sum(not f.done() for f in self._waiting))
        self.delays.append(delay_s)
        self.begun.release()
        await future

    def wait_begun(self, n: int) -> None:
        for _ in range(n):
            assert self.begun.acquire(timeout=60), "no refusal was held"

    def release(self) -> None:
        if self._loop is not None:  # none began: nothing to release
            self._loop.call_soon_threadsafe(
                lambda: [f.set_result(None) for f in self._waiting if not f.done()])


def tarpit_settings(settings, held: int, spread: float = 0.0, per_peer: int = 0,  # type: ignore[no-untyped-def]
                    excess: int = 0):
    """A tarpit that holds `held` refusals 2.5 s each (a random part of `spread`), `per_peer`
    of them of one address (0: no share), `excess` more 60 s each (0: none, past `held` at
    once), one connection allowed exactly the short places one address has, and a shared
    budget of one report (it refills once in 1,000 s): every later stranger's report is held."""
    return settings.with_("connections", max_streams_per_connection=per_peer or held).with_(
        "not_onboarded", reports_per_s=0.001, reports_burst=1.0, refusal_delay_s=2.5,
        refusal_delay_spread=spread, max_held_refusals=held, per_peer_held=per_peer,
        excess_delay_s=60.0, max_held_excess=excess)


def _held_past_the_budget(submit, sleeps: HeldSleeps, stranger, n: int,  # type: ignore[no-untyped-def]
                          timeout_s: float = 30) -> list:  # type: ignore[type-arg]
    """The shared budget's one report of `stranger`, then `n` calls of it whose refusals the
    tarpit holds, once every one of them is held."""
    submit(witness_report(stranger, timestamp_ns=1), timeout=30)
    held = [submit.future(witness_report(stranger, timestamp_ns=2 + i), timeout=timeout_s)
            for i in range(n)]
    sleeps.wait_begun(n)
    return held


@pytest.fixture
def tarpit_server(oracle_settings):  # type: ignore[no-untyped-def]
    """One report of the shared budget (it refills once in 1,000 s), refusals held 2.5 s (no
    random part: `test_held_delays_have_the_configured_random_part` has it), at most 2 at
    once; an onboarded hotspot with a per-key budget of 2 reports."""
    settings, operator = oracle_settings
    settings = tarpit_settings(settings, held=2).with_(
        "rate_limit", per_key_rate_per_s=0.001, per_key_burst=2.0)
    sleeps = HeldSleeps()
    running = RunningServer(settings, operator, sleep=sleeps)
    running.oracle.registry.assert_location(assertion(keypair(77), keypair(78)))
    channel = grpc.insecure_channel(running.address)
    submit = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness
    try:
        yield running, sleeps, submit
    finally:
        sleeps.release()
        channel.close()
        running.close()


def test_a_refusal_of_the_shared_budget_is_held_for_its_delay(tarpit_server) -> None:  # type: ignore[no-untyped-def]
    _, sleeps, submit = tarpit_server
    stranger = keypair(10_001)
    submit(witness_report(stranger, timestamp_ns=1), timeout=30)  # the budget's one report
    refused = submit.future(witness_report(stranger, timestamp_ns=2), timeout=30)
    sleeps.wait_begun(1)
    assert sleeps.delays == [2.5]
    assert not refused.done()  # held: the server has not answered
    sleeps.release()
    error = refused.exception()
    assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "keys not onboarded share" in error.details()


def test_beyond_max_held_refusals_are_answered_at_once(tarpit_server) -> None:  # type: ignore[no-untyped-def]
    running, sleeps, submit = tarpit_server
    stranger = keypair(10_002)
    submit(witness_report(stranger, timestamp_ns=1), timeout=30)
    held = [submit.future(witness_report(stranger, timestamp_ns=2 + i), timeout=30)
            for i in range(2)]
    sleeps.wait_begun(2)  # max_held_refusals = 2, both held
    with _own_connection(running.address) as second:  # the first holds its 2 calls
        third = service_pb2_grpc.IngestServiceStub(second).SubmitWitness.future(
            witness_report(stranger, timestamp_ns=9), timeout=30)
        error = third.exception()  # answered while the two are still held
    assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert not any(f.done() for f in held) and running.oracle.tarpit.held == 2
    assert len(sleeps.delays) == 2
    sleeps.release()
    assert all(f.exception().code() == grpc.StatusCode.RESOURCE_EXHAUSTED for f in held)


def test_a_batch_the_shared_budget_refused_whole_is_answered_after_the_delay(  # type: ignore[no-untyped-def]
        tarpit_server) -> None:
    """On a stream, a stranger's batch with one report the budget let in is answered at once;
    the next, refused whole, waits like a unary refusal (a stream is no faster way to make
    the oracle refuse)."""
    running, sleeps, _ = tarpit_server
    device, session = keypair(10_003), keypair(10_004)

    def batch(*stamps: int) -> ingest_pb2.ReportBatch:
        return ingest_pb2.ReportBatch(reports=[
            ingest_pb2.BatchedReport(witness=witness_report(device, timestamp_ns=t,
                                                            signer=session)) for t in stamps])

    with grpc.insecure_channel(running.address) as channel:
        client = StreamClient(channel)
        client.send(session_init=signing.session_init(device, client.nonce, session))
        client.send(batch=batch(1, 2))  # the budget's one report, and one refused
        first = client.recv().batch_ack.outcomes
        assert [o.WhichOneof("outcome") for o in first] == ["ack", "refused"]
        assert sleeps.delays == []
        client.send(batch=batch(3, 4))
        sleeps.wait_begun(1)
        assert sleeps.delays == [2.5]
        sleeps.release()
        second = client.recv().batch_ack.outcomes
        assert [o.WhichOneof("outcome") for o in second] == ["refused", "refused"]
        assert all("keys not onboarded share" in o.refused.reason for o in second)
        client.close()


def test_an_onboarded_keys_own_rate_limit_is_not_held(tarpit_server) -> None:  # type: ignore[no-untyped-def]
    """The tarpit is for the budget strangers share; a hotspot over its own per-key budget
    hears at once (its client backs off by itself)."""
    _, sleeps, submit = tarpit_server
    hotspot = keypair(77)
    for i in range(2):
        submit(witness_report(hotspot, timestamp_ns=i + 1), timeout=30)
    with pytest.raises(grpc.RpcError) as info:
        submit(witness_report(hotspot, timestamp_ns=3), timeout=30)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "per key" in info.value.details() and sleeps.delays == []


def _advertised_max_streams(port: int) -> int:
    """SETTINGS_MAX_CONCURRENT_STREAMS as the oracle sends it to a new client (a bare HTTP/2
    client: grpc does not show its peer's settings)."""
    import socket

    import h2.config
    import h2.connection
    import h2.events

    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        while True:
            data = sock.recv(65_536)
            assert data, "the oracle closed the connection before its settings"
            if any(isinstance(e, h2.events.RemoteSettingsChanged)
                   for e in conn.receive_data(data)):
                return int(conn.remote_settings.max_concurrent_streams)


def test_one_connection_may_have_at_most_max_streams_per_connection_calls(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    """The tarpit bounds refusals only for calls it can hold: the oracle tells each client
    (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS) to keep at most `max_streams_per_connection`
    calls open on one connection, so a connection's refusals all fit under the held cap."""
    settings, operator = oracle_settings
    running = RunningServer(settings.with_("connections", max_streams_per_connection=7),
                            operator)
    try:
        assert _advertised_max_streams(running.port) == 7
    finally:
        running.close()


def test_by_default_a_connection_may_have_16_calls_all_of_which_the_tarpit_holds(  # type: ignore[no-untyped-def]
        oracle_settings) -> None:
    """On by default (docs/security.md "Limits an operator can tune": 16), and within the
    refusals the default tarpit holds (50), so that a flooder on one connection has every
    refusal held whatever it keeps in flight."""
    from oracle.settings import Settings, held_refusals

    settings, operator = oracle_settings
    running = RunningServer(settings, operator)
    try:
        assert _advertised_max_streams(running.port) == 16
    finally:
        running.close()
    assert Settings().connections.max_streams_per_connection == 16 <= held_refusals(Settings())


async def _grpclib_calls(port: int, first, reports: list) -> list[str]:  # type: ignore[no-untyped-def, type-arg]
    """`first` alone, then `reports` at once, on one grpclib channel (the hotspot's client
    library); how each of `reports` ended, as its status name. The first call waits for the
    oracle's SETTINGS: grpclib opens streams on a new connection before they arrive, and gRPC
    resets what exceeds the limit then (ENHANCE_YOUR_CALM; docs/security.md)."""
    from grpclib.client import Channel
    from grpclib.exceptions import GRPCError

    from pocnet.wire import service_grpc

    channel = Channel("127.0.0.1", port)
    submit = service_grpc.IngestServiceStub(channel).SubmitWitness

    async def one(report) -> str:  # type: ignore[no-untyped-def]
        try:
            await submit(report, timeout=60)
            return "OK"
        except GRPCError as exc:
            return exc.status.name
        except Exception as exc:  # a reset stream: what the test must not see
            return type(exc).__name__

    try:
        assert await one(first) == "OK"  # the budget's one report
        return list(await asyncio.gather(*(one(r) for r in reports)))
    finally:
        channel.close()


@pytest.mark.parametrize("client", ["grpcio", "grpclib"])
def test_a_client_past_max_streams_per_connection_queues_and_every_call_ends_normally(  # type: ignore[no-untyped-def]
        oracle_settings, client: str) -> None:
    """A client with more calls than a connection may hold keeps the rest until one ends, and
    the oracle refuses none of them at the HTTP/2 level. With gRPC's default count (a stream
    counts until its call is freed, after the client saw it end) calls sent as others ended
    were reset: UNAVAILABLE for grpcio, StreamTerminatedError for grpclib (oracle/server.py).
    Here the tarpit holds each call until the test lets it go, so the calls on the connection
    are at their limit (4) the whole time: 24 calls go through in 6 rounds of 4, and every
    one ends with the tarpit's own refusal."""
    settings, operator = oracle_settings
    settings = tarpit_settings(settings, held=4)
    sleeps = HeldSleeps()
    running = RunningServer(settings, operator, sleep=sleeps)
    stranger = keypair(10_007)
    reports = [witness_report(stranger, timestamp_ns=2 + i) for i in range(24)]
    outcome: list[str] = []
    try:
        with grpc.insecure_channel(running.address) as channel:
            first = witness_report(stranger, timestamp_ns=1)  # the budget's one report
            if client == "grpcio":
                submit = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness
                submit(first, timeout=30)
                futures = [submit.future(r, timeout=60) for r in reports]
            else:
                calls = threading.Thread(target=lambda: outcome.extend(asyncio.run(
                    _grpclib_calls(running.port, first, reports))))
                calls.start()
            for _ in range(6):  # each round: the connection's 4 calls held, then answered
                sleeps.wait_begun(4)
                sleeps.release()
            if client == "grpcio":
                outcome = [f.exception().code().name for f in futures]
            else:
                calls.join(60)
    finally:
        sleeps.release()
        running.close()
    assert outcome == ["RESOURCE_EXHAUSTED"] * 24
    assert sleeps.most_held == 4 and len(sleeps.delays) == 24


def test_held_delays_have_the_configured_random_part(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    """`refusal_delay_spread` reaches the server's tarpit: with delay 2.5 s and spread 0.5 each
    held refusal waits a delay of its own within [1.25, 2.5] s, so refusals held together are
    not answered together. (The draw itself: test_oracle_ratelimit.py, seeded.)"""
    settings, operator = oracle_settings
    settings = tarpit_settings(settings, held=8, spread=0.5)
    sleeps = HeldSleeps()
    running = RunningServer(settings, operator, sleep=sleeps)
    stranger = keypair(10_005)
    try:
        with grpc.insecure_channel(running.address) as channel:
            submit = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness
            held = _held_past_the_budget(submit, sleeps, stranger, 8)
            assert all(1.25 <= d <= 2.5 for d in sleeps.delays), sleeps.delays
            assert len(set(sleeps.delays)) == 8  # a delay of its own each
            sleeps.release()
            assert all(f.exception().code() == grpc.StatusCode.RESOURCE_EXHAUSTED for f in held)
    finally:
        sleeps.release()
        running.close()


class MeteredTarpitServer(RunningServer):
    """A server whose tarpit's sleep is the test's, with its metrics endpoint wired as `serve`
    wires it (oracle/server.py)."""

    async def _create(self):  # type: ignore[no-untyped-def]
        from oracle_client import _FixedRegion

        from oracle.metrics import OracleMetrics
        from oracle.server import build_oracle, create_server

        self.metrics = OracleMetrics()
        oracle = build_oracle(self.settings, locator=lambda: _FixedRegion(),
                              metrics=self.metrics, sleep=self._sleep)
        server, port = create_server(self.settings, "127.0.0.1:0", oracle)
        await server.start()
        self.metrics.watch(oracle.committer, oracle.repo, self.settings.payout.ledger,
                           oracle.tarpit)
        self.metrics_port = self.metrics.start("127.0.0.1:0")
        return server, port

    def close(self) -> None:
        self.metrics.stop()
        super().close()


def test_held_refusals_and_those_answered_at_once_are_exported(oracle_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The operator sees how many refusals the tarpit holds, at the short delay and in the
    excess tier, and how many it answered at once because both were full (the flood keeps more
    calls in flight than it holds)."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    def scrape(port: int) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            text = reply.read().decode()
        return {s.name: s.value for f in text_string_to_metric_families(text)
                for s in f.samples}

    settings, operator = oracle_settings
    settings = tarpit_settings(settings, held=2, spread=0.5, excess=1).with_(
        "payout", ledger=str(tmp_path / "ledger.db"))
    sleeps = HeldSleeps()
    running = MeteredTarpitServer(settings, operator, sleep=sleeps)
    stranger = keypair(10_006)
    try:
        with grpc.insecure_channel(running.address) as channel:
            submit = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness
            assert scrape(running.metrics_port)["pocnet_oracle_refusals_held"] == 0
            submit(witness_report(stranger, timestamp_ns=1), timeout=30)
            held = [submit.future(witness_report(stranger, timestamp_ns=2 + i), timeout=30)
                    for i in range(2)]
            sleeps.wait_begun(2)
            with (_own_connection(running.address) as second,
                  _own_connection(running.address) as third):
                held.append(service_pb2_grpc.IngestServiceStub(second).SubmitWitness.future(
                    witness_report(stranger, timestamp_ns=8), timeout=30))
                sleeps.wait_begun(1)  # the third: the excess tier's one place
                assert service_pb2_grpc.IngestServiceStub(third).SubmitWitness.future(
                    witness_report(stranger, timestamp_ns=9), timeout=30).exception()
                m = scrape(running.metrics_port)
                assert m["pocnet_oracle_refusals_held"] == 2
                assert m["pocnet_oracle_refusals_held_excess"] == 1
                assert m["pocnet_oracle_refusals_answered_at_once_total"] == 1
                sleeps.release()
                assert all(f.exception() is not None for f in held)
            m = scrape(running.metrics_port)
            assert m["pocnet_oracle_refusals_held"] == m["pocnet_oracle_refusals_held_excess"] == 0
            assert m["pocnet_oracle_refusals_answered_at_once_total"] == 1
    finally:
        sleeps.release()
        running.close()


def test_past_its_share_an_address_waits_the_excess_delay_and_past_both_tiers_at_once(  # type: ignore[no-untyped-def]
        oracle_settings) -> None:
    """The tarpit spreads answers, not arrivals: a flooder on K connections has 16 K calls
    arrive at once each time it is answered. One address (here 127.0.0.1, on two
    connections) has `per_peer_held` refusals held at the short delay; exactly past that share
    its refusals wait `excess_delay_s`, another address (::1) still has its own share, and past
    the excess tier's places a refusal is answered at once."""
    settings, operator = oracle_settings
    settings = tarpit_settings(settings, held=4, per_peer=2, excess=2)
    sleeps = HeldSleeps()
    running = RunningServer(settings, operator, sleep=sleeps, extra_address="[::1]:0")
    stranger = keypair(10_007)
    calls = []
    try:
        with (_own_connection(running.address) as first,
              _own_connection(running.address) as second,
              _own_connection(f"[::1]:{running.extra_port}") as other_address,
              _own_connection(running.address) as third):
            submits = [service_pb2_grpc.IngestServiceStub(c).SubmitWitness
                       for c in (first, second, other_address, third)]
            submits[0](witness_report(stranger, timestamp_ns=1), timeout=30)  # the budget's
            stamp = iter(range(2, 100))

            def send(i: int, n: int) -> None:
                calls.extend(submits[i].future(witness_report(stranger, timestamp_ns=next(stamp)),
                                               timeout=120) for _ in range(n))
                sleeps.wait_begun(n)

            send(0, 2)
            assert sleeps.delays == [2.5, 2.5]  # the address's share
            send(1, 2)
            assert sleeps.delays[2:] == [60.0, 60.0]  # the same address, past its share
            send(2, 1)
            assert sleeps.delays[4:] == [2.5]  # another address: a share of its own
            tarpit = running.oracle.tarpit
            assert (tarpit.held, tarpit.held_excess, tarpit.answered_at_once) == (3, 2, 0)
            error = submits[3].future(witness_report(stranger, timestamp_ns=99),
                                      timeout=30).exception()  # both tiers full
            assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert tarpit.answered_at_once == 1 and not any(f.done() for f in calls)
            sleeps.release()
            assert all(f.exception().code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                       for f in calls)
    finally:
        sleeps.release()
        running.close()


def test_refusals_held_in_the_excess_tier_have_call_slots_of_their_own(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    """13 refusals held in the excess tier on a server of 10 call slots: gRPC refuses a call
    past its `maximum_concurrent_rpcs`, so without slots of their own the 11th would be
    refused at once, and an onboarded hotspot's call too; with them every refusal is held and
    the hotspot is answered."""
    settings, operator = oracle_settings
    settings = tarpit_settings(settings, held=1, per_peer=1, excess=13).with_(
        "server", max_concurrent_rpcs=10).with_("connections", max_streams_per_connection=0)
    sleeps = HeldSleeps()
    running = RunningServer(settings, operator, sleep=sleeps)
    running.oracle.registry.assert_location(assertion(keypair(77), keypair(78)))
    stranger = keypair(10_006)
    try:
        with grpc.insecure_channel(running.address) as channel:
            submit = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness
            held = _held_past_the_budget(submit, sleeps, stranger, 13, timeout_s=120)
            assert running.oracle.tarpit.held_excess == 13  # none short: the tarpit holds 0
            ack = submit(witness_report(keypair(77), timestamp_ns=5), timeout=30)
            assert ack.id
            assert not any(f.done() for f in held)
            sleeps.release()
            assert all(f.exception().code() == grpc.StatusCode.RESOURCE_EXHAUSTED for f in held)
    finally:
        sleeps.release()
        running.close()


def _resets_once_the_budget_is_spent(running: RunningServer, port: int, sleeps: HeldSleeps,
                                     stranger, calls: int) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """The stranger spends the shared budget's one report on the first listener, then resets
    `calls` calls on a connection of its own to `port` (`_calls_through_after_resets`)."""
    with grpc.insecure_channel(running.address) as other:
        service_pb2_grpc.IngestServiceStub(other).SubmitWitness(
            witness_report(stranger, timestamp_ns=1), timeout=30)
    with _own_connection(f"127.0.0.1:{port}") as channel:
        submit = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness
        return _calls_through_after_resets(submit, sleeps, running.oracle.tarpit, stranger,
                                           calls)


def _calls_through_after_resets(submit, sleeps: HeldSleeps, tarpit, stranger,  # type: ignore[no-untyped-def]
                                n: int) -> tuple[int, str]:
    """Up to `n` calls one after another on one connection, each reset by its client once the
    tarpit holds it; how many the tarpit held, and how the first one it did not ended."""
    for i in range(n):
        call = submit.future(witness_report(stranger, timestamp_ns=100 + i), timeout=60)
        while not sleeps.begun.acquire(timeout=0.05):  # held, or refused before it got there
            if call.done():
                return i, call.exception().code().name
        call.cancel()
        # The server has seen the reset: the place is free again, or kept through the reset.
        while tarpit.held != 0 and tarpit.reset_while_held != i + 1:
            time.sleep(0.01)
    return n, ""


@pytest.mark.parametrize(("listener", "through", "ended", "held"), [
    ("first", 6, "", 0),  # a reset frees the call's place in HTTP/2's count and the tarpit's
    ("hotspot", 3, "UNAVAILABLE", 3),  # kept: > 2 calls still allocated refuses the next
])
def test_on_the_hotspot_listener_a_reset_call_keeps_its_place_until_its_delay_ends(  # type: ignore[no-untyped-def]
        oracle_settings, listener: str, through: int, ended: str, held: int) -> None:
    """A flooder whose deadline is shorter than the tarpit's delay resets each held call and
    sends again at once. On the first listener the reset call leaves the tarpit and the
    connection's count at once, so such a client is bounded by nothing but the server's speed
    (and what it sends piles up in gRPC's queue of calls not yet taken up, until gRPC cancels
    queued calls, whoever's: docs/security.md). On the hotspot listener
    (`connections.hotspot_listen`) the tarpit keeps the reset call until its delay ends, and
    gRPC counts it against the connection's limit until then: at 2 calls a connection gRPC
    takes a third (it refuses a new stream while more than the limit are allocated: its
    chttp2 transport's overload protection) and refuses the fourth with REFUSED_STREAM, which
    the client sees as UNAVAILABLE, before the tarpit or any code of ours sees it."""
    settings, operator = oracle_settings
    settings = tarpit_settings(settings, held=8).with_(
        "connections", max_streams_per_connection=2, hotspot_listen="127.0.0.1:0")
    sleeps = HeldSleeps()
    running = RunningServer(settings, operator, sleep=sleeps)
    port = running.port if listener == "first" else running.server.hotspot_port
    tarpit = running.oracle.tarpit
    stranger = keypair(10_011)
    try:
        outcome = _resets_once_the_budget_is_spent(running, port, sleeps, stranger, 6)
        assert outcome == (through, ended)
        assert (tarpit.held, tarpit.reset_while_held) == (held, held)
    finally:
        sleeps.release()
        running.close()
    assert tarpit.held == 0  # released: every held call ended


def test_a_default_oracle_keeps_reset_calls_places_on_its_hotspot_address(  # type: ignore[no-untyped-def]
        oracle_settings) -> None:
    """With [connections] and the tarpit's places at their defaults, the server has its
    hotspot listener (beside a first listener on port 0, on a free port of its own: the
    default's 7081 otherwise), and there a connection whose client resets each held call has
    `max_streams_per_connection` (16) and one more taken (17) before gRPC refuses the 18th
    with REFUSED_STREAM (UNAVAILABLE): the default install's hotspot address is the one a
    flooder that cancels its calls cannot crowd. Only the shared budget is shrunk (one report),
    so that every later call of the stranger is a held refusal."""
    settings, operator = oracle_settings
    settings = settings.with_("not_onboarded", reports_per_s=0.001, reports_burst=1.0)
    assert settings.connections == type(settings.connections)()  # the defaults
    sleeps = HeldSleeps()
    running = RunningServer(settings, operator, sleep=sleeps)
    tarpit = running.oracle.tarpit
    stranger = keypair(10_015)
    try:
        assert running.server.hotspot_port not in (None, running.port)
        outcome = _resets_once_the_budget_is_spent(running, running.server.hotspot_port, sleeps,
                                                   stranger, 18)
        assert outcome == (17, "UNAVAILABLE")
        assert (tarpit.held, tarpit.reset_while_held) == (17, 17)
    finally:
        sleeps.release()
        running.close()
    assert tarpit.held == 0


def test_the_hotspot_listener_serves_the_same_oracle(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    """Same services and domain objects on both listeners: a report acknowledged through the
    hotspot listener is the oracle's, a stranger's refusal there is held by the same tarpit,
    and health says SERVING there too."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    settings, operator = oracle_settings
    settings = tarpit_settings(settings, held=2).with_(
        "connections", hotspot_listen="127.0.0.1:0")
    sleeps = HeldSleeps()
    running = RunningServer(settings, operator, sleep=sleeps)
    hotspot = keypair(77)
    running.oracle.registry.assert_location(assertion(hotspot, keypair(78)))
    stranger = keypair(10_012)
    address = f"127.0.0.1:{running.server.hotspot_port}"
    try:
        assert running.server.hotspot_port not in (None, running.port)
        with grpc.insecure_channel(address) as channel:
            submit = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness
            submit(witness_report(hotspot, timestamp_ns=1), timeout=30)
            held = _held_past_the_budget(submit, sleeps, stranger, 1)
            assert running.oracle.tarpit.held == 1 and not held[0].done()
            sleeps.release()
            assert held[0].exception().code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            check = health_pb2_grpc.HealthStub(channel).Check
            assert check(health_pb2.HealthCheckRequest(), timeout=30).status == \
                health_pb2.HealthCheckResponse.SERVING
        assert running.oracle.repo.count_reports() >= 2  # the hotspot's and the stranger's one
    finally:
        sleeps.release()
        running.close()


def test_refusals_reset_while_held_are_exported(oracle_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The operator sees how many held refusals on the hotspot listener had their call reset by
    the client (a flooder that cancels its calls), counted when the server sees the reset."""
    import urllib.request

    settings, operator = oracle_settings
    settings = tarpit_settings(settings, held=2).with_(
        "payout", ledger=str(tmp_path / "ledger.db")).with_(
        "connections", hotspot_listen="127.0.0.1:0")
    sleeps = HeldSleeps()
    running = MeteredTarpitServer(settings, operator, sleep=sleeps)
    stranger = keypair(10_013)
    try:
        with _own_connection(f"127.0.0.1:{running.server.hotspot_port}") as channel:
            submit = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness
            held = _held_past_the_budget(submit, sleeps, stranger, 1)
            held[0].cancel()
            while running.oracle.tarpit.reset_while_held != 1:  # the server saw the reset
                time.sleep(0.01)
        with urllib.request.urlopen(f"http://127.0.0.1:{running.metrics_port}/metrics",
                                    timeout=10) as reply:
            text = reply.read().decode()
        assert "pocnet_oracle_refusals_reset_while_held_total 1.0" in text
    finally:
        sleeps.release()
        running.close()


def test_stopping_the_server_ends_the_refusals_held_through_resets(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    """A reset call the hotspot listener keeps would otherwise outlive the grace period: the
    server's stop ends it (Tarpit.close) without its sleep ever being released."""
    settings, operator = oracle_settings
    settings = tarpit_settings(settings, held=2).with_("connections", hotspot_listen="127.0.0.1:0")
    sleeps = HeldSleeps()
    running = RunningServer(settings, operator, sleep=sleeps)
    tarpit = running.oracle.tarpit
    try:
        with _own_connection(f"127.0.0.1:{running.server.hotspot_port}") as channel:
            submit = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness
            held = _held_past_the_budget(submit, sleeps, keypair(10_014), 1)
            held[0].cancel()
            while tarpit.reset_while_held != 1:  # the server saw the reset and kept the call
                time.sleep(0.01)
            running.call(running.server.stop_serving(0))  # not released: close ends it
            assert tarpit.held == 0
    finally:
        sleeps.release()
        running.close()
