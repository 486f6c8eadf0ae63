"""The verification runner over storage: ready beacons only, witnesses matched by data, the
verifier's pipeline applied with a storage-backed context, exactly once across workers,
stale after 45 min, re-run of a time range."""

from __future__ import annotations

import gc
import sqlite3
import threading
from decimal import Decimal

import pytest
from oracle_factories import (
    AMSTERDAM,
    allow_maker,
    assertion,
    beacon_report,
    keypair,
    witness_report,
)
from sqlite_costs import vm_steps

from oracle.entropy import EntropyIssuer
from oracle.ingest import Ingestor
from oracle.registry import Registry
from oracle.storage.repository import Repository
from oracle.verifier.model import VerdictRecord
from oracle.verifier.params import VerifierParams
from oracle.verifier.reasons import Reason
from oracle.verifier.runner import GC_YOUNG_THRESHOLD, VerificationRunner
from pocnet.beacon import beacon_payload, beacon_seed
from pocnet.keys import Network, PublicKey
from pocnet.wire import reports_pb2

T0_S = 1_767_225_600 + 3_600  # one hour into a 6-hour window
WINDOW_S = 6 * 3600


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


class _Eu:
    def region_at(self, lat: float, lon: float) -> str | None:
        return "EU868"


A, B, OWNER = keypair(21), keypair(22), keypair(23)
B_LOCATION = (AMSTERDAM[0], AMSTERDAM[1] + 0.07)  # ~4.8 km east


@pytest.fixture
def world(repo: Repository):  # type: ignore[no-untyped-def]
    clock = Clock(T0_S * 1000)
    ingestor = Ingestor(repo, None, Network.MAINNET, clock)  # type: ignore[arg-type]
    registry = Registry(repo, PublicKey.from_bytes, clock, locator=lambda: _Eu())
    allow_maker(repo)
    registry.assert_location(assertion(A, OWNER))
    registry.assert_location(assertion(B, OWNER, lat=B_LOCATION[0], lon=B_LOCATION[1]))
    issuer = EntropyIssuer(repo, keypair(99), lambda: clock.ms / 1000,
                           on_issue=ingestor.remember_entropy)
    return clock, ingestor, issuer


def _store(repo: Repository, ingestor: Ingestor, clock: Clock, kind: str, msg, at_ms: int):  # type: ignore[no-untyped-def]
    clock.ms = at_ms
    row = ingestor.prepare(kind, msg)
    repo.insert_reports([row])
    return row


def _poc(repo, ingestor, clock, issuer, beaconer, witness_kp, start_s):  # type: ignore[no-untyped-def]
    clock.ms = start_s * 1000
    entropy = issuer.issue()
    beacon = beacon_report(beaconer, entropy.data, entropy.timestamp, local_entropy=b"\x09" * 4)
    b = _store(repo, ingestor, clock, "beacon", beacon, start_s * 1000 + 10_000)
    w = witness_report(witness_kp, data=beacon.data, signal=-1100, snr=50,
                       frequency=beacon.frequency)
    w.datarate = beacon.datarate
    from pocnet import signing

    signing.sign(w, witness_kp)
    wrow = _store(repo, ingestor, clock, "witness", w, start_s * 1000 + 10_500)
    return b, wrow


def test_reciprocity_bootstrap_through_storage(repo: Repository, world) -> None:  # type: ignore[no-untyped-def]
    clock, ingestor, issuer = world
    runner = VerificationRunner(repo, VerifierParams(), clock, worker="w1")
    b1, w1 = _poc(repo, ingestor, clock, issuer, A, B, T0_S)
    b2, w2 = _poc(repo, ingestor, clock, issuer, B, A, T0_S + 60)
    assert b2.ready_ms == (T0_S + 60 + 180) * 1000 + 4_000
    assert runner.run_once(now_ms=b1.ready_ms - 1).beacons == 0  # window still open
    stats = runner.run_once(now_ms=(T0_S + 60 + 180) * 1000 + 4_000)
    assert stats.beacons == 2 and stats.verdicts == 4
    first = repo.verdict(b1.id)
    assert first is not None and not first.valid
    assert first.reason == Reason.gateway_no_valid_witnesses and first.passed_regular
    assert first.witnesses == 1
    witness = repo.verdict(w1.id)
    assert witness is not None and witness.passed_regular and witness.beacon_id == b1.id
    assert repo.verdict(w2.id).beacon_id == b2.id  # type: ignore[union-attr]
    # Second window: both neighbours now have history, so the PoC is valid.
    b3, w3 = _poc(repo, ingestor, clock, issuer, A, B, T0_S + WINDOW_S)
    runner.run_once(now_ms=b3.ready_ms)
    beacon_verdict, witness_verdict = repo.verdict(b3.id), repo.verdict(w3.id)
    assert beacon_verdict is not None and beacon_verdict.valid, beacon_verdict
    assert witness_verdict is not None and witness_verdict.valid and witness_verdict.selected
    assert witness_verdict.location_trust == Decimal("0.5")  # no GPS fix: missing_fix_trust
    # Re-verifying the first window later gives the same answer: history after it is ignored.
    assert repo.reset_verification(T0_S * 1000, (T0_S + 30) * 1000) == 2
    runner.run_once(now_ms=b3.ready_ms + 1)
    again = repo.verdict(b1.id)
    assert again is not None and again.reason == Reason.gateway_no_valid_witnesses


def test_second_beacon_in_window_is_irregular(repo: Repository, world) -> None:  # type: ignore[no-untyped-def]
    clock, ingestor, issuer = world
    runner = VerificationRunner(repo, VerifierParams(), clock, worker="w1")
    first, _ = _poc(repo, ingestor, clock, issuer, A, B, T0_S)
    second, _ = _poc(repo, ingestor, clock, issuer, A, B, T0_S + 600)
    settled: list[int] = []
    stats = runner.run_once(now_ms=second.ready_ms, progress=settled.append)
    assert sum(settled) == stats.beacons == 2  # the progress bar counts what was settled
    verdict = repo.verdict(second.id)
    assert verdict is not None and verdict.reason == Reason.irregular_interval
    # The first is judged on its own merits: no history yet (beacon rule 8), not its window.
    assert repo.verdict(first.id).reason == Reason.gateway_no_valid_witnesses  # type: ignore[union-attr]


def test_a_batch_gives_the_interval_rule_its_beacons_receive_times(  # type: ignore[no-untyped-def]
    repo: Repository, world, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beacon rule 5 asks whether another beacon was received before this one; a batch knows
    its claimed beacons' receive times and passes them, rather than reading each beacon's row
    again by id (a random page of the id index per beacon). The verdicts are those above."""
    clock, ingestor, issuer = world
    first, _ = _poc(repo, ingestor, clock, issuer, A, B, T0_S)
    second, _ = _poc(repo, ingestor, clock, issuer, A, B, T0_S + 600)
    statements: list[str] = []
    read = repo._read  # type: ignore[attr-defined]

    def counting(sql: str, params=()):  # type: ignore[no-untyped-def]
        statements.append(sql)
        return read(sql, params)

    monkeypatch.setattr(repo, "_read", counting)
    runner = VerificationRunner(repo, VerifierParams(), clock, worker="w1")
    assert runner.run_once(now_ms=second.ready_ms).beacons == 2
    assert not [sql for sql in statements if sql.startswith("SELECT received_ms FROM reports")]
    assert any("kind = 0 AND hotspot_key = ?" in sql for sql in statements)  # rule 5 asked
    assert repo.verdict(second.id).reason == Reason.irregular_interval  # type: ignore[union-attr]
    assert repo.verdict(first.id).reason == Reason.gateway_no_valid_witnesses  # type: ignore[union-attr]


def _fake_verify(calls: dict[bytes, int], lock: threading.Lock):  # type: ignore[no-untyped-def]
    def verify(beacon, witnesses, ctx, params, now_ms, sites=None, payloads=None):  # type: ignore[no-untyped-def]
        with lock:
            calls[beacon.report_id] = calls.get(beacon.report_id, 0) + 1
        out = [VerdictRecord(beacon.report_id, "beacon", True, None, True, Decimal(1), None,
                             "", True)]
        out += [VerdictRecord(w.report_id, "witness", True, None, True, Decimal(1),
                              beacon.report_id, "", True) for w in witnesses]
        return out

    return verify


def test_each_beacon_verified_exactly_once_by_concurrent_workers(repo: Repository, world) -> None:  # type: ignore[no-untyped-def]
    clock, ingestor, issuer = world
    entropy = issuer.issue()
    ids = []
    for i in range(30):
        msg = beacon_report(keypair(100 + i), entropy.data, entropy.timestamp,
                            local_entropy=i.to_bytes(4, "big"))
        ids.append(_store(repo, ingestor, clock, "beacon", msg, T0_S * 1000 + i).id)
    calls: dict[bytes, int] = {}
    lock = threading.Lock()
    now = (T0_S + 200) * 1000
    runners = [VerificationRunner(repo, VerifierParams(), clock, worker=f"w{i}", batch=4,
                                  verify=_fake_verify(calls, lock)) for i in range(3)]
    threads = [threading.Thread(target=r.run_once, args=(now,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(calls) == sorted(ids) and set(calls.values()) == {1}
    assert all(repo.verdict(i) is not None for i in ids)


def test_a_batch_derives_its_beacons_payloads_at_once(repo: Repository, world) -> None:  # type: ignore[no-untyped-def]
    """The runner hands the pipeline every claimed beacon's expected payload, derived in one
    vectorised pass (docs/benchmarks.md, verifier): each equals the one-beacon derivation."""
    clock, ingestor, issuer = world
    entropy = issuer.issue()
    for i in range(5):
        msg = beacon_report(keypair(300 + i), entropy.data, entropy.timestamp,
                            local_entropy=i.to_bytes(4, "big"))
        _store(repo, ingestor, clock, "beacon", msg, T0_S * 1000 + i)
    seen: list[dict[bytes, bytes]] = []

    def verify(beacon, witnesses, ctx, params, now_ms, sites=None, payloads=None):  # type: ignore[no-untyped-def]
        seen.append(dict(payloads or {}))
        return [VerdictRecord(beacon.report_id, "beacon", True, None, True, Decimal(1), None,
                              "", True)]

    runner = VerificationRunner(repo, VerifierParams(), clock, worker="w", batch=5,
                                verify=verify)
    assert runner.run_once(now_ms=(T0_S + 200) * 1000).beacons == 5
    expected = {
        (seed := beacon_seed(entropy.data, entropy.timestamp, i.to_bytes(4, "big"))):
        beacon_payload(seed) for i in range(5)
    }
    assert seen == [expected] * 5


def test_unmatched_witness_goes_stale(repo: Repository, world) -> None:  # type: ignore[no-untyped-def]
    clock, ingestor, _ = world
    row = _store(repo, ingestor, clock, "witness", witness_report(B), T0_S * 1000)
    runner = VerificationRunner(repo, VerifierParams(), clock, worker="w")
    assert runner.run_once(now_ms=T0_S * 1000 + 45 * 60_000 - 1).stale == 0
    assert runner.run_once(now_ms=T0_S * 1000 + 45 * 60_000).stale == 1
    verdict = repo.verdict(row.id)
    assert verdict is not None and verdict.reason == Reason.stale


def _verdict_of(repo: Repository, row) -> tuple[bool, Reason | None, bool]:  # type: ignore[no-untyped-def]
    verdict = repo.verdict(row.id)
    assert verdict is not None
    return verdict.valid, verdict.reason, verdict.selected


def test_rerun_time_range(repo: Repository, world) -> None:  # type: ignore[no-untyped-def]
    """Re-verifying a time range recomputes its verdicts, and they are the spec's both times:
    in the first window A and B have no history (docs/protocol.md §5 beacon rule 8: the beacon is
    gateway_no_valid_witnesses, and its witness gets the beacon's reason); in the second window
    the bootstrap makes the PoC valid, and re-verifying only that window still sees the first
    window's history."""
    clock, ingestor, issuer = world
    runner = VerificationRunner(repo, VerifierParams(), clock, worker="w")
    b1, w1 = _poc(repo, ingestor, clock, issuer, A, B, T0_S)
    _poc(repo, ingestor, clock, issuer, B, A, T0_S + 60)
    b3, w3 = _poc(repo, ingestor, clock, issuer, A, B, T0_S + WINDOW_S)
    runner.run_once(now_ms=b3.ready_ms)
    first_window = [(False, Reason.gateway_no_valid_witnesses, False)] * 2
    second_window = [(True, None, True)] * 2
    assert [_verdict_of(repo, r) for r in (b1, w1)] == first_window
    assert [_verdict_of(repo, r) for r in (b3, w3)] == second_window

    start_ms = (T0_S + WINDOW_S) * 1000
    assert repo.reset_verification(start_ms, start_ms + 60_000) == 2
    assert repo.verdict(b3.id) is None and repo.verdict(w3.id) is None
    assert runner.run_once(now_ms=b3.ready_ms + 1).beacons == 1
    assert [_verdict_of(repo, r) for r in (b3, w3)] == second_window
    assert repo.verdict(w3.id).verified_at_ms == b3.ready_ms + 1  # type: ignore[union-attr]

    assert repo.reset_verification(T0_S * 1000, (T0_S + 30) * 1000) == 2
    assert runner.run_once(now_ms=b3.ready_ms + 2).beacons == 1
    assert [_verdict_of(repo, r) for r in (b1, w1)] == first_window


def test_self_witness_gets_a_verdict(repo: Repository, world) -> None:  # type: ignore[no-untyped-def]
    clock, ingestor, issuer = world
    runner = VerificationRunner(repo, VerifierParams(), clock, worker="w")
    b, w = _poc(repo, ingestor, clock, issuer, A, A, T0_S)
    runner.run_once(now_ms=b.ready_ms)
    verdict = repo.verdict(w.id)
    assert verdict is not None and verdict.reason == Reason.self_witness
    assert repo.verdict(b.id).witnesses == 0  # type: ignore[union-attr]


def test_beacon_ready_time_follows_entropy_window(repo: Repository, world) -> None:  # type: ignore[no-untyped-def]
    clock, ingestor, issuer = world
    b, _ = _poc(repo, ingestor, clock, issuer, A, B, T0_S)
    assert b.ready_ms == (T0_S + 180) * 1000 + 4_000
    unknown = beacon_report(A, b"\x07" * 32, T0_S, local_entropy=b"\x05" * 4)
    row = ingestor.prepare("beacon", unknown)
    assert row.ready_ms == clock.ms + 4_000
    assert isinstance(reports_pb2.BeaconReport.FromString(row.raw), reports_pb2.BeaconReport)


def _copy_of(beacon: reports_pb2.BeaconReport, thief, below: bytes | None = None):  # type: ignore[no-untyped-def]
    """`beacon` re-signed by `thief`; with `below`, its timestamp is ground until the copy's id
    sorts before `below` (ids are public content hashes: anyone can grind them)."""
    from pocnet import signing

    copy = reports_pb2.BeaconReport()
    copy.CopyFrom(beacon)
    copy.pub_key = thief.public_key.to_bytes()
    for ts in range(1, 10_000):
        copy.timestamp = ts
        if below is None or signing.report_id(copy) < below:
            break
    return signing.sign(copy, thief)


def test_a_later_copy_of_a_beacon_cannot_take_its_witnesses(repo: Repository, world) -> None:  # type: ignore[no-untyped-def]
    # GetReport shows a pending beacon with its entropies, so a thief can submit an exact copy
    # (same data, frequency, datarate) under its own key, with an id ground to sort first.
    # Witnesses are matched by data: the beacon received first must be verified first.
    clock, ingestor, issuer = world
    thief = keypair(24)
    registry = Registry(repo, PublicKey.from_bytes, clock, locator=lambda: _Eu())
    registry.assert_location(assertion(thief, OWNER, lat=B_LOCATION[0], lon=B_LOCATION[1] + 0.07))
    # batch=1: the copy and the original in separate claims (as on a busy queue).
    runner = VerificationRunner(repo, VerifierParams(), clock, worker="w", batch=1)
    b, w = _poc(repo, ingestor, clock, issuer, A, B, T0_S)
    original = repo.report(b.id).message()  # type: ignore[union-attr]
    copy = _store(repo, ingestor, clock, "beacon", _copy_of(original, thief, below=b.id),
                  T0_S * 1000 + 11_000)
    assert copy.id < b.id and copy.ready_ms == b.ready_ms
    runner.run_once(now_ms=b.ready_ms)
    assert repo.verdict(w.id).beacon_id == b.id  # type: ignore[union-attr]
    assert repo.verdict(copy.id).witnesses == 0  # type: ignore[union-attr]


def test_invalid_beacon_leaves_another_beacons_witnesses(repo: Repository, world) -> None:  # type: ignore[no-untyped-def]
    # A copy made from the air (data only, no local entropy) arrives before the real report:
    # it is invalid, and its invalidity must not be pinned on the real beacon's witnesses.
    clock, ingestor, issuer = world
    runner = VerificationRunner(repo, VerifierParams(), clock, worker="w")
    clock.ms = T0_S * 1000
    entropy = issuer.issue()
    real = beacon_report(A, entropy.data, entropy.timestamp, local_entropy=b"\x09" * 4)
    forged = beacon_report(keypair(25), entropy.data, entropy.timestamp,
                           local_entropy=b"\x00" * 4)
    forged.data = real.data  # heard on air; payload no longer matches its entropies
    from pocnet import signing

    signing.sign(forged, keypair(25))
    fake = _store(repo, ingestor, clock, "beacon", forged, T0_S * 1000 + 9_000)
    b = _store(repo, ingestor, clock, "beacon", real, T0_S * 1000 + 10_000)
    w = witness_report(B, data=real.data, signal=-1100, snr=50, frequency=real.frequency)
    signing.sign(w, B)
    wrow = _store(repo, ingestor, clock, "witness", w, T0_S * 1000 + 10_500)
    runner.run_once(now_ms=b.ready_ms)
    assert not repo.verdict(fake.id).valid  # type: ignore[union-attr]
    assert repo.verdict(fake.id).witnesses == 0  # type: ignore[union-attr]
    verdict = repo.verdict(wrow.id)
    assert verdict is not None and verdict.beacon_id == b.id


@pytest.mark.parametrize(("expires_after_s", "denied"), [(11, True), (10, False)])
def test_a_denial_counts_until_its_expiry(repo: Repository, world, expires_after_s: int,
                                          denied: bool) -> None:  # type: ignore[no-untyped-def]
    """The denylist entry (say, gaming detection's) is judged at the beacon's receive time: a
    beacon received at the entry's expiry millisecond is no longer denied."""
    clock, ingestor, issuer = world
    beacon, _ = _poc(repo, ingestor, clock, issuer, A, B, T0_S)  # received at T0 + 10 s
    expires_ms = T0_S * 1000 + expires_after_s * 1000
    repo.replace_denylist(1, keypair(98).public_key.to_bytes(), [A.public_key.to_bytes()], [],
                          b"raw", 0, denials=[(A.public_key.to_bytes(), "detect", "", expires_ms)])
    VerificationRunner(repo, VerifierParams(), clock, worker="w1").run_once(
        now_ms=beacon.ready_ms)
    verdict = repo.verdict(beacon.id)
    assert verdict is not None
    assert (verdict.reason == Reason.denied) is denied, verdict


def _stored_pocs_then_closed(repo: Repository, world, count: int):  # type: ignore[no-untyped-def]
    """`count` PoCs of A and B in turn, one a window, stored by an ingest process that has
    then ended (its checkpointer with it): what a process that only verifies starts from.
    Returns the last beacon and the database's path."""
    clock, ingestor, issuer = world
    last = None
    for i in range(count):
        last, _ = _poc(repo, ingestor, clock, issuer, (A, B)[i % 2], (B, A)[i % 2],
                       T0_S + WINDOW_S * i)
    path = repo.path  # type: ignore[attr-defined]
    repo.close()
    return last, path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_process_that_only_verifies_keeps_its_wal_small(
        repo: Repository, world, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """`pocnet-oracle verify` inserts no report, but it writes (claims, verdicts): its SQLite
    WAL is checkpointed between its batches and starts over, instead of growing for the whole
    run (10 GB in a week of 2,000 hotspots, docs/benchmarks.md). A complete checkpoint between
    batches also shows that nothing of the runner holds a read snapshot across them."""
    from oracle.storage import sqlite as sqlite_storage

    monkeypatch.setattr(sqlite_storage, "CHECKPOINT_INTERVAL_S", 0.02)
    clock = world[0]
    last, path = _stored_pocs_then_closed(repo, world, 24)
    verifier = sqlite_storage.SqliteRepository(path)  # a process that only verifies
    wal = path.with_name(path.name + "-wal")
    sizes: list[int] = []

    def between_batches(settled: int) -> None:
        assert verifier.wait_for_checkpoint(30), "the WAL was not checkpointed between batches"
        sizes.append(wal.stat().st_size)

    try:
        stats = VerificationRunner(verifier, VerifierParams(), clock, worker="v", batch=2
                                   ).run_once(now_ms=last.ready_ms, progress=between_batches)
    finally:
        verifier.close()
    assert stats.beacons == 24 and len(sizes) == 12
    # Every batch writes about as many pages; a WAL that starts over stays at about one's.
    assert sizes[-1] <= 2 * sizes[0], sizes


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_verify_starts_its_wal_over_after_every_batch_by_itself(
        repo: Repository, world, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Each claim begins a round of the background checkpointer, and the batch's store waits
    for it, so the store starts the WAL over even though the verifier commits back to back (a
    verifier whose WAL only the checkpointer's own rounds copied left a 1.26 GB WAL over a
    week of 2,000 hotspots, docs/benchmarks.md). The rounds at the checkpointer's interval
    are pushed out of the test's reach: the WAL stays at a batch's frames only by the rounds
    the claims begin, and none of the copying is on the verifier's own connection (its
    thread's disk waits, before)."""
    from oracle.storage import sqlite as sqlite_storage

    clock = world[0]
    last, path = _stored_pocs_then_closed(repo, world, 24)
    monkeypatch.setattr(sqlite_storage, "CHECKPOINT_INTERVAL_S", 3600.0)
    verifier = sqlite_storage.SqliteRepository(path)
    wal = path.with_name(path.name + "-wal")
    with sqlite3.connect(path) as conn:  # what ingest left in the WAL is not the verifier's
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    sizes: list[int] = []
    statements: list[str] = []
    verifier._conn().set_trace_callback(statements.append)  # the verifier's own connection
    try:
        stats = VerificationRunner(verifier, VerifierParams(), clock, worker="v", batch=2
                                   ).run_once(now_ms=last.ready_ms,
                                              progress=lambda _: sizes.append(wal.stat().st_size))
    finally:
        verifier.close()
    assert stats.beacons == 24 and len(sizes) == 12
    # A batch here writes ~10 pages: twelve batches in a WAL that never restarts are ~12 times
    # one batch's frames; restarted after each, the file stays at its first batches' size.
    assert 0 < sizes[-1] <= 2 * sizes[1], sizes
    # The copies are the checkpointer's, on its own thread: none holds up the verifier's.
    assert statements and not [s for s in statements if "wal_checkpoint" in s]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # its death
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_verify_runs_on_when_its_checkpointer_has_died(
        repo: Repository, world, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A verdict store waits for the checkpointer's round begun after its claim; if that
    thread died of an error nobody expected, no round will come, and the verifier must go on
    without it rather than wait each batch out. The wait's bound is pushed past the suite's
    timeout, so a store that waits fails the test instead of slowing it."""
    from oracle.storage import sqlite as sqlite_storage

    clock = world[0]
    last, path = _stored_pocs_then_closed(repo, world, 6)
    monkeypatch.setattr(sqlite_storage, "BUSY_TIMEOUT_MS", 10**9)
    verifier = sqlite_storage.SqliteRepository(path)

    def broken(conn: sqlite3.Connection | None = None) -> bool:
        raise sqlite3.DatabaseError("disk image is malformed")

    monkeypatch.setattr(verifier, "checkpoint", broken)
    try:
        stats = VerificationRunner(verifier, VerifierParams(), clock, worker="v", batch=2
                                   ).run_once(now_ms=last.ready_ms)
        checkpointer = verifier._checkpointer
    finally:
        verifier.close()
    assert stats.beacons == 6
    assert checkpointer is not None and not checkpointer.is_alive()


def test_claims_follow_ready_then_receive_time_across_lapsed_leases(
        repo: Repository, world) -> None:  # type: ignore[no-untyped-def]
    """A claim takes, in order of ready time then receive time, both pending beacons and
    beacons whose lease ran out, at most `limit` of them together; not a beacon whose window is
    still open, nor one whose lease still holds."""
    clock, ingestor, issuer = world

    def beacon(entropy, kp, at_s):  # type: ignore[no-untyped-def]
        msg = beacon_report(kp, entropy.data, entropy.timestamp, local_entropy=b"\x01" * 4)
        return _store(repo, ingestor, clock, "beacon", msg, at_s * 1000)

    clock.ms = T0_S * 1000
    first = issuer.issue()
    clock.ms = (T0_S + 60) * 1000
    second = issuer.issue()
    a1 = beacon(first, keypair(31), T0_S + 20)
    b1 = beacon(second, keypair(32), T0_S + 80)
    assert a1.ready_ms < b1.ready_ms
    now = b1.ready_ms
    assert [b.id for b in repo.claim_beacons("w1", now, 1_000, 2)] == [a1.id, b1.id]
    a2 = beacon(first, keypair(33), T0_S + 30)  # ready with a1, received after it
    clock.ms = (T0_S + 600) * 1000
    late = beacon(issuer.issue(), keypair(34), T0_S + 620)  # its window is still open
    assert [b.id for b in repo.claim_beacons("w2", now + 999, 1_000, 5)] == [a2.id]
    # w1's leases lapse: a1 before b1 (ready later); a2 is w2's meanwhile
    assert repo.claim_beacons("w3", now + 1_000, 1_000, 5) == []  # leases end at now + 1 s
    assert [b.id for b in repo.claim_beacons("w3", now + 1_001, 1_000, 1)] == [a1.id]
    assert [b.id for b in repo.claim_beacons("w3", now + 1_001, 1_000, 5)] == [b1.id]
    # every lease has lapsed now: ready time, then receive time, cut at the limit
    assert late.ready_ms > now + 2_002
    assert [b.id for b in repo.claim_beacons("w4", now + 2_002, 1_000, 2)] == [a1.id, a2.id]


def _reports(kind: str, count: int, first: int, data: bytes | None = None):  # type: ignore[no-untyped-def]
    import hashlib

    from oracle.storage.repository import NewReport

    return [NewReport(hashlib.sha256(b"%s%d" % (kind.encode(), i)).digest(), kind,
                      hashlib.sha256(b"key%d" % (i % 50)).digest(), 1_000 + i, b"r",
                      data or hashlib.sha256(b"data%d" % i).digest()[:20], None,
                      ready_ms=2_000 + i)
            for i in range(first, first + count)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_claim_does_not_read_through_the_backlog(repo: Repository) -> None:
    """A claim of 2 beacons costs SQLite about as much with 5,000 ready beacons waiting as
    with 10 (it read and sorted every one of them per batch: docs/benchmarks.md)."""
    repo.insert_reports(_reports("beacon", 10, 0))
    few = vm_steps(repo, lambda: repo.claim_beacons("w", 10_000, 60_000, 2))
    repo.insert_reports(_reports("beacon", 5_000, 10))
    assert vm_steps(repo, lambda: repo.claim_beacons("w", 10_000, 60_000, 2)) <= 2 * few


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_batch_reads_its_witnesses_by_data_not_through_the_backlog(repo: Repository) -> None:
    """What a batch's pending witnesses cost SQLite does not grow with the pending backlog of
    other beacons (it read all of it per batch, with the queue index, over a week of reports:
    docs/benchmarks.md)."""
    import hashlib

    ours = hashlib.sha256(b"our beacon").digest()[:20]
    # a batch asks for 200 beacons' data at once (DEFAULT_BATCH)
    batch = [ours, *(hashlib.sha256(b"unheard%d" % i).digest()[:20] for i in range(199))]
    repo.insert_reports(_reports("witness", 20, 0, ours))

    def read() -> None:
        assert len(repo.pending_witness_times(batch)) == 20

    alone = vm_steps(repo, read)
    repo.insert_reports(_reports("witness", 5_000, 20))  # other beacons' pending witnesses
    assert vm_steps(repo, read) <= 2 * alone


def test_a_run_collects_garbage_less_often_then_restores(repo: Repository, world) -> None:  # type: ignore[no-untyped-def]
    """While verifying, the young generation holds GC_YOUNG_THRESHOLD objects before a
    collection (not Python's 700); after the run, the thresholds are the ones it found."""
    clock, ingestor, issuer = world
    entropy = issuer.issue()
    msg = beacon_report(keypair(400), entropy.data, entropy.timestamp)
    _store(repo, ingestor, clock, "beacon", msg, T0_S * 1000)
    seen: list[tuple[int, int, int]] = []

    def verify(beacon, witnesses, ctx, params, now_ms, sites=None, payloads=None):  # type: ignore[no-untyped-def]
        seen.append(gc.get_threshold())
        return [VerdictRecord(beacon.report_id, "beacon", True, None, True, Decimal(1), None,
                              "", True)]

    before = gc.get_threshold()
    gc.set_threshold(700, 9, 8)
    try:
        runner = VerificationRunner(repo, VerifierParams(), clock, worker="w", verify=verify)
        assert runner.run_once(now_ms=(T0_S + 200) * 1000).beacons == 1
        assert seen == [(GC_YOUNG_THRESHOLD, 9, 8)]
        assert gc.get_threshold() == (700, 9, 8)
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_interval_rule_does_not_read_through_the_hotspots_witnesses(repo: Repository) -> None:
    """Whether a hotspot already beaconed in a window costs SQLite about as much with 5,000
    of its witness reports in that window as with 10 (it read all of them, once per beacon,
    to find the hotspot's beacons: docs/benchmarks.md)."""
    import hashlib

    key = hashlib.sha256(b"beaconer").digest()
    beacon = _reports("beacon", 1, 0)[0]._replace(hotspot_key=key, received_ms=5_000_000)
    repo.insert_reports([beacon])

    def witnesses(count: int, first: int):  # type: ignore[no-untyped-def]
        return [r._replace(hotspot_key=key) for r in _reports("witness", count, first)]

    def read() -> None:
        assert not repo.beacon_in_window(key, 0, 21_600_000, beacon.id)

    repo.insert_reports(witnesses(10, 0))
    few = vm_steps(repo, read)
    repo.insert_reports(witnesses(5_000, 10))
    assert vm_steps(repo, read) <= 2 * few
