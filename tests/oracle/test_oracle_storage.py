"""The Repository contract (docs/storage.md), run on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from oracle.errors import StaleNonce, StaleVersion
from oracle.storage import open_repository
from oracle.storage.migrate import load_migrations
from oracle.storage.repository import (
    EntropyRecord,
    NewReport,
    Registration,
    Repository,
    StoredVerdict,
)

KEY_A = b"\x01" + b"a" * 32
KEY_B = b"\x01" + b"b" * 32
DATA = b"d" * 51


def beacon(n: int, key: bytes = KEY_A, received_ms: int = 1_000, ready_ms: int = 5_000,
           data: bytes = DATA) -> NewReport:
    return NewReport(n.to_bytes(32, "big"), "beacon", key, received_ms, b"raw%d" % n, data,
                     b"e" * 32, ready_ms)


def witness(n: int, key: bytes = KEY_B, received_ms: int = 1_500, data: bytes = DATA,
            fix: tuple[int, int] | None = None) -> NewReport:
    lat, lon = fix if fix else (None, None)
    return NewReport(n.to_bytes(32, "big"), "witness", key, received_ms, b"raw%d" % n, data,
                     None, 0, lat, lon)


def verdict(report: NewReport, beacon_id: bytes | None = None, valid: bool = True,
            passed_regular: bool = True, witnesses: int = 0) -> StoredVerdict:
    return StoredVerdict(report.id, report.kind, report.hotspot_key, beacon_id,
                         report.received_ms, valid, None if valid else 7, valid,
                         Decimal("0.25"), passed_regular, witnesses, "why", 9_000)


LATEST = load_migrations()[-1].version


def test_migrations_apply_once(repo: Repository) -> None:
    assert repo.schema_version() == LATEST  # type: ignore[attr-defined]
    assert repo.migrate() == 0
    with repo.transaction() as tx:
        tx.execute("SELECT version FROM schema_version ORDER BY version")
        versions = [row[0] for row in tx.fetchall()]
    assert versions == [m.version for m in load_migrations()] and versions[0] == 1


def test_insert_is_idempotent_by_id(repo: Repository) -> None:
    a, b = beacon(1), witness(2)
    first = repo.insert_reports([a, b])
    assert [r.duplicate for r in first] == [False, False]
    again = repo.insert_reports([NewReport(a.id, "beacon", KEY_A, 99_999, b"other", DATA,
                                           b"e" * 32, 0)])
    assert again[0].duplicate and again[0].received_ms == a.received_ms
    assert repo.count_reports() == 2
    stored = repo.report(a.id)
    assert stored is not None and stored.raw == a.raw and stored.status == "pending"


def test_a_batch_mixing_stored_and_new_reports(repo: Repository) -> None:
    # The insert skips the read of stored ids when nothing was stored before; a batch where
    # some were (resubmitted after a lost ack) must still store the new ones once and answer
    # the old ones with their first receive time, in the batch's order.
    old_a, old_b = witness(10, received_ms=100), witness(11, received_ms=200)
    repo.insert_reports([old_a, old_b])
    new_a, new_b = witness(12, received_ms=300), witness(13, received_ms=400)
    resent_a = NewReport(old_a.id, "witness", KEY_A, 99_999, b"resent", DATA, None, 0)
    resent_b = NewReport(old_b.id, "witness", KEY_A, 99_999, b"resent", DATA, None, 0)
    results = repo.insert_reports([new_b, resent_a, new_a, resent_b])
    assert [(r.id, r.duplicate) for r in results] == [
        (new_b.id, False), (old_a.id, True), (new_a.id, False), (old_b.id, True)]
    assert [r.received_ms for r in results] == [
        new_b.received_ms, old_a.received_ms, new_a.received_ms, old_b.received_ms]
    assert repo.count_reports() == 4
    stored = repo.report(old_a.id)
    assert stored is not None and stored.raw == old_a.raw


def test_duplicates_inside_one_batch(repo: Repository) -> None:
    a = witness(3)
    twin = NewReport(a.id, "witness", KEY_B, 7, b"x", DATA, None, 0)
    results = repo.insert_reports([a, twin])
    assert [r.duplicate for r in results] == [False, True]
    assert results[1].received_ms == a.received_ms
    assert repo.count_reports() == 1


def _statements(repo: Repository, action) -> list[str]:  # type: ignore[no-untyped-def]
    """The SQL statements SQLite runs on the repository's connection during `action()`."""
    conn = repo._conn()  # type: ignore[attr-defined]  # the connection the inserts go through
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        action()
    finally:
        conn.set_trace_callback(None)
    return seen


# SQLite only: PostgreSQL reads first (another replica may insert the same reports).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_inserts_a_batch_of_new_reports_without_reading_for_stored_ones(
        repo: Repository) -> None:
    """Every row new (an import's batch, a group commit's): one insert, no read of the id
    index first. The id's UNIQUE index tells whether any was stored (next test)."""
    assert repo.dialect == "sqlite"
    rows = [witness(n, received_ms=100 + n) for n in (5, 3, 4)]
    seen = _statements(repo, lambda: repo.insert_reports(rows))
    assert not [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert sum(1 for s in seen if s.startswith("INSERT INTO reports")) == 3
    assert repo.count_reports() == 3
    assert [repo.report(r.id).received_ms for r in rows] == [105, 103, 104]  # type: ignore[union-attr]


@pytest.mark.parametrize("stored_at", [0, 1, 2])
def test_one_stored_report_in_a_batch_undoes_the_first_try(repo: Repository,
                                                          stored_at: int) -> None:
    """The first, last or middle row (in id order) already stored: the batch is answered as
    if read first — the stored one a duplicate with its first receive time, the others
    stored once, none of them twice and nothing left of the undone insert."""
    old = witness(20 + stored_at, received_ms=7)
    repo.insert_reports([old])
    resent = old._replace(received_ms=99_999, raw=b"resent")
    batch = [witness(20 + n, received_ms=100 + n) if n != stored_at else resent
             for n in (2, 0, 1)]
    results = repo.insert_reports(batch)
    assert [(r.id, r.received_ms, r.duplicate) for r in results] == [
        (row.id, 7 if row is resent else row.received_ms, row is resent) for row in batch]
    assert repo.count_reports() == 3
    stored = repo.report(old.id)
    assert stored is not None and (stored.received_ms, stored.raw) == (7, old.raw)
    assert repo.insert_reports(batch) == [
        type(r)(r.id, r.received_ms, True) for r in results]  # all stored now


@pytest.mark.parametrize("one_stored", [False, True])
def test_each_kind_is_stored_with_its_code_and_first_status(repo: Repository,
                                                            one_stored: bool) -> None:
    """Every column of a batch's rows as stored, whichever insert takes the batch (all new:
    SQLite's statement that takes the rows as they are; one already stored: the insert
    after the read): the kind as its code (docs/storage.md: beacon 0, witness 1, coverage
    2) and the status it starts with (coverage is kept, never PoC-verified)."""
    cover = NewReport((9).to_bytes(32, "big"), "coverage", KEY_A, 1_700, b"raw9", None, None,
                      0, 451_000_000, 56_000_000)
    rows = [beacon(7, ready_ms=6_000), witness(8, fix=(-1, 2)), cover]
    if one_stored:
        repo.insert_reports([rows[1]])
    repo.insert_reports(rows)
    with repo.transaction() as tx:
        tx.execute("SELECT id, kind, hotspot_key, received_ms, raw, data, remote_entropy, "
                   "ready_ms, fix_lat_e7, fix_lon_e7, status FROM reports ORDER BY id")
        stored = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                  for r in tx.fetchall()]
    assert stored == [
        (*rows[0][:1], 0, *rows[0][2:], "pending"),
        (*rows[1][:1], 1, *rows[1][2:], "pending"),
        (*rows[2][:1], 2, *rows[2][2:], "stored"),
    ]


def test_entropy_round_trip(repo: Repository) -> None:
    older = EntropyRecord(b"1" * 32, 100, 1, KEY_A, b"raw1")
    newer = EntropyRecord(b"2" * 32, 160, 1, KEY_A, b"raw2")
    repo.insert_entropy(older)
    repo.insert_entropy(newer)
    repo.insert_entropy(newer)
    assert repo.entropy(b"1" * 32) == older
    assert repo.latest_entropy() == newer
    assert repo.entropy(b"3" * 32) is None


def test_entropy_records_stored_together(repo: Repository) -> None:
    """One call for many (an import's entropy): each stored, one already there kept as it was,
    a value twice in the call stored once."""
    kept = EntropyRecord(b"1" * 32, 100, 1, KEY_A, b"first")
    repo.insert_entropy(kept)
    records = [EntropyRecord(bytes([65 + i]) * 32, 100 + 60 * i, 1, KEY_A, b"raw%d" % i)
               for i in range(1, 5)]
    repo.insert_entropies([EntropyRecord(b"1" * 32, 100, 1, KEY_A, b"again"), *records,
                           records[0]])
    repo.insert_entropies([])
    assert repo.entropy(b"1" * 32) == kept
    assert [repo.entropy(r.data) for r in records] == records
    assert repo.latest_entropy() == records[-1]


MAKER_KEY = b"\x01" + b"m" * 32


def _reg(nonce: int) -> Registration:
    return Registration(KEY_A, b"w" * 32, 0x8C1FB46622DD1FF, 30, 5, "full", "EU868", nonce, 1,
                        MAKER_KEY)


def test_assertion_replaces_only_the_registration_it_was_checked_against(
    repo: Repository,
) -> None:
    repo.put_maker(MAKER_KEY, "m", 5, 0)
    repo.apply_assertion(_reg(2), b"raw", 1)
    with pytest.raises(StaleNonce):
        repo.apply_assertion(_reg(2), b"raw", 2)  # onboarded already
    with pytest.raises(StaleNonce):
        repo.apply_assertion(_reg(4), b"raw", 2, previous=_reg(1))  # checked against old
    repo.apply_assertion(_reg(3), b"raw", 3, previous=_reg(2))
    stored = repo.hotspot(KEY_A)
    assert stored is not None and stored.nonce == 3 and stored.region == "EU868"
    assert stored.maker_key == MAKER_KEY


def test_denylist_versions_and_edges(repo: Repository) -> None:
    repo.replace_denylist(1, KEY_A, [KEY_A], [(KEY_B, KEY_A)], b"raw", 1)
    assert repo.denylist_version() == 1
    assert repo.is_denied(KEY_A) and not repo.is_denied(KEY_B)
    assert repo.is_edge_denied(KEY_A, KEY_B) and repo.is_edge_denied(KEY_B, KEY_A)
    with pytest.raises(StaleVersion):
        repo.replace_denylist(1, KEY_A, [], [], b"raw", 2)
    repo.replace_denylist(2, KEY_A, [KEY_B], [], b"raw", 2)
    assert repo.is_denied(KEY_B) and not repo.is_denied(KEY_A)
    assert not repo.is_edge_denied(KEY_A, KEY_B)


def test_denied_edges_carry_why_and_lapse_at_their_expiry(repo: Repository) -> None:
    repo.replace_denylist(1, KEY_A, [], [(KEY_B, KEY_A), (KEY_A, MAKER_KEY)], b"raw", 7,
                          edge_denials=[(KEY_B, KEY_A, "one antenna", "{}", 5_000)])
    # Lapsed at its expiry, in force the millisecond before (as a hotspot's entry).
    assert repo.is_edge_denied(KEY_A, KEY_B, 4_999) and repo.is_edge_denied(KEY_B, KEY_A, 4_999)
    assert not repo.is_edge_denied(KEY_A, KEY_B, 5_000)
    assert repo.is_edge_denied(KEY_A, KEY_B)  # listed until the next version drops it
    assert repo.is_edge_denied(KEY_A, MAKER_KEY, 10**15)  # 0 = never
    lo, hi = sorted((KEY_A, KEY_B))
    assert repo.edge_expiries() == {(lo, hi): 5_000, tuple(sorted((KEY_A, MAKER_KEY))): 0}
    named = repo.edge_denials(KEY_B)
    assert [(d.a, d.b, d.version, d.reason, d.evidence, d.expires_ms, d.since_ms)
            for d in named] == [(lo, hi, 1, "one antenna", "{}", 5_000, 7)]
    assert len(repo.edge_denials()) == 2 and repo.edge_denials(b"\x09" * 32) == []


def test_claims_are_exclusive_and_gated_by_ready_time(repo: Repository) -> None:
    repo.insert_reports([beacon(i, ready_ms=5_000 + i) for i in range(10)])
    assert repo.claim_beacons("w1", 4_999, 60_000, 100) == []
    got: dict[str, list[bytes]] = {}

    def claim(worker: str) -> None:
        other = open_repository(repo_url[0])
        try:
            got[worker] = [r.id for r in other.claim_beacons(worker, 10_000, 60_000, 3)]
            got[worker] += [r.id for r in other.claim_beacons(worker, 10_000, 60_000, 3)]
        finally:
            other.close()

    repo_url = [_url(repo)]
    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for ids in got.values() for i in ids]
    assert len(everything) == len(set(everything)) == 10


def _url(repo: Repository) -> str:
    return getattr(repo, "url", None) or f"sqlite:///{repo.path}"  # type: ignore[attr-defined]


def test_expired_claim_is_taken_over_and_old_owner_cannot_store(repo: Repository) -> None:
    b = beacon(1)
    repo.insert_reports([b])
    assert [r.id for r in repo.claim_beacons("w1", 10_000, 1_000, 10)] == [b.id]
    assert repo.claim_beacons("w2", 10_500, 1_000, 10) == []  # lease still running
    assert [r.id for r in repo.claim_beacons("w2", 11_001, 1_000, 10)] == [b.id]
    assert repo.store_verdicts("w1", b.id, [verdict(b)]) is False
    assert repo.verdict(b.id) is None
    assert repo.store_verdicts("w2", b.id, [verdict(b)]) is True
    assert repo.store_verdicts("w2", b.id, [verdict(b)]) is False  # exactly once
    assert repo.report(b.id).status == "verified"  # type: ignore[union-attr]


def test_witness_matching_verdicts_and_reciprocity(repo: Repository) -> None:
    b, w1, w2, other = beacon(1), witness(2), witness(3, key=KEY_A), witness(4, data=b"x" * 51)
    repo.insert_reports([b, w1, w2, other])
    assert {r.id for r in repo.pending_witnesses(DATA)} == {w1.id, w2.id}
    repo.claim_beacons("w", 10_000, 60_000, 10)
    ok = repo.store_verdicts("w", b.id, [
        verdict(b, witnesses=1),
        verdict(w1, beacon_id=b.id, valid=False, passed_regular=True),
    ])
    assert ok
    assert repo.pending_witnesses(DATA) == [repo.report(w2.id)]
    assert repo.last_valid_witness_ms(KEY_B) == w1.received_ms
    assert repo.last_valid_witness_ms(KEY_B, before_ms=w1.received_ms) is None
    assert repo.last_valid_beacon_ms(KEY_A) == b.received_ms
    ids = [v.report_id for v in repo.verdicts_for_beacon(b.id)]
    assert ids == [b.id, w1.id]
    stored = repo.verdict(w1.id)
    assert stored is not None and stored.location_trust == Decimal("0.25")
    assert stored.beacon_id == b.id and not stored.valid and stored.reason == 7
    window = list(repo.verdicts_received_between(0, 2_000, kind="witness"))
    assert [v.report_id for v in window] == [w1.id]


def test_beacon_without_witness_does_not_count_for_reciprocity(repo: Repository) -> None:
    b = beacon(1)
    repo.insert_reports([b])
    repo.claim_beacons("w", 10_000, 60_000, 10)
    repo.store_verdicts("w", b.id, [verdict(b, witnesses=0)])
    assert repo.last_valid_beacon_ms(KEY_A) is None


def test_stale_after_45_minutes(repo: Repository) -> None:
    young, old = witness(1, received_ms=100_000), witness(2, received_ms=1_000)
    repo.insert_reports([young, old])
    assert repo.mark_stale(now_ms=1_000 + 2_700_000 - 1, stale_after_ms=2_700_000) == 0
    assert repo.mark_stale(now_ms=1_000 + 2_700_000, stale_after_ms=2_700_000) == 1
    v = repo.verdict(old.id)
    assert v is not None and v.reason == 16 and not v.valid
    assert repo.report(old.id).status == "stale"  # type: ignore[union-attr]
    assert repo.verdict(young.id) is None


@pytest.mark.parametrize(
    ("window_ms", "detail"),
    [(2_700_000, "not verified within 45 min of arrival"),
     (600_000, "not verified within 10 min of arrival"),
     (90_000, "not verified within 90 s of arrival")],
)
def test_a_stale_verdict_names_the_window_in_force(
    repo: Repository, window_ms: int, detail: str
) -> None:
    w = witness(1, received_ms=1_000)
    repo.insert_reports([w])
    assert repo.mark_stale(now_ms=1_000 + window_ms, stale_after_ms=window_ms) == 1
    assert repo.verdict(w.id).detail == detail  # type: ignore[union-attr]


def test_stale_covers_expired_claims_but_not_live_ones(repo: Repository) -> None:
    # docs/storage.md: a beacon whose worker died (lease expired) is as unverified as a pending one.
    dead, live = beacon(1), beacon(2, key=KEY_B)
    repo.insert_reports([dead, live])
    now = 1_000 + 2_700_000
    assert [r.id for r in repo.claim_beacons("crashed", 10_000, 1_000, 1)] == [dead.id]
    assert [r.id for r in repo.claim_beacons("busy", 10_000, now, 1)] == [live.id]
    assert repo.mark_stale(now_ms=now, stale_after_ms=2_700_000) == 1
    assert repo.report(dead.id).status == "stale"  # type: ignore[union-attr]
    assert repo.verdict(dead.id).reason == 16  # type: ignore[union-attr]
    assert repo.store_verdicts("crashed", dead.id, [verdict(dead)]) is False
    assert repo.report(live.id).status == "claimed"  # type: ignore[union-attr]
    assert repo.store_verdicts("busy", live.id, [verdict(live)]) is True


def test_the_verdicts_of_several_pocs_at_once(repo: Repository) -> None:
    """`verdicts_for_beacons` is `verdicts_for_beacon` of each beacon in the order asked
    (a beacon not verified or not stored has none), a beacon named twice once."""
    b1, b2 = beacon(1, received_ms=1_000), beacon(2, received_ms=1_100, data=b"y" * 51)
    w1, w2 = witness(3, received_ms=1_600), witness(4, received_ms=1_400)
    w3, pending = witness(5, data=b"y" * 51), beacon(6, received_ms=1_200, data=b"q" * 51)
    repo.insert_reports([b1, b2, w1, w2, w3])
    repo.claim_beacons("w", 10_000, 60_000, 10)
    repo.store_verdicts("w", b1.id, [verdict(b1, witnesses=2), verdict(w1, beacon_id=b1.id),
                                     verdict(w2, beacon_id=b1.id, valid=False)])
    repo.store_verdicts("w", b2.id, [verdict(b2, witnesses=1), verdict(w3, beacon_id=b2.id)])
    repo.insert_reports([pending])
    asked = [b2.id, pending.id, b"\x09" * 32, b1.id, b2.id]
    got = repo.verdicts_for_beacons(asked)
    assert got == repo.verdicts_for_beacon(b2.id) + repo.verdicts_for_beacon(b1.id)
    assert [v.report_id for v in got] == [b2.id, w3.id, b1.id, w2.id, w1.id]
    assert repo.verdicts_for_beacons([]) == []


def test_reset_verification_reopens_a_range(repo: Repository) -> None:
    b, w = beacon(1), witness(2)
    repo.insert_reports([b, w])
    repo.claim_beacons("w", 10_000, 60_000, 10)
    repo.store_verdicts("w", b.id, [verdict(b, witnesses=1), verdict(w, beacon_id=b.id)])
    assert repo.reset_verification(0, 1_200) == 2  # the beacon and its matched witness
    assert repo.verdict(b.id) is None and repo.verdict(w.id) is None
    assert repo.report(w.id).status == "pending"  # type: ignore[union-attr]
    assert [r.id for r in repo.claim_beacons("w", 10_000, 60_000, 10)] == [b.id]


def test_reset_keeps_witnesses_of_beacons_outside_the_range(repo: Repository) -> None:
    # A witness received just inside the range whose beacon came just before it: re-running
    # the range does not re-verify that beacon, so the witness must keep its verdict (reset,
    # it would only go stale). Unmatched (stale) witnesses in the range are reopened.
    b, w = beacon(1, received_ms=900), witness(2, received_ms=1_100)
    lone = witness(3, received_ms=1_200, data=b"z" * 51)
    repo.insert_reports([b, w, lone])
    repo.claim_beacons("w", 10_000, 60_000, 10)
    repo.store_verdicts("w", b.id, [verdict(b, witnesses=1), verdict(w, beacon_id=b.id)])
    repo.mark_stale(now_ms=1_200 + 2_700_000, stale_after_ms=2_700_000)
    assert repo.report(lone.id).status == "stale"  # type: ignore[union-attr]
    assert repo.reset_verification(1_000, 5_000) == 1  # only the lone witness
    kept = repo.verdict(w.id)
    assert kept is not None and kept.valid and repo.report(w.id).status == "verified"  # type: ignore[union-attr]
    assert repo.verdict(lone.id) is None and repo.report(lone.id).status == "pending"  # type: ignore[union-attr]


def test_beacon_in_window(repo: Repository) -> None:
    first, second = beacon(1, received_ms=1_000), beacon(2, received_ms=2_000)
    repo.insert_reports([first, second])
    assert repo.beacon_in_window(KEY_A, 0, 21_600_000, second.id)
    assert not repo.beacon_in_window(KEY_A, 0, 21_600_000, first.id)
    assert not repo.beacon_in_window(KEY_A, 21_600_000, 43_200_000, first.id)


def test_beacon_in_window_takes_the_receive_time_it_is_given(repo: Repository) -> None:
    # A claimed beacon's receive time is known to the batch, which passes it instead of the
    # read by id; it then decides "received earlier" as the stored time would.
    first, second = beacon(1, received_ms=1_000), beacon(2, received_ms=2_000)
    repo.insert_reports([first, second])
    for b in (first, second):
        assert (repo.beacon_in_window(KEY_A, 0, 21_600_000, b.id, b.received_ms)
                == repo.beacon_in_window(KEY_A, 0, 21_600_000, b.id))
    # Given, it is used: an id the store lacks counts as received at that time (read, as
    # received at the window's end, after the first beacon).
    unknown = b"\x07" * 32
    assert not repo.beacon_in_window(KEY_A, 0, 21_600_000, unknown, 999)
    assert repo.beacon_in_window(KEY_A, 0, 21_600_000, unknown)
    assert repo.beacon_in_window(KEY_A, 0, 21_600_000, unknown, 1_001)


def test_last_fix(repo: Repository) -> None:
    repo.insert_reports([
        witness(1, received_ms=1_000, fix=(523_676_000, 49_041_000)),
        witness(2, received_ms=2_000),
        witness(3, received_ms=3_000, fix=(523_000_000, 49_000_000)),
    ])
    assert repo.last_fix(KEY_B, 2_500) == (52.3676, 4.9041, 1_000)
    assert repo.last_fix(KEY_B, 1_000) is None


def test_transaction_helper_for_other_modules(repo: Repository) -> None:
    with repo.transaction() as tx:
        tx.execute("SELECT count(*) FROM reports WHERE kind = ?", (0,))
        assert tx.fetchone()[0] == 0
    with pytest.raises(RuntimeError), repo.transaction() as tx:
        tx.execute("DELETE FROM schema_version")
        raise RuntimeError("rolled back")
    assert repo.schema_version() == LATEST  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_postgresql_connection_loss_is_a_storage_error_then_reconnects(pg_url: str) -> None:
    # A PostgreSQL restart or failover kills every connection. Each must surface as a
    # StorageError (UNAVAILABLE, retried by the loops) and the next call must reconnect,
    # or ingest and verification would stay broken until the oracle is restarted.
    import psycopg

    from oracle.errors import StorageError

    repo = open_repository(pg_url)

    def kill_connections() -> None:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                          "datname = current_database() AND pid <> pg_backend_pid()")

    try:
        assert repo.hotspot(KEY_A) is None
        kill_connections()
        with pytest.raises(StorageError):
            repo.hotspot(KEY_A)
        assert repo.hotspot(KEY_A) is None  # reconnected
        kill_connections()
        record = EntropyRecord(b"e" * 32, 1, 1, KEY_A, b"raw")
        with pytest.raises(StorageError):
            repo.insert_entropy(record)
        repo.insert_entropy(record)
        assert repo.entropy(b"e" * 32) == record
    finally:
        repo.close()


def test_sqlite_lock_timeout_is_a_storage_error(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from oracle.errors import StorageError

    monkeypatch.setattr("oracle.storage.sqlite.BUSY_TIMEOUT_MS", 50)
    repo = open_repository(f"sqlite:///{tmp_path / 'o.db'}")
    other = sqlite3.connect(tmp_path / "o.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        with pytest.raises(StorageError, match="locked"):
            repo.insert_entropy(EntropyRecord(b"e" * 32, 1, 1, KEY_A, b"raw"))
        other.execute("ROLLBACK")
        repo.insert_entropy(EntropyRecord(b"e" * 32, 1, 1, KEY_A, b"raw"))
    finally:
        other.close()
        repo.close()


def test_find_reports_filters_and_pages(repo: Repository) -> None:
    from oracle.storage.repository import ReportFilter

    rows = [beacon(1, received_ms=1_000), witness(2, received_ms=2_000),
            witness(3, key=KEY_A, received_ms=2_000), beacon(4, key=KEY_B, received_ms=3_000)]
    repo.insert_reports(rows)

    def ids(where: ReportFilter, limit: int = 10, offset: int = 0) -> list[int]:
        found = repo.find_reports(where, limit, offset)
        return [int.from_bytes(r.id, "big") for r in found]

    assert ids(ReportFilter()) == [4, 3, 2, 1]  # newest first, ties by id, descending
    assert ids(ReportFilter(hotspot_key=KEY_A)) == [3, 1]
    assert ids(ReportFilter(kind="beacon")) == [4, 1]
    assert ids(ReportFilter(status="pending", kind="witness")) == [3, 2]
    repo.claim_beacons("w", 6_000, 60_000, 10)
    assert ids(ReportFilter(status="claimed")) == [4, 1]
    assert ids(ReportFilter(status="pending")) == [3, 2]
    assert ids(ReportFilter(from_ms=2_000, to_ms=3_000)) == [3, 2]  # from inclusive, to not
    assert ids(ReportFilter(), limit=2) == [4, 3] and ids(ReportFilter(), 2, 2) == [2, 1]


def test_verification_backlog_and_stored_epochs(repo: Repository) -> None:
    assert repo.verification_backlog(10_000) == (0, None)
    repo.insert_reports([beacon(1, ready_ms=5_000), beacon(2, ready_ms=7_000),
                         beacon(3, ready_ms=10_001), witness(4)])
    assert repo.verification_backlog(10_000) == (2, 5_000)  # ready at or before now
    assert repo.verification_backlog(7_000) == (2, 5_000)
    assert repo.verification_backlog(6_999) == (1, 5_000)
    repo.claim_beacons("w", 6_000, 60_000, 10)  # a claimed beacon still waits for its verdict
    assert repo.verification_backlog(10_000) == (2, 5_000)
    assert repo.stored_epochs() == (0, None)


def test_a_denial_lapses_at_its_expiry(repo: Repository) -> None:
    """Gaming detection's entries carry an expiry: at that millisecond they stop counting,
    before any new denylist version drops them; an entry without expiry never lapses."""
    repo.replace_denylist(1, KEY_A, [KEY_A, KEY_B], [], b"raw", 1,
                          denials=[(KEY_A, "detect", "{}", 5_000)])
    assert repo.is_denied(KEY_A, 4_999) and not repo.is_denied(KEY_A, 5_000)
    assert repo.is_denied(KEY_B, 10**15)
    assert repo.is_denied(KEY_A)  # on the list, expired or not


def test_verdict_rows_page_a_range_in_receive_then_id_order(repo: Repository) -> None:
    """`verdict_rows`: [from, to) by receive time, ties by report id (bytewise, as both
    databases compare blobs), resumed after a row; the columns the public read-back sends."""
    b1 = beacon(9, received_ms=1_000)
    w_late, w_tie_hi, w_tie_lo = (witness(7, received_ms=1_600), witness(8, received_ms=1_400),
                                  witness(3, received_ms=1_400))
    b2 = beacon(5, received_ms=2_000, data=b"y" * 51)
    repo.insert_reports([b1, b2, w_late, w_tie_hi, w_tie_lo])
    repo.claim_beacons("w", 10_000, 60_000, 10)
    repo.store_verdicts("w", b1.id, [verdict(b1, witnesses=2),
                                     verdict(w_late, beacon_id=b1.id),
                                     verdict(w_tie_hi, beacon_id=b1.id, valid=False),
                                     verdict(w_tie_lo, beacon_id=b1.id)])
    repo.store_verdicts("w", b2.id, [verdict(b2)])
    order = [b1, w_tie_lo, w_tie_hi, w_late, b2]

    rows = repo.verdict_rows(0, 2**63 - 1, None, 10)
    assert [bytes(r[0]) for r in rows] == [r.id for r in order]
    assert [tuple(r[1:]) for r in rows[:3]] == [
        (1_000, 0, KEY_A, None, 1, None), (1_400, 1, KEY_B, b1.id, 1, None),
        (1_400, 1, KEY_B, b1.id, 0, 7)]
    assert [bytes(r[0]) for r in repo.verdict_rows(1_400, 2_000, None, 10)] == [
        w_tie_lo.id, w_tie_hi.id, w_late.id]
    assert [bytes(r[0]) for r in repo.verdict_rows(0, 2**63 - 1, None, 2)] == [b1.id,
                                                                               w_tie_lo.id]
    after_tie = repo.verdict_rows(0, 2**63 - 1, (1_400, w_tie_lo.id), 10)
    assert [bytes(r[0]) for r in after_tie] == [w_tie_hi.id, w_late.id, b2.id]
    assert repo.verdict_rows(0, 2**63 - 1, (2_000, b2.id), 10) == []
