"""The durable report queue: written before sending, deleted only on the oracle's ack.

SQLite in WAL mode with `synchronous=FULL`, so a report that `enqueue` returned for survives
power loss and `kill -9`. Reports carry the time after which the oracle can no longer accept
them (the entropy window, docs/protocol.md §4/§5); those are dropped with a counted reason instead
of being retried forever. Delivery order is by expiry, soonest first (beacons and witnesses live
180 s, coverage a day), and a report that failed carries its own next-attempt time, so one
report the oracle keeps failing cannot hold up the others behind it. A size cap drops, counted
and logged, the reports whose loss costs least: first those already expired (the oracle would
refuse them anyway), then the oldest by enqueue order. Ordering the live ones by expiry instead
was considered and rejected: the soonest to expire are the beacons and witnesses that earn
rewards if the oracle comes back within minutes, and the latest to expire are the freshest
data; whether a report would have been delivered in time is unknowable at the cap, and a full
queue means a long outage, in which the oldest reports are the ones least likely to still be
useful. A disk that
refuses a write (full, failing) drops that report, counted and logged, rather than crashing the
daemon into a systemd restart loop that cannot free any space. A small state table keeps what
`pocnet-hotspot info` shows (last beacon, last witness, region).

The daemon's tasks use `AsyncOutbox`: the same operations on one worker thread, so a commit's
fsync (milliseconds on an SD card, more on a worn one) never stalls the event loop that serves
the radio and the oracle; a task is told a report is stored only after its commit returned.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from google.protobuf.message import Message

from hotspot.errors import OutboxError, OutboxFull
from pocnet import signing
from pocnet.wire import reports_pb2

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

KINDS: dict[str, type[Message]] = {
    "beacon": reports_pb2.BeaconReport,
    "witness": reports_pb2.WitnessReport,
    "coverage": reports_pb2.CoverageReport,
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id BLOB NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    body BLOB NOT NULL,
    created_ns INTEGER NOT NULL,
    expires_ns INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ns INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS drops (reason TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Added after the first release: an outbox file from then lacks it and gains it on open.
_NEXT_ATTEMPT_COLUMN = "next_attempt_ns INTEGER NOT NULL DEFAULT 0"
# A next attempt further ahead than this means the host clock was stepped back since it was
# set (the longest per-report backoff is minutes): the report is due now, not in hours.
RETRY_HORIZON_NS = 3600 * 1_000_000_000
# Delivery order: soonest expiry first, reports that never expire last, then queue order.
# Indexed (an index on the same expressions) so a deep backlog costs no sort per batch.
_ORDER = "ORDER BY expires_ns IS NULL, expires_ns, seq"
_INDEXES = """
CREATE INDEX IF NOT EXISTS reports_by_expiry ON reports(expires_ns IS NULL, expires_ns, seq);
CREATE INDEX IF NOT EXISTS reports_by_due ON reports(next_attempt_ns);
"""


@dataclass(frozen=True)
class Pending:
    """A queued report. `report` is as enqueued (device-signed); the client may re-sign it."""

    seq: int
    report_id: bytes
    kind: str
    report: Message
    created_ns: int
    expires_ns: int | None
    attempts: int
    next_attempt_ns: int = 0


class Outbox:
    """One connection, used by one thread at a time: the caller's, or AsyncOutbox's worker."""

    def __init__(
        self,
        path: str | Path,
        max_reports: int = 10_000,
        on_change: Callable[[int], None] | None = None,
        on_drop: Callable[[str, int], None] | None = None,
        readonly: bool = False,
    ) -> None:
        self._max = max_reports
        self._path = path
        self._on_change = on_change
        self._on_drop = on_drop
        try:
            if readonly:
                uri = f"{Path(path).resolve().as_uri()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10.0,
                                           check_same_thread=False)
                return
            if str(path) != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), isolation_level=None, timeout=10.0,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._migrate()
        except (sqlite3.Error, OSError, OutboxError) as exc:
            raise OutboxError(f"{path}: cannot open outbox: {exc}") from None

    def close(self) -> None:
        self._db.close()

    def _migrate(self) -> None:
        """Bring an outbox written by an older release up to this schema, keeping its reports.

        Checked again inside the write lock: a second process (`info`, a test) may open the
        same file at the same moment."""
        with self._tx():
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(reports)")}
            if "next_attempt_ns" not in columns:
                self._db.execute(f"ALTER TABLE reports ADD COLUMN {_NEXT_ATTEMPT_COLUMN}")
                log.info("outbox %s: added the per-report retry time", self._path,
                         extra={"event": "outbox_migrated"})
            for statement in filter(str.strip, _INDEXES.split(";")):
                self._db.execute(statement)

    def enqueue(self, kind: str, report: Message, created_ns: int,
                expires_ns: int | None = None) -> bytes | None:
        """Store a report durably; returns its content-hash id (a duplicate is stored once),
        or None when the disk refused it (dropped, logged and counted, never raised)."""
        if kind not in KINDS:
            raise ValueError(f"unknown report kind {kind!r}")
        report_id = signing.report_id(report)
        try:
            over = self._insert(kind, report, report_id, created_ns, expires_ns)
        except OutboxError as exc:
            reason = "disk_full" if isinstance(exc, OutboxFull) else "storage_error"
            self._dropped(reason, 1, f"outbox {self._path} cannot store a {kind} report "
                          f"({exc}): dropped; free space there", logging.ERROR)
            return None
        if over > 0:
            self._dropped("overflow", over, f"outbox full: dropped {over} report(s), already "
                          "expired ones first, then the oldest")
        self._changed()
        return report_id

    def _insert(self, kind: str, report: Message, report_id: bytes, created_ns: int,
                expires_ns: int | None) -> int:
        """One transaction: the report in, those beyond the cap out (already expired at
        `created_ns` first, then the oldest); how many went out."""
        with self._tx():
            self._db.execute(
                "INSERT OR IGNORE INTO reports(report_id, kind, body, created_ns, expires_ns) "
                "VALUES (?, ?, ?, ?, ?)",
                (report_id, kind, report.SerializeToString(), created_ns, expires_ns),
            )
            over = self._count() - self._max
            if over > 0:
                self._db.execute(
                    "DELETE FROM reports WHERE seq IN (SELECT seq FROM reports ORDER BY "
                    "(expires_ns IS NOT NULL AND expires_ns < ?) DESC, seq LIMIT ?)",
                    (created_ns, over),
                )
                self._count_drop("overflow", over)
        return over

    def peek(self, limit: int = 16, now_ns: int | None = None) -> list[Pending]:
        """The reports to send next, soonest expiry first (queue order among equals).

        With `now_ns`, only those due: a report that failed waits for its own next-attempt
        time (see `attempted`) while the others go ahead of it."""
        where, args = "", ()
        if now_ns is not None:
            where = "WHERE next_attempt_ns <= ? OR next_attempt_ns > ? "
            args = (now_ns, now_ns + RETRY_HORIZON_NS)
        rows = self._db.execute(
            "SELECT seq, report_id, kind, body, created_ns, expires_ns, attempts, "
            f"next_attempt_ns FROM reports {where}{_ORDER} LIMIT ?", (*args, limit)
        ).fetchall()
        return [
            Pending(seq, bytes(rid), kind, KINDS[kind].FromString(body), created, expires, att,
                    due)
            for seq, rid, kind, body, created, expires, att, due in rows
        ]

    def next_due_ns(self, now_ns: int) -> int | None:
        """When the earliest waiting report is due (now_ns if one is due already), None when
        the outbox is empty: the uploader sleeps until then or until something is queued."""
        row = self._db.execute("SELECT MIN(next_attempt_ns) FROM reports").fetchone()
        if row[0] is None:
            return None
        due = int(row[0])
        return now_ns if due <= now_ns or due > now_ns + RETRY_HORIZON_NS else due

    def ack(self, seq: int) -> None:
        """The oracle has it durably: forget it."""
        self.ack_many((seq,))

    def ack_many(self, seqs: Sequence[int]) -> None:
        """The oracle has all of them durably (a report batch's acks): forget them in one
        commit, one fsync for the batch instead of one per report."""
        with self._tx():
            self._db.executemany("DELETE FROM reports WHERE seq = ?", [(s,) for s in seqs])
        self._changed()

    def attempted(self, seq: int, next_attempt_ns: int | None = None) -> None:
        """Count a failed delivery; `next_attempt_ns` (persisted) keeps it back until then."""
        with self._tx():
            if next_attempt_ns is None:
                self._db.execute("UPDATE reports SET attempts = attempts + 1 WHERE seq = ?",
                                 (seq,))
            else:
                self._db.execute("UPDATE reports SET attempts = attempts + 1, "
                                 "next_attempt_ns = ? WHERE seq = ?", (next_attempt_ns, seq))

    def drop(self, seq: int, reason: str) -> None:
        """Give up on one report for `reason` (counted; the oracle can never accept it)."""
        with self._tx():
            cur = self._db.execute("DELETE FROM reports WHERE seq = ?", (seq,))
            if cur.rowcount:
                self._count_drop(reason, 1)
        if cur.rowcount:
            self._dropped(reason, 1, f"dropped report {seq}: {reason}")
            self._changed()

    def prune_expired(self, now_ns: int) -> int:
        """Drop every report whose acceptance window closed before `now_ns`: one commit and
        one log line however many (a day offline expires thousands at once)."""
        with self._tx():
            n = self._db.execute(
                "DELETE FROM reports WHERE expires_ns IS NOT NULL AND expires_ns < ?", (now_ns,)
            ).rowcount
            if n:
                self._count_drop("expired", n)
        if n:
            self._dropped("expired", n, f"dropped {n} report(s) whose acceptance window had "
                          "closed")
            self._changed()
        return n

    def depth(self) -> int:
        return self._count()

    def drops(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT reason, count FROM drops").fetchall())

    def set_state(self, key: str, value: Any) -> None:
        """Record what `info` shows; informational, so a refused write is logged, not raised."""
        try:
            with self._tx():
                self._db.execute(
                    "INSERT INTO state(key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, json.dumps(value, sort_keys=True)),
                )
        except OutboxError as exc:
            log.warning("outbox %s: state %r not recorded: %s", self._path, key, exc,
                        extra={"event": "outbox_state_failed"})

    def get_state(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def _count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM reports").fetchone()[0])

    def _count_drop(self, reason: str, n: int) -> None:
        self._db.execute(
            "INSERT INTO drops(reason, count) VALUES (?, ?) "
            "ON CONFLICT(reason) DO UPDATE SET count = count + excluded.count", (reason, n)
        )

    def _dropped(self, reason: str, n: int, message: str, level: int = logging.WARNING) -> None:
        """Say so, once, and tell the metrics: the outbox never drops silently."""
        log.log(level, "%s", message,
                extra={"event": "outbox_drop", "reason": reason, "count": n})
        if self._on_drop:
            self._on_drop(reason, n)

    def _changed(self) -> None:
        if self._on_change:
            self._on_change(self._count())

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT: one fsync'd commit per call (synchronous=FULL). Any SQLite
    error inside rolls back and becomes OutboxError (OutboxFull when the disk is full)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _translate(exc, "outbox") from None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
                return
            except sqlite3.Error as err:
                exc = err
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite already rolled back (it does on SQLITE_FULL)
        if isinstance(exc, sqlite3.Error):
            raise _translate(exc, "outbox: write failed") from None


def _translate(exc: sqlite3.Error, what: str) -> OutboxError:
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return OutboxFull(f"{what}: the disk is full ({exc})")
    return OutboxError(f"{what}: {exc}")


class AsyncOutbox:
    """The daemon's outbox: Outbox's operations, each run on one worker thread.

    One thread, so operations run one at a time, in the order the tasks issued them, on the one
    connection. A write's coroutine returns after its COMMIT (fsync'd, synchronous=FULL) did, so
    "stored" means on disk exactly as with the synchronous Outbox. A task cancelled while it
    waits was never told its report is stored: the write either had not started (and never
    will) or completes, and `close` waits for it. The depth and drop callbacks run on the event
    loop's thread (they feed Watches and metrics).
    `worker` is injected like the clock: a task's test may run the operations in place.
    """

    def __init__(self, box: Outbox, worker: Executor | None = None) -> None:
        self.box = box
        self._worker = worker or ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")

    @classmethod
    def open(cls, path: str | Path, max_reports: int = 10_000,
             on_change: Callable[[int], None] | None = None,
             on_drop: Callable[[str, int], None] | None = None) -> AsyncOutbox:
        """Open (on the calling thread, at start) with callbacks handed back to the running
        loop."""
        loop = asyncio.get_running_loop()
        change = None if on_change is None else (
            lambda n: loop.call_soon_threadsafe(on_change, n))
        drop = None if on_drop is None else (
            lambda reason, n: loop.call_soon_threadsafe(on_drop, reason, n))
        return cls(Outbox(path, max_reports, change, drop))

    async def _run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, lambda: fn(*args, **kwargs))

    async def enqueue(self, kind: str, report: Message, created_ns: int,
                      expires_ns: int | None = None) -> bytes | None:
        return await self._run(self.box.enqueue, kind, report, created_ns, expires_ns)

    async def peek(self, limit: int = 16, now_ns: int | None = None) -> list[Pending]:
        return await self._run(self.box.peek, limit, now_ns)

    async def next_due_ns(self, now_ns: int) -> int | None:
        return await self._run(self.box.next_due_ns, now_ns)

    async def ack(self, seq: int) -> None:
        await self._run(self.box.ack, seq)

    async def ack_many(self, seqs: Sequence[int]) -> None:
        await self._run(self.box.ack_many, seqs)

    async def attempted(self, seq: int, next_attempt_ns: int | None = None) -> None:
        await self._run(self.box.attempted, seq, next_attempt_ns)

    async def drop(self, seq: int, reason: str) -> None:
        await self._run(self.box.drop, seq, reason)

    async def prune_expired(self, now_ns: int) -> int:
        return await self._run(self.box.prune_expired, now_ns)

    async def depth(self) -> int:
        return await self._run(self.box.depth)

    async def set_state(self, key: str, value: Any) -> None:
        await self._run(self.box.set_state, key, value)

    async def get_state(self, key: str) -> Any:
        return await self._run(self.box.get_state, key)

    def record_state(self, key: str, value: Any) -> None:
        """`set_state` for a caller that cannot wait (a callback): queued behind the writes
        already issued; informational, so a refused write is logged by Outbox, not raised."""
        self._worker.submit(self.box.set_state, key, value)

    def close(self) -> None:
        """Finish every queued operation, then close the connection."""
        self._worker.shutdown(wait=True)
        self.box.close()


def read_only(path: str | Path) -> Outbox | None:
    """Open an existing outbox for `info` (the daemon may hold it; WAL allows a reader)."""
    if not Path(path).exists():
        return None
    return Outbox(path, readonly=True)
