"""Long reads that block nobody: the rewards engine, the map and the detectors scan whole
epochs of verdicts and reports.

On SQLite through a separate read-only connection (the Repository's transactions are BEGIN
IMMEDIATE and would hold off ingest for the whole scan; a WAL reader blocks nobody); on
PostgreSQL through the repository's `iter_rows` (a server-side cursor). Rows stream either way,
so memory stays flat however large the epoch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path


class Scanner:
    def __init__(self, repo: object) -> None:
        self._repo = repo
        self._reader: sqlite3.Connection | None = None

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def rows(self, sql: str, params: Sequence[object]) -> Iterator[tuple]:
        path = getattr(self._repo, "path", None)
        if getattr(self._repo, "dialect", "") == "sqlite" and path is not None:
            if self._reader is None:
                uri = Path(path).resolve().as_uri() + "?mode=ro"
                self._reader = sqlite3.connect(uri, uri=True, check_same_thread=False)
            yield from self._reader.execute(sql, tuple(params))
            return
        iter_rows = getattr(self._repo, "iter_rows", None)
        if iter_rows is not None:  # PostgreSQL: a server-side cursor
            yield from iter_rows(sql, params)
            return
        with self._repo.transaction() as tx:  # type: ignore[attr-defined]
            tx.execute(sql, params)
            rows = tx.fetchall()
        for row in rows:
            yield tuple(row)
