"""PostgreSQL backend (psycopg 3): several oracle replicas share one database.

Differences from SQLite live here only: "%s" placeholders, row locks (`FOR UPDATE SKIP LOCKED`
so replicas claim disjoint beacons), an advisory lock around migrations, and `RETURNING` to
learn which reports this replica inserted when two replicas race on the same report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from oracle.errors import DatabaseUnreachable, StorageError
from oracle.storage.repository import NewReport, Tx
from oracle.storage.sql import SqlRepository

SCAN_BATCH = 10_000  # rows per round trip of a streamed read (iter_rows)
MIGRATION_LOCK = 0x706F636E  # "pocn": advisory lock id serialising migrations across replicas


def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


class _PgTx:
    def __init__(self, cursor: Any) -> None:
        self._cur = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cur.execute(_pg(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], returning: bool = False) -> Any:
        return self._cur.executemany(_pg(sql), rows, returning=returning)

    def fetchone(self) -> Any:
        return self._cur.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall()

    def nextset(self) -> bool | None:
        return self._cur.nextset()

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount


class PostgresRepository(SqlRepository):
    dialect = "postgresql"
    lock_clause = "FOR UPDATE SKIP LOCKED"
    row_lock = "FOR UPDATE"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def _connect(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=True)
        except psycopg.Error as exc:
            raise DatabaseUnreachable(
                f"cannot connect to PostgreSQL: {exc}".splitlines()[0]) from exc

    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[Tx]:
        import psycopg

        conn = self._conn()
        try:
            with conn.transaction(), conn.cursor() as cur:
                yield _PgTx(cur)
        except psycopg.OperationalError as exc:
            raise self._lost(exc) from exc

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        import psycopg

        try:
            with self._conn().cursor() as cur:
                cur.execute(_pg(sql), tuple(params))
                return cur.fetchall()
        except psycopg.OperationalError as exc:
            raise self._lost(exc) from exc

    def iter_rows(
        self, sql: str, params: Sequence[Any] = (), batch: int = SCAN_BATCH
    ) -> Iterator[tuple[Any, ...]]:
        """Stream a large read through a server-side cursor on a connection of its own (a
        scan may be consumed slowly, interleaved with another scan or other calls), so memory
        holds one batch, never the whole result (an epoch's millions of witnesses)."""
        import psycopg

        try:
            conn = psycopg.connect(self.url)
            try:
                with conn.transaction(), conn.cursor(name="pocnet_scan") as cur:
                    cur.itersize = batch
                    cur.execute(_pg(sql), tuple(params))
                    yield from cur
            finally:
                conn.close()
        except psycopg.OperationalError as exc:
            raise self._lost(exc) from exc

    def _lost(self, exc: Exception) -> StorageError:
        """The server went away (restart, failover) or refused: forget this thread's
        connection so the next call reconnects, and report UNAVAILABLE meanwhile."""
        conn = getattr(self._local, "conn", None)
        gone = conn is None or conn.closed or conn.broken
        if conn is not None and gone:
            self._local.conn = None
            with self._lock:
                if conn in self._connections:
                    self._connections.remove(conn)
            conn.close()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (DatabaseUnreachable if gone else StorageError)(f"PostgreSQL: {first}")

    def _lock_migrations(self, tx: Tx) -> None:
        tx.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """A session advisory lock on a connection of its own, held while the block runs
        (a replica that dies loses it with its connection)."""
        import psycopg

        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        try:
            conn = psycopg.connect(self.url, autocommit=True)
        except psycopg.Error as exc:
            raise DatabaseUnreachable(
                f"cannot connect to PostgreSQL: {exc}".splitlines()[0]) from exc
        held = False
        try:
            try:
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            except psycopg.OperationalError as exc:
                raise StorageError(f"PostgreSQL: {str(exc).strip().splitlines()[0]}") from exc
            held = bool(row and row[0])
            yield held
        finally:
            # Released here, not by the session's end alone: a closed connection's backend
            # lets go of its locks a moment later, and another replica asking at once (the
            # next round, a test) would find it still held.
            try:
                if held:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
            except psycopg.Error:
                pass  # the session's end releases it
            conn.close()  # ends the session, and with it the lock

    def _lock_denylist(self, tx: Tx) -> None:
        tx.execute("LOCK TABLE denylist_versions IN EXCLUSIVE MODE")

    def _insert_new(self, tx: Tx, rows: Sequence[NewReport]) -> set[bytes]:
        tx.executemany(
            self.INSERT_REPORT + " RETURNING id",
            [self._report_params(r) for r in rows],
            returning=True,
        )
        inserted: set[bytes] = set()
        while True:
            for row in tx.fetchall():
                inserted.add(bytes(row[0]))
            if not tx.nextset():
                break
        return inserted
