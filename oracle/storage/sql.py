"""The Repository over SQL, shared by both backends; dialects differ only in a few hooks.

Queries are written once with "?" placeholders. Subclasses supply connections, transaction
start (BEGIN IMMEDIATE on SQLite, row locks on PostgreSQL) and the claim lock clause.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from operator import attrgetter
from typing import Any

from oracle.errors import StaleVersion
from oracle.storage.migrate import CREATE_VERSION_TABLE, load_migrations
from oracle.storage.repository import (
    KINDS,
    STATUS_CLAIMED,
    STATUS_PENDING,
    STATUS_STORED,
    EntropyRecord,
    InsertResult,
    NewReport,
    ReportFilter,
    StoredReport,
    Tx,
    kind_code,
)
from oracle.storage.sql_registry import RegistryQueries
from oracle.storage.sql_sweep import lower_sweep_mark
from oracle.storage.sql_verification import (
    FINISHED,
    REPORT_COLS,
    REPORT_STATUS,
    REPORTS,
    VerificationQueries,
    marks,
    report_row,
)

_CHUNK = 500
_BY_ID = attrgetter("id")  # a C call a row, not a Python function's
# A report kind's code in the table and the status it is stored with: coverage is kept, never
# PoC-verified; beacons and witnesses wait for the verifier.
_STORED_AS = {kind: (kind_code(kind), STATUS_STORED if kind == "coverage" else STATUS_PENDING)
              for kind in KINDS}


class SqlRepository(VerificationQueries, RegistryQueries):
    """Dialect-neutral implementation; see docs/storage.md for the contract of each method."""

    dialect = "sql"

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[Any] = []

    # --- dialect hooks --------------------------------------------------------------------
    def _connect(self) -> Any:
        raise NotImplementedError

    def transaction(self, immediate: bool = False) -> AbstractContextManager[Tx]:
        raise NotImplementedError

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    lock_clause = ""  # appended to claim selects (FOR UPDATE SKIP LOCKED on PostgreSQL)
    row_lock = ""  # appended to single-row selects inside a write transaction

    def _lock_denylist(self, tx: Tx) -> None:
        """SQLite's BEGIN IMMEDIATE already serialises writers."""

    def _insert_new(self, tx: Tx, rows: Sequence[NewReport]) -> set[bytes]:
        """Insert rows not yet stored; return the ids this transaction inserted."""
        raise NotImplementedError

    def _insert_if_all_new(self, tx: Tx, rows: Sequence[NewReport]) -> bool:
        """Insert `rows` (distinct ids, in id order) if none of them is stored yet and say
        so; otherwise leave the transaction as it was and answer False. Where the insert
        cannot tell that cheaply (PostgreSQL: another replica may be inserting the same
        reports), False at once: the caller reads which are stored first."""
        return False

    # --- plumbing -------------------------------------------------------------------------
    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def migrate(self) -> int:
        """Apply every migration not yet recorded; returns how many ran."""
        applied = 0
        with self.transaction(immediate=True) as tx:
            self._lock_migrations(tx)
            tx.execute(CREATE_VERSION_TABLE)
        for migration in load_migrations():
            with self.transaction(immediate=True) as tx:
                self._lock_migrations(tx)
                tx.execute("SELECT 1 FROM schema_version WHERE version = ?", (migration.version,))
                if tx.fetchone():
                    continue
                for statement in migration.statements(self.dialect):
                    tx.execute(statement)
                tx.execute(
                    "INSERT INTO schema_version (version, name, applied_ms) VALUES (?, ?, ?)",
                    (migration.version, migration.name, int(time.time() * 1000)),
                )
                applied += 1
        return applied

    def checkpoint(self) -> bool:
        """Copy the backend's write-ahead log into the database now, where the backend keeps
        one in the client's hands (SQLite overrides); PostgreSQL's server checkpoints its own.
        True when nothing is left to copy."""
        return True

    def _lock_migrations(self, tx: Tx) -> None:
        """Replicas starting together must not apply one step twice (PostgreSQL overrides)."""

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """One server per SQLite file, so nobody else holds it (PostgreSQL overrides)."""
        yield True

    def schema_version(self) -> int:
        rows = self._read("SELECT max(version) FROM schema_version")
        return int(rows[0][0] or 0)

    # --- ingest ---------------------------------------------------------------------------
    def insert_reports(self, rows: Sequence[NewReport]) -> list[InsertResult]:
        usual = len(set(map(_BY_ID, rows))) == len(rows)  # no id twice: perhaps every row new
        with self.transaction(immediate=True) as tx:
            # The usual batch (an import's, a group commit's) is all new: inserted at once,
            # without first reading the id index for stored ones, where the insert can say
            # that none was (SQLite); otherwise, and for any other batch, read them first.
            # A witness stored below the stale sweep's mark (a backfill, a replica's late
            # clock) lowers it in this same transaction, so the sweep can never miss it.
            witnessed = [row.received_ms for row in rows if row.kind == "witness"]
            if witnessed:
                lower_sweep_mark(tx, min(witnessed))
            if usual and self._insert_if_all_new(tx, sorted(rows, key=_BY_ID)):
                return [InsertResult(row.id, row.received_ms, False) for row in rows]
            first: dict[bytes, NewReport] = {}
            for row in rows:
                first.setdefault(row.id, row)
            existing = self._received(tx, list(first))
            # In id order: two replicas inserting overlapping batches then lock the same
            # rows in the same order, so one waits for the other instead of deadlocking.
            fresh = sorted(first.values() if not existing else
                           [r for i, r in first.items() if i not in existing], key=_BY_ID)
            inserted = self._insert_new(tx, fresh) if fresh else set()
            lost = [r.id for r in fresh if r.id not in inserted]  # a replica won the race
            if lost:
                existing.update(self._received(tx, lost))
        if not existing and usual:  # every row new, once
            return [InsertResult(row.id, row.received_ms, False) for row in rows]
        results = []
        answered: set[bytes] = set()
        for row in rows:
            if row.id in existing:
                results.append(InsertResult(row.id, existing[row.id], True))
            else:
                # The first submission in the batch stored it; later ones are duplicates.
                results.append(
                    InsertResult(row.id, first[row.id].received_ms, row.id in answered)
                )
                answered.add(row.id)
        return results

    def _received(self, tx: Tx, ids: list[bytes]) -> dict[bytes, int]:
        found: dict[bytes, int] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            tx.execute(
                f"SELECT id, received_ms FROM reports WHERE id IN ({marks(len(chunk))})", chunk
            )
            found.update((bytes(i), int(ms)) for i, ms in tx.fetchall())
        return found

    @staticmethod
    def _report_params(row: NewReport) -> tuple[Any, ...]:
        """INSERT_REPORT's parameters: the row's fields in order, its kind as stored, and the
        status a report of its kind starts with."""
        code, status = _STORED_AS[row.kind]
        return (row[0], code, *row[2:], status)

    INSERT_REPORT = (
        "INSERT INTO reports (id, kind, hotspot_key, received_ms, raw, data, remote_entropy, "
        "ready_ms, fix_lat_e7, fix_lon_e7, status) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (id) DO NOTHING"
    )
    # INSERT_REPORT with a NewReport itself as its parameters, in SQLite's numbered form: the
    # kind (?2) is read twice, for its code and its status, by _STORED_AS's table written as
    # CASEs, so no tuple is built a row (~1.5 µs a report of an import's insert).
    INSERT_NEW_REPORT = (
        "INSERT INTO reports (id, kind, hotspot_key, received_ms, raw, data, remote_entropy, "
        "ready_ms, fix_lat_e7, fix_lon_e7, status) VALUES (?1, CASE ?2 "
        + " ".join(f"WHEN '{kind}' THEN {code}" for kind, (code, _) in _STORED_AS.items())
        + " END, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, CASE ?2 "
        + " ".join(f"WHEN '{kind}' THEN '{status}'" for kind, (_, status) in _STORED_AS.items())
        + " END) ON CONFLICT (id) DO NOTHING"
    )

    def report(self, report_id: bytes) -> StoredReport | None:
        rows = self._read(f"SELECT {REPORT_COLS} FROM {REPORTS} WHERE r.id = ?", (report_id,))
        return report_row(rows[0]) if rows else None

    def reports_by_id(self, ids: Sequence[bytes]) -> dict[bytes, StoredReport]:
        """The stored reports among `ids`, a statement per 500 (a PoC's witnesses at once)."""
        found: dict[bytes, StoredReport] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            rows = self._read(
                f"SELECT {REPORT_COLS} FROM {REPORTS} WHERE r.id IN ({marks(len(chunk))})",
                chunk)
            found.update((report.id, report) for report in map(report_row, rows))
        return found

    def reports_for_hotspot(self, key: bytes, limit: int = 50) -> list[StoredReport]:
        rows = self._read(
            f"SELECT {REPORT_COLS} FROM {REPORTS} WHERE r.hotspot_key = ? "
            "ORDER BY r.received_ms DESC LIMIT ?",
            (key, limit),
        )
        return [report_row(r) for r in rows]

    def count_reports(self) -> int:
        return int(self._read("SELECT count(*) FROM reports")[0][0])

    # --- retention ------------------------------------------------------------------------
    def finished_reports(self, before_ms: int, limit: int) -> list[StoredReport]:
        """The oldest reports received before `before_ms` whose verification is over
        (verified, stale; coverage: stored; a witness: it has a verdict): what retention may
        archive and delete."""
        rows = self._read(
            f"SELECT {REPORT_COLS} FROM {REPORTS} WHERE r.received_ms < ? AND {FINISHED} "
            "ORDER BY r.received_ms, r.id LIMIT ?",
            (before_ms, limit),
        )
        return [report_row(r) for r in rows]

    def delete_reports(self, ids: Sequence[bytes]) -> int:
        """Delete these reports if their verification is over; verdicts are kept."""
        deleted = 0
        with self.transaction(immediate=True) as tx:
            for start in range(0, len(ids), _CHUNK):
                chunk = list(ids[start : start + _CHUNK])
                tx.execute(
                    f"DELETE FROM reports WHERE id IN (SELECT r.id FROM {REPORTS} WHERE "
                    f"r.id IN ({marks(len(chunk))}) AND {FINISHED})",
                    chunk,
                )
                deleted += tx.rowcount
        return deleted

    def find_reports(self, where: ReportFilter, limit: int, offset: int) -> list[StoredReport]:
        clauses = [
            (clause, value)
            for clause, value in (
                ("r.hotspot_key = ?", where.hotspot_key),
                ("r.kind = ?", None if where.kind is None else kind_code(where.kind)),
                (f"({REPORT_STATUS}) = ?", where.status),
                ("r.received_ms >= ?", where.from_ms),
                ("r.received_ms < ?", where.to_ms),
            )
            if value is not None
        ]
        sql = f"SELECT {REPORT_COLS} FROM {REPORTS}"
        if clauses:
            sql += " WHERE " + " AND ".join(c for c, _ in clauses)
        rows = self._read(sql + " ORDER BY r.received_ms DESC, r.id DESC LIMIT ? OFFSET ?",
                          [*(v for _, v in clauses), limit, offset])
        return [report_row(r) for r in rows]

    def verification_backlog(self, now_ms: int) -> tuple[int, int | None]:
        # The kind written out, not bound: the queue index holds beacons only (migration 0140).
        count, oldest = self._read(
            f"SELECT count(*), min(ready_ms) FROM reports "
            f"WHERE kind = {kind_code('beacon')} AND status IN (?, ?) AND ready_ms <= ?",
            (STATUS_PENDING, STATUS_CLAIMED, now_ms),
        )[0]
        return int(count), None if oldest is None else int(oldest)

    def stored_epochs(self) -> tuple[int, int | None]:
        count, latest = self._read("SELECT count(*), max(epoch) FROM rewards_manifests")[0]
        return int(count), None if latest is None else int(latest)

    # --- entropy --------------------------------------------------------------------------
    def insert_entropy(self, entropy: EntropyRecord) -> None:
        self.insert_entropies([entropy])

    def insert_entropies(self, records: Sequence[EntropyRecord]) -> None:
        """Store entropy records in one transaction (values already stored are kept as they
        are): an import brings one a simulated minute, ~1,400 a day."""
        if not records:
            return
        with self.transaction() as tx:
            tx.executemany(
                "INSERT INTO entropy (data, timestamp_s, version, oracle_key, raw) "
                "VALUES (?,?,?,?,?) ON CONFLICT (data) DO NOTHING",
                [(e.data, e.timestamp_s, e.version, e.oracle_key, e.raw) for e in records],
            )

    def _entropy_rows(self, where: str, params: Sequence[Any]) -> EntropyRecord | None:
        rows = self._read(
            f"SELECT data, timestamp_s, version, oracle_key, raw FROM entropy {where}", params
        )
        if not rows:
            return None
        r = rows[0]
        return EntropyRecord(bytes(r[0]), int(r[1]), int(r[2]), bytes(r[3]), bytes(r[4]))

    def entropy(self, data: bytes) -> EntropyRecord | None:
        return self._entropy_rows("WHERE data = ?", (data,))

    def latest_entropy(self) -> EntropyRecord | None:
        return self._entropy_rows("ORDER BY timestamp_s DESC LIMIT 1", ())

    # --- registry -------------------------------------------------------------------------
    def hotspots_asserted_since(self, since_ms: int | None) -> list[tuple[bytes, int]]:
        """(key, asserted_at_ms) of registrations asserted at or after `since_ms` (all: None)."""
        rows = self._read(
            "SELECT hotspot_key, asserted_at_ms FROM hotspots WHERE asserted_at_ms >= ?",
            (-(2**63) if since_ms is None else since_ms,),
        )
        return [(bytes(k), int(ms)) for k, ms in rows]

    def replace_denylist(
        self,
        version: int,
        operator_key: bytes,
        hotspots: Sequence[bytes],
        edges: Sequence[tuple[bytes, bytes]],
        raw: bytes,
        received_ms: int,
        denials: Sequence[tuple[bytes, str, str, int]] = (),
        edge_denials: Sequence[tuple[bytes, bytes, str, str, int]] = (),
    ) -> None:
        """`denials`: (hotspot key, reason, evidence, expires_ms) for listed hotspots;
        `edge_denials`: (a, b, reason, evidence, expires_ms) for listed edges."""
        why = {key: rest for key, *rest in denials}
        why_edge = {tuple(sorted((a, b))): rest for a, b, *rest in edge_denials}
        with self.transaction(immediate=True) as tx:
            self._lock_denylist(tx)
            tx.execute("SELECT max(version) FROM denylist_versions")
            current = int(tx.fetchone()[0] or 0)
            if version <= current:
                raise StaleVersion(f"denylist version {version} is not above {current}")
            tx.execute(
                "INSERT INTO denylist_versions (version, operator_key, received_ms, raw) "
                "VALUES (?,?,?,?)",
                (version, operator_key, received_ms, raw),
            )
            tx.execute("DELETE FROM denied_hotspots")
            tx.execute("DELETE FROM denied_edges")
            for key in sorted(set(hotspots)):
                reason, evidence, expires_ms = why.get(key, ("", "", 0))
                tx.execute(
                    "INSERT INTO denied_hotspots (hotspot_key, version, reason, evidence, "
                    "expires_ms) VALUES (?, ?, ?, ?, ?)",
                    (key, version, reason, evidence, expires_ms),
                )
            for a, b in sorted({tuple(sorted(e)) for e in edges}):
                reason, evidence, expires_ms = why_edge.get((a, b), ("", "", 0))
                tx.execute(
                    "INSERT INTO denied_edges (a, b, version, reason, evidence, expires_ms) "
                    "VALUES (?, ?, ?, ?, ?, ?)", (a, b, version, reason, evidence, expires_ms),
                )

    def denylist_version(self) -> int:
        return int(self._read("SELECT max(version) FROM denylist_versions")[0][0] or 0)

    def is_denied(self, key: bytes, at_ms: int | None = None) -> bool:
        if at_ms is None:
            return bool(self._read("SELECT 1 FROM denied_hotspots WHERE hotspot_key = ?", (key,)))
        # An entry lapses at its expiry (gaming detection's denials are for a few epochs), even
        # before the next denylist version drops it.
        return bool(self._read(
            "SELECT 1 FROM denied_hotspots WHERE hotspot_key = ? "
            "AND (expires_ms = 0 OR expires_ms > ?)", (key, at_ms)))

    def is_edge_denied(self, a: bytes, b: bytes, at_ms: int | None = None) -> bool:
        lo, hi = sorted((a, b))
        if at_ms is None:
            return bool(self._read("SELECT 1 FROM denied_edges WHERE a = ? AND b = ?", (lo, hi)))
        return bool(self._read(
            "SELECT 1 FROM denied_edges WHERE a = ? AND b = ? "
            "AND (expires_ms = 0 OR expires_ms > ?)", (lo, hi, at_ms)))

    def denied_hotspots(self) -> list[bytes]:
        return [bytes(r[0]) for r in self._read("SELECT hotspot_key FROM denied_hotspots")]
