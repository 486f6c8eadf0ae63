"""Several oracle replicas on one PostgreSQL database: the same reports submitted to two
replicas at once are stored once, and both answer with the same id and receive time."""

from __future__ import annotations

import threading

import grpc
import pytest
from oracle_client import RunningServer
from oracle_factories import beacon_report, keypair, witness_report

from oracle.storage import open_repository
from oracle.storage.repository import NewReport
from oracle.verifier.params import VerifierParams
from oracle.verifier.runner import VerificationRunner
from pocnet.beacon import ENTROPY_LIFETIME_S
from pocnet.wire import entropy_pb2, service_pb2_grpc

pytestmark = pytest.mark.postgres


def test_two_replicas_store_each_report_once(oracle_settings, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    settings, operator = oracle_settings
    settings = settings.with_("oracle", database=pg_url).with_("ingest", signature_processes=0)
    replicas = [RunningServer(settings.with_("oracle", worker_id=f"r{i}"), operator)
                for i in range(2)]
    reports = [witness_report(keypair(700 + i)) for i in range(60)]
    acks: list[list] = [[], []]  # type: ignore[type-arg]
    try:
        def submit(i: int) -> None:
            with grpc.insecure_channel(replicas[i].address) as channel:
                stub = service_pb2_grpc.IngestServiceStub(channel)
                futures = [stub.SubmitWitness.future(r, timeout=10) for r in reports]
                acks[i] = [f.result() for f in futures]

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for a, b in zip(*acks, strict=True):
            assert a.id == b.id and a.received_ms == b.received_ms
            assert [a.duplicate, b.duplicate].count(False) == 1
        assert replicas[0].oracle.repo.count_reports() == 60
    finally:
        for replica in replicas:
            replica.close()


def test_a_beacon_on_entropy_another_replica_issued_waits_for_its_window(  # type: ignore[no-untyped-def]
    oracle_settings, pg_url: str,
) -> None:
    """A hotspot fetches entropy from replica A and its beacon reaches replica B: B finds
    the value in the shared table, so the beacon waits for the entropy's window to close
    (timestamp + 180 s, docs/protocol.md §4, + witness grace) like one on B's own entropy,
    instead of being verified at once, before its witnesses are in."""
    settings, operator = oracle_settings
    settings = settings.with_("oracle", database=pg_url).with_("ingest", signature_processes=0)
    replicas = [RunningServer(settings.with_("oracle", worker_id=f"r{i}"), operator)
                for i in range(2)]
    try:
        with grpc.insecure_channel(replicas[0].address) as channel:
            entropy = service_pb2_grpc.EntropyServiceStub(channel).GetEntropy(
                entropy_pb2.EntropyRequest(), timeout=10)
        beacon = beacon_report(keypair(42), entropy.data, entropy.timestamp)
        with grpc.insecure_channel(replicas[1].address) as channel:
            ack = service_pb2_grpc.IngestServiceStub(channel).SubmitBeacon(beacon, timeout=10)
        import psycopg

        with psycopg.connect(pg_url) as db:
            ready = db.execute("SELECT ready_ms FROM reports WHERE id = %s",
                               (ack.id,)).fetchone()[0]  # type: ignore[index]
        grace = settings.verifier.witness_grace_ms
        assert ready == (entropy.timestamp + ENTROPY_LIFETIME_S) * 1000 + grace
    finally:
        for replica in replicas:
            replica.close()


def test_runners_on_separate_connections_claim_disjoint_sets(pg_url: str) -> None:
    def beacon(n: int) -> NewReport:
        return NewReport(n.to_bytes(32, "big"), "beacon", b"\x01" + b"a" * 32, 500, b"raw",
                         b"d" * 51, b"e" * 32, 1_000)

    repos = [open_repository(pg_url) for _ in range(3)]
    try:
        repos[0].insert_reports([beacon(i) for i in range(40)])
        claimed: list[list[bytes]] = [[] for _ in repos]

        def claim(i: int) -> None:
            while batch := repos[i].claim_beacons(f"r{i}", 2_000, 60_000, 3):
                claimed[i] += [r.id for r in batch]

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        everything = [i for ids in claimed for i in ids]
        assert len(everything) == len(set(everything)) == 40
        runner = VerificationRunner(repos[0], VerifierParams(), lambda: 2_000, worker="r9")
        assert runner.run_once(now_ms=2_000).beacons == 0  # all claimed, leases running
    finally:
        for repo in repos:
            repo.close()


def test_overlapping_batches_from_two_replicas_wait_instead_of_deadlocking(
    pg_url: str,
) -> None:
    """Replica B's group commit holds [r2, r1] while replica A's transaction has inserted r1
    and goes on to insert r2. Rows are inserted in id order, so B waits on r1 before it
    touches r2: A finishes, B answers both as duplicates. In arrival order B would hold r2
    and wait on r1 while A waits on r2, and PostgreSQL would abort one of them as a deadlock
    (a batch refused with UNAVAILABLE)."""
    import psycopg

    def row(n: int) -> NewReport:
        return NewReport(n.to_bytes(32, "big"), "witness", b"\x01" + b"w" * 32, 100 + n,
                         b"raw", b"d" * 51, None, 100 + n)

    r1, r2 = row(1), row(2)
    replica_b = open_repository(pg_url)
    answer: list = []  # type: ignore[type-arg]
    try:
        with psycopg.connect(pg_url) as replica_a:
            insert = ("INSERT INTO reports (id, kind, hotspot_key, received_ms, raw, ready_ms, "
                      "status) VALUES (%s, 1, %s, %s, %s, %s, 'pending')")
            replica_a.execute(insert, (r1.id, r1.hotspot_key, 7, b"a", 7))
            thread = threading.Thread(
                target=lambda: answer.append(replica_b.insert_reports([r2, r1])))
            thread.start()
            with psycopg.connect(pg_url, autocommit=True) as watcher:
                while not watcher.execute(  # B is blocked on A's row lock: an event
                    "SELECT 1 FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'"
                ).fetchone():
                    assert thread.is_alive(), answer
                    threading.Event().wait(0.01)
            replica_a.execute(insert, (r2.id, r2.hotspot_key, 8, b"a", 8))
            replica_a.commit()
        thread.join()
        assert [(r.received_ms, r.duplicate) for r in answer[0]] == [(8, True), (7, True)]
    finally:
        replica_b.close()


def test_one_replica_prunes_at_a_time(pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """While one replica's retention holds the pruning lock, another's round does nothing
    (it would archive the same batches into a second file); once released, it prunes."""
    from oracle.retention import DAY_MS, PRUNER_LOCK, Pruner

    now_ms = 100 * DAY_MS
    old = NewReport(b"\x07" * 32, "witness", b"\x01" + b"w" * 32, now_ms - 4 * DAY_MS, b"raw",
                    b"d" * 51, None, 0)
    repos = [open_repository(pg_url) for _ in range(2)]
    try:
        repos[0].insert_reports([old])
        repos[0].mark_stale(now_ms, 45 * 60_000)  # verification over: retention may act
        pruner = Pruner(repos[1], 3.0, lambda: now_ms, str(tmp_path))
        with repos[0].exclusive(PRUNER_LOCK) as ours:
            assert ours
            assert pruner.run_once().reports == 0
            assert repos[1].count_reports() == 1 and not list(tmp_path.iterdir())
        result = pruner.run_once()
        assert result.reports == 1 and len(result.archives) == 1
        with repos[1].exclusive(PRUNER_LOCK) as ours:  # released at the end of the round
            assert ours
    finally:
        for repo in repos:
            repo.close()


def test_replicas_starting_together_apply_each_migration_once(pg_url: str) -> None:
    """Two replicas migrate an empty database at the same moment: both wait on the advisory
    lock (held here until both are waiting), then each step is applied by exactly one."""
    import psycopg

    from oracle.storage.migrate import load_migrations
    from oracle.storage.postgres import MIGRATION_LOCK, PostgresRepository

    repos = [PostgresRepository(pg_url) for _ in range(2)]
    applied: list[int] = []
    errors: list[BaseException] = []

    def migrate(repo: PostgresRepository) -> None:
        try:
            applied.append(repo.migrate())
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    try:
        with psycopg.connect(pg_url, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            threads = [threading.Thread(target=migrate, args=(r,)) for r in repos]
            for t in threads:
                t.start()
            while holder.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                 "AND NOT granted").fetchone()[0] < 2:  # type: ignore[index]
                assert all(t.is_alive() for t in threads), errors
                threading.Event().wait(0.01)
            holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        for t in threads:
            t.join()
        assert not errors
        versions = [m.version for m in load_migrations()]
        assert sum(applied) == len(versions)  # each step once, by one or the other
        assert repos[0].schema_version() == versions[-1]
    finally:
        for repo in repos:
            repo.close()
