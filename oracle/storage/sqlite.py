"""SQLite backend: the single-machine default (WAL, synchronous=FULL).

WAL lets readers (queries, the verifier) run while the ingest writer commits; synchronous=FULL
makes each commit survive power loss, which is what an acknowledgement promises. Writers use
BEGIN IMMEDIATE so two writers never deadlock on a lock upgrade and claims are exclusive.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from oracle.errors import StorageError
from oracle.storage.repository import NewReport, StoredReport, StoredVerdict, Tx
from oracle.storage.sql import SqlRepository

BUSY_TIMEOUT_MS = 30_000
# WAL checkpoints run in a background thread (PASSIVE: never blocking writers) instead of inside
# whichever commit crosses SQLite's 1000-page threshold, which made that ingest commit, and every
# ack waiting on it, tens of milliseconds late. The thread starts with a connection's first
# write, whatever it writes: a process that only verifies (`pocnet-oracle verify`) or computes
# rewards writes too, and with SQLite's own checkpoints off its WAL would otherwise grow for the
# whole run (10 GB in a week of 2,000 hotspots), every page read searching a larger WAL index.
CHECKPOINT_INTERVAL_S = 1.0
# Page cache per connection (SQLite's default is 2 MiB). Report ids and beacon data are random,
# so each ingest commit touches index pages all over the table: with the default, pages of a
# few hundred thousand reports' indexes no longer fit and each commit reads them back first.
CACHE_KIB = 32 * 1024
# A bulk import's connection (`pocnet-oracle import`): a batch of 10,000 reports dirties a page
# of the id index per report, and at 2.7 million reports (2,000 hotspots, a week) that index
# alone is ~120 MB. With the default cache a batch's dirty pages no longer fit: SQLite spills
# them into the WAL before the commit, and reads each index page back from the file. A
# transaction of 100,000 (oracle.importer.BATCH) dirties ~90 % of the id index's pages at a
# week's size (~150 MB), the table's (~40 MB) and the other indexes' besides: 512 MiB holds them
# and the pages the next batch reads (docs/benchmarks.md, "The import's inserts and indexes").
BULK_CACHE_KIB = 512 * 1024


class _SqliteTx:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cur = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cur.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        return self._cur.executemany(sql, rows)

    def fetchone(self) -> Any:
        return self._cur.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall()

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount


class SqliteRepository(SqlRepository):
    dialect = "sqlite"

    def __init__(self, path: str | Path, cache_kib: int = CACHE_KIB) -> None:
        """`cache_kib`: each connection's page cache (BULK_CACHE_KIB for an import)."""
        super().__init__()
        self.path = Path(path)
        self._cache_kib = cache_kib
        if not self.path.parent.is_dir():
            raise StorageError(f"database folder {self.path.parent} does not exist")
        self._stop_checkpoints = threading.Event()
        # Set to start a round of the checkpointer now rather than at its next interval.
        self._checkpoint_now = threading.Event()
        self._checkpointer: threading.Thread | None = None
        # Rounds of the checkpointer begun, ended, and the last one that copied the whole WAL.
        self._checkpointed = threading.Condition()
        self._rounds_begun = 0
        self._rounds_ended = 0
        self._last_complete_round = 0
        self._round_after_claim = 0  # the round begun after the verifier's last claim
        self._checkpoints_running = False  # the loop runs: a verdict store may wait for it

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA wal_autocheckpoint = 0")  # see CHECKPOINT_INTERVAL_S
            conn.execute(f"PRAGMA cache_size = -{int(self._cache_kib)}")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open {self.path}: {exc}") from exc
        if str(mode).lower() != "wal":
            raise StorageError(f"{self.path}: journal_mode is {mode}, WAL is required")
        return conn

    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[Tx]:
        """Always BEGIN IMMEDIATE: a write lock from the start, never a failed upgrade."""
        if self._checkpointer is None:
            self._start_checkpoints()
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(conn.cursor())
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:  # locked past the busy timeout, I/O, full
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StorageError(f"{self.path}: {exc}") from exc

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._conn().execute(sql, tuple(params)).fetchall()
        except sqlite3.OperationalError as exc:
            raise StorageError(f"{self.path}: {exc}") from exc

    def _start_checkpoints(self) -> None:
        with self._lock:
            if self._checkpointer is not None:
                return
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop, name="sqlite-checkpoint", daemon=True
            )
            with self._checkpointed:
                self._checkpoints_running = True
            self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous = FULL")
            while True:
                self._checkpoint_now.wait(CHECKPOINT_INTERVAL_S)
                self._checkpoint_now.clear()
                if self._stop_checkpoints.is_set():
                    break
                with self._checkpointed:
                    self._rounds_begun += 1
                    round_ = self._rounds_begun
                complete = self.checkpoint(conn)
                with self._checkpointed:
                    self._rounds_ended = round_
                    if complete:
                        self._last_complete_round = round_
                    self._checkpointed.notify_all()
        finally:
            if conn is not None:
                conn.close()
            with self._checkpointed:
                # Whatever ended the loop (a stop, or an error it did not expect), no round a
                # verdict store waits for will come: none waits from now on.
                self._checkpoints_running = False
                self._rounds_ended = self._round_after_claim
                self._checkpointed.notify_all()

    def checkpoint(self, conn: sqlite3.Connection | None = None) -> bool:
        """Copy committed WAL pages into the database file without blocking writers. True
        when every page was copied: the next write then starts the WAL over from its first
        frame. False while a reader's older snapshot still needs some of them (or busy)."""
        try:
            busy, log, copied = (conn or self._conn()).execute(
                "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.OperationalError:
            return False  # busy: the next round catches up
        return busy == 0 and log == copied

    def wait_for_checkpoint(self, timeout_s: float) -> bool:
        """Wait until a round of the background checkpointer begun after this call has
        copied the whole WAL (what was committed before the call is then in the database
        file); False if none did within `timeout_s`, e.g. a reader holds an old snapshot or
        nothing was written yet (the checkpointer starts with the first write)."""
        with self._checkpointed:
            after = self._rounds_begun
            return self._checkpointed.wait_for(
                lambda: self._last_complete_round > after, timeout_s)

    def close(self) -> None:
        self._stop_checkpoints.set()
        self._checkpoint_now.set()
        if self._checkpointer is not None:
            self._checkpointer.join(10)
            self._checkpointer = None
        self._stop_checkpoints.clear()
        self._checkpoint_now.clear()
        super().close()

    def claim_beacons(
        self, worker: str, now_ms: int, lease_ms: int, limit: int
    ) -> list[StoredReport]:
        """The claim (sql_verification), then a round of the background checkpointer begun
        now, which `store_verdict_batch` waits for.

        The WAL starts over only when a write begins with every frame copied, and the
        verifier writes back to back (a batch's verdicts, then the next claim), so a round at
        the checkpointer's own interval rarely fell between two of its writes (a week of 2,000
        hotspots left a 1.26 GB WAL). Begun right after the claim's commit, the round copies
        the previous batch's verdicts and the claim while the verifier checks the batch (it
        only reads meanwhile); the batch's store, having waited for the round to end, finds the
        WAL copied and starts it over. A round begun after the store instead raced the claim
        that follows it, and lost: a claim committed during the round left it incomplete.
        The copy and its fsyncs were the verifier's own thread's before, its disk waits
        (docs/benchmarks.md); the checkpointer's connection writes nothing of the database's
        content, so the verifier's page cache stays valid."""
        claimed = super().claim_beacons(worker, now_ms, lease_ms, limit)
        with self._checkpointed:
            if self._checkpoints_running:
                self._round_after_claim = self._rounds_begun + 1
        self._checkpoint_now.set()
        return claimed

    def store_verdict_batch(
        self, worker: str, pocs: Sequence[tuple[bytes, Sequence[StoredVerdict]]]
    ) -> list[bool]:
        """The batch's verdicts (sql_verification), once the checkpointer's round begun after
        the claim has ended (see `claim_beacons`); normally long before: checking a batch takes
        longer than copying one."""
        with self._checkpointed:
            self._checkpointed.wait_for(
                lambda: self._rounds_ended >= self._round_after_claim, BUSY_TIMEOUT_MS / 1000)
        return super().store_verdict_batch(worker, pocs)

    def _insert_if_all_new(self, tx: Tx, rows: Sequence[NewReport]) -> bool:
        """Under BEGIN IMMEDIATE nobody else writes, and the id's UNIQUE index finds a stored
        report anyway: the insert skips those (ON CONFLICT DO NOTHING) and its count of rows
        changed says whether any was. If one was, the savepoint undoes the others, and the
        caller reads which were stored before inserting the rest (the answer names each
        duplicate's first receive time). Saves reading each id's page of the index twice,
        ~1.7 µs a report (docs/benchmarks.md, "The import's main process, leaner")."""
        tx.execute("SAVEPOINT all_new")
        tx.executemany(self.INSERT_NEW_REPORT, rows)
        inserted = tx.rowcount  # executemany's: the rows changed, summed
        if inserted != len(rows):
            tx.execute("ROLLBACK TO all_new")
        tx.execute("RELEASE all_new")
        return inserted == len(rows)

    def _insert_new(self, tx: Tx, rows: Sequence[NewReport]) -> set[bytes]:
        # Under BEGIN IMMEDIATE nobody else writes, so every fresh row is ours.
        tx.executemany(self.INSERT_NEW_REPORT, rows)
        return {r.id for r in rows}

    def pragma(self, name: str) -> Any:
        return self._conn().execute(f"PRAGMA {name}").fetchone()[0]
