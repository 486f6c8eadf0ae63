"""The durable outbox: order, ack-only removal, dedup, size cap and expiry drops, state."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hotspot_testkit import fill_disk

from hotspot.outbox import Outbox
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
