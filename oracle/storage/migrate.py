"""The migration runner: numbered SQL files applied once each, recorded in `schema_version`.

One generic file per step keeps the two dialects in step; the only difference that matters for
our schema are the binary type (BLOB -> BYTEA on PostgreSQL) and hash indexes (`USING hash`,
dropped on SQLite, whose B-tree takes values of any length), rewritten here, so nobody
maintains two copies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from oracle.errors import MigrationError

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_BLOB = re.compile(r"\bBLOB\b")
_HASH_INDEX = re.compile(r"\bUSING hash\s+")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self, dialect: str) -> list[str]:
        """Split on ';' (our migrations hold no semicolons inside literals) and adapt types."""
        text = "\n".join(
            line for line in self.sql.splitlines() if not line.lstrip().startswith("--")
        )
        if dialect == "postgresql":
            text = _BLOB.sub("BYTEA", text)
        elif dialect == "sqlite":
            text = _HASH_INDEX.sub("", text)  # SQLite indexes values of any length
        else:
            raise MigrationError(f"unknown SQL dialect {dialect!r}")
        return [s.strip() for s in text.split(";") if s.strip()]


def load_migrations() -> list[Migration]:
    """Every `NNNN_what.sql` shipped in oracle/storage/migrations, in numeric order."""
    found: dict[int, Migration] = {}
    for entry in resources.files("oracle.storage.migrations").iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations numbered {version:04d}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


CREATE_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)"
)
