"""Oracle storage: `open_repository(url)` picks the backend and brings the schema up to date."""

from __future__ import annotations

from pathlib import Path

from oracle.storage.repository import Repository

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_repository(url: str | Path, migrate: bool = True, bulk: bool = False) -> Repository:
    """`sqlite:///relative.db`, `sqlite:////absolute.db`, a bare path, or `postgresql://...`.
    `bulk`: for an import of many reports (on SQLite, a page cache of BULK_CACHE_KIB; on
    PostgreSQL the server's own buffers serve every client alike)."""
    text = str(url)
    repo: Repository
    if text.startswith(POSTGRES_SCHEMES):
        from oracle.storage.postgres import PostgresRepository

        repo = PostgresRepository(text)
    else:
        from oracle.storage.sqlite import BULK_CACHE_KIB, CACHE_KIB, SqliteRepository

        repo = SqliteRepository(sqlite_path(text), BULK_CACHE_KIB if bulk else CACHE_KIB)
    if migrate:
        repo.migrate()
    return repo


def sqlite_path(url: str | Path) -> Path:
    """The file of a SQLite URL: `sqlite:///relative.db`, `sqlite:////absolute.db` or a path."""
    text = str(url)
    return Path(text.removeprefix("sqlite:///") if text.startswith("sqlite:///") else text)
