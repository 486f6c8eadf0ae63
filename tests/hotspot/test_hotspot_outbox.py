"""The durable outbox: order, ack-only removal, dedup, size cap and expiry drops, state."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from pathlib import Path

from hotspot_testkit import fill_disk

from hotspot.outbox import AsyncOutbox, Outbox
from pocnet import signing
from pocnet.wire import reports_pb2


def witness(n: int) -> reports_pb2.WitnessReport:
    return reports_pb2.WitnessReport(pub_key=b"\x01" * 33, data=n.to_bytes(51, "big"),
                                     timestamp=n, signal=-900)


def test_wal_and_full_sync(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    assert box._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert box._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_fifo_and_removed_only_on_ack(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    box = Outbox(path)
    ids = [box.enqueue("witness", witness(n), created_ns=n) for n in range(5)]
    assert ids[0] == signing.report_id(witness(0))
    items = box.peek(3)
    assert [i.report.timestamp for i in items] == [0, 1, 2]
    box.ack(items[0].seq)
    box.attempted(items[1].seq)
    box.close()
    reopened = Outbox(path)  # what a restart after a crash sees
    items = reopened.peek(10)
    assert [i.report.timestamp for i in items] == [1, 2, 3, 4]
    assert items[0].attempts == 1
    assert items[0].report == witness(1)


def test_same_report_is_queued_once(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    box.enqueue("witness", witness(1), 1)
    box.enqueue("witness", witness(1), 2)
    assert box.depth() == 1


def test_cap_drops_oldest_and_counts(tmp_path: Path, caplog) -> None:
    dropped: list[tuple[str, int]] = []
    box = Outbox(tmp_path / "o.sqlite", max_reports=10, on_drop=lambda r, n: dropped.append((r, n)))
    for n in range(13):
        box.enqueue("witness", witness(n), n)
    assert box.depth() == 10
    assert [i.report.timestamp for i in box.peek(1)] == [3]
    assert box.drops() == {"overflow": 3}
    assert dropped == [("overflow", 1)] * 3
    assert "outbox full" in caplog.text


def test_cap_drops_already_expired_reports_before_the_oldest(tmp_path: Path, caplog) -> None:
    """A report the oracle can no longer accept costs nothing to lose: the cap takes it first,
    even when it is not the oldest; with none expired, the oldest goes as before."""
    dropped: list[tuple[str, int]] = []
    box = Outbox(tmp_path / "o.sqlite", max_reports=3,
                 on_drop=lambda r, n: dropped.append((r, n)))
    box.enqueue("witness", witness(0), 0, expires_ns=1_000)           # oldest, still valid
    box.enqueue("witness", witness(1), 1, expires_ns=50)              # expired by t=100
    box.enqueue("coverage", reports_pb2.CoverageReport(timestamp=2), 2, expires_ns=None)
    box.enqueue("witness", witness(3), 100, expires_ns=1_100)
    assert sorted(i.report.timestamp for i in box.peek(5)) == [0, 2, 3]
    box.enqueue("witness", witness(4), 200, expires_ns=1_200)         # none expired now
    assert sorted(i.report.timestamp for i in box.peek(5)) == [2, 3, 4]
    assert box.drops() == {"overflow": 2}
    assert dropped == [("overflow", 1)] * 2
    assert caplog.text.count("outbox full") == 2


def test_expired_reports_are_dropped_with_a_reason(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    box.enqueue("beacon", reports_pb2.BeaconReport(data=b"a" * 51), 0, expires_ns=100)
    box.enqueue("coverage", reports_pb2.CoverageReport(timestamp=1), 0, expires_ns=None)
    box.enqueue("witness", witness(2), 0, expires_ns=1_000)
    assert box.prune_expired(now_ns=500) == 1
    assert box.depth() == 2
    box.drop(box.peek(1)[0].seq, "entropy_expired")
    assert box.drops() == {"expired": 1, "entropy_expired": 1}


def test_a_long_outage_expires_in_one_commit_and_one_log_line(tmp_path: Path, caplog,
                                                              monkeypatch) -> None:
    """After a day offline thousands of witnesses expire at once: one fsync'd commit per
    report would block the event loop for minutes on an SD card, one log line each flood it."""
    dropped: list[tuple[str, int]] = []
    box = Outbox(tmp_path / "o.sqlite", on_drop=lambda r, n: dropped.append((r, n)))
    for n in range(300):
        box.enqueue("witness", witness(n), n, expires_ns=1_000 + n)
    box.enqueue("witness", witness(999), 0, expires_ns=10_000)
    commits = []
    real_tx = box._tx
    monkeypatch.setattr(box, "_tx", lambda: commits.append(1) or real_tx())
    assert box.prune_expired(now_ns=5_000) == 300
    assert len(commits) == 1
    assert box.depth() == 1 and box.drops() == {"expired": 300}
    assert dropped == [("expired", 300)]
    assert sum(getattr(r, "reason", None) == "expired" for r in caplog.records) == 1


def test_state_survives_restart_and_a_second_reader_sees_it(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    box = Outbox(path)
    box.set_state("last_beacon", {"timestamp_ns": 5, "frequency_hz": 868_100_000})
    box.set_state("last_beacon", {"timestamp_ns": 6, "frequency_hz": 868_100_000})
    reader = sqlite3.connect(path)
    assert reader.execute("SELECT COUNT(*) FROM state").fetchone()[0] == 1
    assert Outbox(path).get_state("last_beacon")["timestamp_ns"] == 6
    assert box.get_state("absent") is None


def test_a_batch_of_acks_is_one_commit(tmp_path: Path) -> None:
    """A report batch's acks leave the outbox together: one commit (one fsync on the board's
    storage) for the batch, not one per report; the others stay, across a restart."""
    path = tmp_path / "o.sqlite"
    seen: list[int] = []
    box = Outbox(path, on_change=seen.append)
    for n in range(5):
        box.enqueue("witness", witness(n), created_ns=n)
    items = box.peek(5)
    statements: list[str] = []
    box._db.set_trace_callback(statements.append)
    box.ack_many([items[0].seq, items[2].seq, items[4].seq])
    box._db.set_trace_callback(None)
    assert sum(1 for s in statements if s.strip().upper().startswith("COMMIT")) == 1
    assert seen[-1] == 2 and len(seen) == 6  # five enqueues, then one change for the batch
    box.close()
    assert [i.report.timestamp for i in Outbox(path).peek(10)] == [1, 3]


def test_change_callback_reports_depth(tmp_path: Path) -> None:
    seen: list[int] = []
    box = Outbox(tmp_path / "o.sqlite", on_change=seen.append)
    box.enqueue("witness", witness(1), 1)
    box.enqueue("witness", witness(2), 1)
    box.ack(box.peek(1)[0].seq)
    assert seen == [1, 2, 1]


def test_a_full_disk_drops_the_report_says_so_and_never_crashes(tmp_path: Path,
                                                                  caplog) -> None:
    """A daemon that crashes on a full disk is restarted by systemd into the same crash: the
    outbox instead drops the report with a counted reason and one clear line, and goes on."""
    dropped: list[tuple[str, int]] = []
    box = Outbox(tmp_path / "o.sqlite", on_drop=lambda r, n: dropped.append((r, n)))
    box.enqueue("witness", witness(0), 0)
    fill_disk(box)
    results = [box.enqueue("witness", witness(n), n) for n in range(1, 200)]
    assert None in results                      # some did not fit ...
    refused = results.count(None)
    assert dropped == [("disk_full", 1)] * refused
    assert box.depth() == 200 - refused         # ... and nothing else was lost
    assert "disk is full" in caplog.text and str(tmp_path) in caplog.text
    box.set_state("last_witness", {"data": "x" * 50_000})  # informational: never raises
    first = box.peek(1)[0]
    box.ack(first.seq)                          # deleting still works and frees room
    assert box.depth() == 199 - refused


# --- expiry-aware delivery -----------------------------------------------------------------

def coverage(n: int) -> reports_pb2.CoverageReport:
    return reports_pb2.CoverageReport(pub_key=b"\x01" * 33, timestamp=n)


def test_soonest_expiry_goes_first_and_never_expiring_last(tmp_path: Path) -> None:
    """Witnesses and beacons (180 s to live) before coverage (a day), whatever the queue
    order: a coverage backlog must not make the short-lived reports expire waiting."""
    box = Outbox(tmp_path / "o.sqlite")
    day = 86_400 * 10**9
    box.enqueue("coverage", coverage(1), 0, expires_ns=day)
    box.enqueue("witness", witness(2), 0, expires_ns=None)
    box.enqueue("witness", witness(3), 0, expires_ns=180 * 10**9)
    box.enqueue("beacon", reports_pb2.BeaconReport(data=b"b" * 51), 0, expires_ns=170 * 10**9)
    box.enqueue("witness", witness(4), 0, expires_ns=180 * 10**9)
    assert [i.kind for i in box.peek(10, now_ns=0)] == [
        "beacon", "witness", "witness", "coverage", "witness"]
    assert [i.report.timestamp for i in box.peek(10, now_ns=0)][1:3] == [3, 4]  # queue order


def test_a_failed_report_waits_its_own_turn_and_that_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    box = Outbox(path)
    for n in range(3):
        box.enqueue("witness", witness(n), 0, expires_ns=1_000_000 + n)
    first = box.peek(1, now_ns=0)[0]
    assert first.report.timestamp == 0 and first.next_attempt_ns == 0
    box.attempted(first.seq, next_attempt_ns=500)
    assert [i.report.timestamp for i in box.peek(10, now_ns=100)] == [1, 2]
    assert box.next_due_ns(now_ns=100) == 100          # others are due now
    for item in box.peek(10, now_ns=100):
        box.ack(item.seq)
    assert box.peek(10, now_ns=100) == []
    assert box.next_due_ns(now_ns=100) == 500
    box.close()
    reopened = Outbox(path)                             # kill -9 and restart: still held back
    assert reopened.peek(10, now_ns=499) == []
    (due,) = reopened.peek(10, now_ns=500)
    assert due.seq == first.seq and due.attempts == 1 and due.next_attempt_ns == 500
    assert reopened.peek(10)[0].seq == first.seq        # without a time: everything, in order
    reopened.ack(due.seq)
    assert reopened.next_due_ns(now_ns=0) is None


def test_a_clock_stepped_back_does_not_hold_reports_for_hours(tmp_path: Path) -> None:
    """NTP steps the host clock back an hour after a failure: the stored next attempt now
    lies further ahead than any backoff, so the report is due rather than stuck that long."""
    box = Outbox(tmp_path / "o.sqlite")
    box.enqueue("witness", witness(1), 0)
    seq = box.peek(1)[0].seq
    set_at = 10_000 * 10**9
    box.attempted(seq, next_attempt_ns=set_at + 60 * 10**9)
    assert box.peek(1, now_ns=set_at) == []
    stepped_back = set_at - 2 * 3600 * 10**9
    assert [i.seq for i in box.peek(1, now_ns=stepped_back)] == [seq]
    assert box.next_due_ns(stepped_back) == stepped_back


OLD_SCHEMA = """
CREATE TABLE reports (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id BLOB NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    body BLOB NOT NULL,
    created_ns INTEGER NOT NULL,
    expires_ns INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE drops (reason TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def test_an_outbox_from_the_previous_schema_is_migrated_keeping_its_reports(
        tmp_path: Path, caplog) -> None:
    """A hotspot upgraded with reports still queued: the file the old release wrote (no
    per-report retry column) opens, keeps every report, counter and state, and works."""
    caplog.set_level(logging.INFO, logger="hotspot.outbox")
    path = tmp_path / "o.sqlite"
    old = sqlite3.connect(path)
    old.executescript(OLD_SCHEMA)
    for n in range(3):
        report = witness(n)
        old.execute("INSERT INTO reports(report_id, kind, body, created_ns, expires_ns, "
                    "attempts) VALUES (?, 'witness', ?, ?, ?, ?)",
                    (signing.report_id(report), report.SerializeToString(), n, 10**12, n))
    old.execute("INSERT INTO drops VALUES ('expired', 4)")
    old.execute("INSERT INTO state VALUES ('region', '\"EU868\"')")
    old.commit()
    old.close()

    box = Outbox(path)
    columns = {row[1] for row in box._db.execute("PRAGMA table_info(reports)")}
    assert "next_attempt_ns" in columns
    assert "added the per-report retry time" in caplog.text
    items = box.peek(10, now_ns=0)
    assert [(i.report, i.attempts, i.next_attempt_ns) for i in items] == [
        (witness(n), n, 0) for n in range(3)]
    assert box.drops() == {"expired": 4} and box.get_state("region") == "EU868"
    indexes = {row[1] for row in box._db.execute("PRAGMA index_list(reports)")}
    assert {"reports_by_expiry", "reports_by_due"} <= indexes
    box.attempted(items[0].seq, next_attempt_ns=50)
    box.enqueue("witness", witness(9), 9, expires_ns=10**12)
    box.close()
    caplog.clear()
    again = Outbox(path)                                # a second open: nothing to migrate
    assert "added the per-report retry time" not in caplog.text
    assert [i.report.timestamp for i in again.peek(10, now_ns=0)] == [1, 2, 9]
    assert again.peek(10, now_ns=50)[0].attempts == 1


def test_picking_the_next_reports_needs_no_sort_of_the_whole_backlog(tmp_path: Path) -> None:
    """With the order by seq gone, a 10 000-report backlog would be sorted for every batch
    of 16 on the Pi's event loop: the delivery order is served from an index."""
    box = Outbox(tmp_path / "o.sqlite")
    statements: list[str] = []
    box._db.set_trace_callback(statements.append)       # the SQL peek really runs
    box.peek(16, now_ns=5)
    box._db.set_trace_callback(None)
    (query,) = [q for q in statements if "FROM reports" in q]
    plan = " ".join(str(row[3]) for row in box._db.execute(f"EXPLAIN QUERY PLAN {query}"))
    assert "reports_by_expiry" in plan and "TEMP B-TREE" not in plan


def test_the_loop_runs_while_a_commit_waits_and_enqueue_returns_only_after_it(
        tmp_path: Path) -> None:
    """Issue 15: the commit (and its fsync) ran on the event loop's thread. Another process
    holding the write lock makes the daemon's commit wait: the loop must keep turning
    meanwhile, and `enqueue` must return only once the report is committed."""
    path = tmp_path / "o.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    changes: list[tuple[int, int]] = []

    async def go() -> tuple[bool, bytes | None, int]:
        box = AsyncOutbox.open(path, on_change=lambda n: changes.append(
            (n, threading.get_ident())))
        holder.execute("BEGIN IMMEDIATE")
        pending = asyncio.create_task(box.enqueue("witness", witness(1), created_ns=1))
        for _ in range(200):
            await asyncio.sleep(0)              # the loop turns while the write waits
        waited = not pending.done()
        holder.execute("COMMIT")
        report_id = await pending
        committed = Outbox(path).depth()        # another connection sees it: committed
        box.close()
        return waited, report_id, committed

    waited, report_id, committed = asyncio.run(go())
    assert waited and report_id == signing.report_id(witness(1)) and committed == 1
    assert changes == [(1, threading.get_ident())]   # the callback ran on the loop's thread


def test_async_operations_keep_their_order_and_close_finishes_them(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"

    async def go() -> None:
        box = AsyncOutbox.open(path, max_reports=3)
        for n in range(5):
            await box.enqueue("witness", witness(n), created_ns=n)
        first, *_ = await box.peek(1)
        await box.ack(first.seq)
        await box.attempted((await box.peek(1))[0].seq, next_attempt_ns=10**18)
        box.record_state("gps", {"status": "lost"})   # not awaited: queued behind the rest
        box.close()

    asyncio.run(go())
    reopened = Outbox(path)
    assert [p.report.timestamp for p in reopened.peek(10)] == [3, 4]
    assert reopened.drops() == {"overflow": 2}
    assert reopened.get_state("gps") == {"status": "lost"}
