"""A witness's state lives in its verdict alone (migration 0140, docs/storage.md "Report
states"): pending = no verdict row, and every reader of the state sees it so; the stale sweep
reads witnesses from where it stopped. On SQLite and PostgreSQL alike."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from sqlite_costs import vm_steps

from oracle.retention import Pruner
from oracle.storage.migrate import load_migrations
from oracle.storage.repository import NewReport, ReportFilter, Repository, StoredVerdict

KEY_A = b"\x01" + b"a" * 32
KEY_B = b"\x01" + b"b" * 32
DATA = b"d" * 51
STALE_MS = 2_700_000  # docs/protocol.md §5: unverified 45 min after arrival
DAY_MS = 86_400_000


def beacon(n: int, received_ms: int = 1_000, data: bytes = DATA) -> NewReport:
    return NewReport(n.to_bytes(32, "big"), "beacon", KEY_A, received_ms, b"raw%d" % n, data,
                     b"e" * 32, received_ms + 1_000)


def witness(n: int, received_ms: int = 1_500, data: bytes = DATA) -> NewReport:
    return NewReport(n.to_bytes(32, "big"), "witness", KEY_B, received_ms, b"raw%d" % n, data,
                     None, 0)


def verdict(report: NewReport, beacon_id: bytes | None = None) -> StoredVerdict:
    return StoredVerdict(report.id, report.kind, report.hotspot_key, beacon_id,
                         report.received_ms, True, None, True, Decimal("1"), True, 0, "", 9_000)


def verify(repo: Repository, b: NewReport, *witnesses: NewReport) -> None:
    """Claim `b` and store its PoC: its verdict and its witnesses'."""
    assert b.id in [r.id for r in repo.claim_beacons("w", b.ready_ms, 60_000, 100)]
    assert repo.store_verdicts("w", b.id, [verdict(b), *(verdict(w, b.id) for w in witnesses)])


def stored_status(repo: Repository, report_id: bytes) -> str:
    """The `reports.status` column itself, which nobody reads for a witness any more."""
    with repo.transaction() as tx:
        tx.execute("SELECT status FROM reports WHERE id = ?", (report_id,))
        return str(tx.fetchall()[0][0])


def swept_ms(repo: Repository) -> int:
    with repo.transaction() as tx:
        tx.execute("SELECT swept_ms FROM witness_sweep WHERE id = 0")
        return int(tx.fetchall()[0][0])


def test_a_verdict_is_one_write_and_the_witness_is_then_verified(repo: Repository) -> None:
    b, taken, left = beacon(1), witness(2), witness(3)
    repo.insert_reports([b, taken, left])
    verify(repo, b, taken)
    assert stored_status(repo, taken.id) == "pending"  # its row was not written again
    assert repo.report(taken.id).status == "verified"  # type: ignore[union-attr]
    assert repo.report(left.id).status == "pending"  # type: ignore[union-attr]
    assert [w.id for w in repo.pending_witnesses(DATA)] == [left.id]
    assert [w.id for w in repo.pending_witnesses_of([DATA])[DATA]] == [left.id]
    assert repo.report(b.id).status == "verified"  # type: ignore[union-attr]  # beacons: as ever


def test_report_list_filters_witnesses_by_their_verdicts(repo: Repository) -> None:
    b, taken, left, lone = beacon(1), witness(2), witness(3), witness(4, data=b"z" * 51)
    repo.insert_reports([b, taken, left, lone])
    verify(repo, b, taken)
    repo.mark_stale(now_ms=left.received_ms + STALE_MS - 1, stale_after_ms=STALE_MS)

    def listed(status: str) -> list[bytes]:
        found = repo.find_reports(ReportFilter(kind="witness", status=status), 10, 0)
        return [r.id for r in found]

    # `left` (1,500) and `lone` (1,500) were received after the cutoff (1,499): not yet stale.
    assert sorted(listed("pending")) == sorted([left.id, lone.id])
    repo.mark_stale(now_ms=left.received_ms + STALE_MS, stale_after_ms=STALE_MS)
    assert listed("verified") == [taken.id]
    assert sorted(listed("stale")) == sorted([left.id, lone.id])
    assert listed("pending") == []
    assert {i: r.status for i, r in repo.reports_by_id([taken.id, lone.id]).items()} == {
        taken.id: "verified", lone.id: "stale"}
    statuses = sorted(r.status for r in repo.reports_for_hotspot(KEY_B))
    assert statuses == ["stale", "stale", "verified"]


def test_the_sweep_reads_from_its_mark_and_an_older_report_moves_it_back(
    repo: Repository,
) -> None:
    first = witness(1, received_ms=10_000)
    repo.insert_reports([first])
    assert repo.mark_stale(now_ms=10_000 + STALE_MS, stale_after_ms=STALE_MS) == 1
    assert swept_ms(repo) == 10_000
    late = witness(2, received_ms=5_000)  # e.g. an import of older reports
    repo.insert_reports([late])  # lowers the mark in the transaction that stores it
    assert swept_ms(repo) == 4_999
    repo.insert_reports([witness(3, received_ms=4_999)])  # at the mark: read again too
    assert swept_ms(repo) == 4_998
    repo.insert_reports([witness(4, received_ms=4_999 + 1)])  # above it: left
    assert swept_ms(repo) == 4_998
    assert repo.mark_stale(now_ms=10_000 + STALE_MS, stale_after_ms=STALE_MS) == 3
    assert repo.verdict(late.id).reason == 16  # type: ignore[union-attr]
    assert repo.verdict(first.id).verified_at_ms == 10_000 + STALE_MS  # kept, not rewritten
    assert swept_ms(repo) == 10_000
    # A sweep with an earlier clock leaves the mark where it is.
    assert repo.mark_stale(now_ms=1_000 + STALE_MS, stale_after_ms=STALE_MS) == 0
    assert swept_ms(repo) == 10_000


def test_a_reset_reopens_its_witnesses_for_the_sweep(repo: Repository) -> None:
    b, w = beacon(1, received_ms=1_000), witness(2, received_ms=1_100)
    lone = witness(3, received_ms=1_200, data=b"z" * 51)
    repo.insert_reports([b, w, lone])
    verify(repo, b, w)
    assert repo.mark_stale(now_ms=1_200 + STALE_MS, stale_after_ms=STALE_MS) == 1  # lone
    assert repo.reset_verification(0, 5_000) == 3
    assert swept_ms(repo) == 1_099  # below the oldest witness reopened
    assert [x.id for x in repo.pending_witnesses(DATA)] == [w.id]
    assert repo.report(lone.id).status == "pending"  # type: ignore[union-attr]
    # Both reopened witnesses go stale again if nothing verifies them (the beacon too).
    assert repo.mark_stale(now_ms=1_200 + STALE_MS, stale_after_ms=STALE_MS) == 3
    assert repo.report(w.id).status == "stale"  # type: ignore[union-attr]


def test_retention_takes_a_witness_once_it_has_a_verdict(repo: Repository) -> None:
    b, taken, left = beacon(1), witness(2), witness(3)
    repo.insert_reports([b, taken, left])
    verify(repo, b, taken)
    old = 10 * DAY_MS  # the three were received long before the retention cutoff
    assert [r.id for r in repo.finished_reports(old, 10)] == [b.id, taken.id]
    assert repo.delete_reports([left.id]) == 0  # still pending: kept
    pruned = Pruner(repo, raw_days=3, clock_ms=lambda: old).run_once()
    assert pruned.reports == 2
    assert repo.report(left.id) is not None and repo.report(taken.id) is None
    assert repo.verdict(taken.id) is not None  # verdicts are kept for good


def test_a_store_from_before_0140_keeps_its_pending_witnesses(repo: Repository) -> None:
    """Migrating a store whose witnesses carry their state in `reports.status`: the pending
    one is swept when its time comes, the finished ones keep their verdicts."""
    done, pending, newest = (witness(1, received_ms=1_000), witness(2, received_ms=2_000),
                             witness(3, received_ms=3_000))
    repo.insert_reports([done, pending, newest])
    with repo.transaction() as tx:  # the store as 0130 left it
        tx.execute("DROP TABLE witness_sweep")
        tx.execute("DROP INDEX reports_queue")
        tx.execute("CREATE INDEX reports_queue ON reports (kind, status, ready_ms)")
        tx.execute("DELETE FROM schema_version WHERE version = 140")  # later ones touch
        # other tables and stay applied
        tx.execute("UPDATE reports SET status = 'stale' WHERE id IN (?, ?)", (done.id, newest.id))
    with repo.transaction() as tx:
        tx.execute("INSERT INTO verdicts (report_id, kind, hotspot_key, beacon_id, received_ms, "
                   "valid, reason, selected, location_trust, passed_regular, witnesses, detail, "
                   "verified_at_ms) VALUES (?, 1, ?, NULL, ?, 0, 16, 0, '0', 0, 0, 'old', 1)",
                   (done.id, KEY_B, 1_000))
    assert repo.migrate() == 1  # type: ignore[attr-defined]
    assert swept_ms(repo) == 1_999  # just below the oldest pending witness
    assert repo.report(pending.id).status == "pending"  # type: ignore[union-attr]
    assert repo.mark_stale(now_ms=3_000 + STALE_MS, stale_after_ms=STALE_MS) == 2
    assert repo.verdict(done.id).detail == "old"  # type: ignore[union-attr]
    assert repo.report(pending.id).status == "stale"  # type: ignore[union-attr]
    assert load_migrations()[-1].version >= 140


def _witnesses(count: int, first: int) -> list[NewReport]:
    return [NewReport(hashlib.sha256(b"w%d" % i).digest(), "witness", KEY_B, 1_000 + i, b"r",
                      hashlib.sha256(b"data%d" % i).digest()[:20], None, 0)
            for i in range(first, first + count)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # its planner
def test_the_sweep_does_not_read_the_witnesses_it_swept_before(repo: Repository) -> None:
    """A sweep costs SQLite about as much after 5,000 witnesses were swept as after 10: it
    reads from its mark, not every witness ever stored."""
    assert repo.dialect == "sqlite"
    repo.insert_reports(_witnesses(10, 0))
    repo.mark_stale(now_ms=1_010 + STALE_MS, stale_after_ms=STALE_MS)
    repo.insert_reports(_witnesses(2, 20_000))
    few = vm_steps(repo, lambda: repo.mark_stale(21_002 + STALE_MS, STALE_MS))
    repo.insert_reports(_witnesses(5_000, 10))  # below the mark: lowers it
    repo.mark_stale(now_ms=6_010 + STALE_MS, stale_after_ms=STALE_MS)
    repo.insert_reports(_witnesses(2, 30_000))
    assert vm_steps(repo, lambda: repo.mark_stale(31_002 + STALE_MS, STALE_MS)) <= 2 * few


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # its planner
def test_a_claim_does_not_read_the_witnesses(repo: Repository) -> None:
    """The queue index holds beacons only (0140): a claim costs SQLite about as much with
    5,000 witnesses stored as with 10."""
    assert repo.dialect == "sqlite"
    repo.insert_reports([beacon(1, received_ms=0), beacon(2, received_ms=0), *_witnesses(10, 0)])
    few = vm_steps(repo, lambda: repo.claim_beacons("w", 10_000, 60_000, 1))
    repo.insert_reports(_witnesses(5_000, 10))
    assert vm_steps(repo, lambda: repo.claim_beacons("w", 10_000, 60_000, 1)) <= 2 * few
    assert repo.verification_backlog(10_000) == (2, 1_000)  # the beacons, not a witness


def test_an_import_of_older_reports_is_swept_too(
    tmp_path, monkeypatch, capsys  # type: ignore[no-untyped-def]
) -> None:
    """`pocnet-oracle import` of witnesses older than the sweep's mark (a backfill after the
    network ran) moves the mark back: the next `verify` marks them stale, as it would have."""
    import json

    from oracle_factories import allow_maker, keypair, witness_report

    from oracle.cli import main
    from oracle.storage import open_repository
    from pocnet import signing
    from pocnet.keys import create_keyfile
    from pocnet.report_file import record_line

    url = f"sqlite:///{tmp_path / 'oracle.db'}"
    monkeypatch.setenv("POCNET_ORACLE_ORACLE_DATABASE", url)
    monkeypatch.setenv("POCNET_ORACLE_ORACLE_KEY", str(tmp_path / "oracle.key"))
    repo = open_repository(url)
    allow_maker(repo)
    repo.close()
    create_keyfile(tmp_path / "oracle.key")
    newer, older = witness_report(keypair(1)), witness_report(keypair(2))

    def run(*argv: str) -> dict:  # type: ignore[type-arg]
        assert main(list(argv)) == 0
        return json.loads(capsys.readouterr().out)

    def imported(ms: int, report) -> None:  # type: ignore[no-untyped-def]
        path = tmp_path / f"{ms}.jsonl"
        path.write_text(record_line(ms, "witness", report.SerializeToString()))
        assert run("import", str(path), "--json")["stored"] == 1

    imported(2_000_000_000, newer)  # long before the wall clock: stale at once
    assert run("verify", "--json")["stale"] == 1
    imported(1_000_000_000, older)
    assert run("verify", "--json")["stale"] == 1
    repo = open_repository(url)
    try:
        assert repo.report(signing.report_id(older)).status == "stale"  # type: ignore[union-attr]
    finally:
        repo.close()
