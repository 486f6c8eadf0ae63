"""Opening the oracle's database for a command: settings from the settings file (default
/etc/pocnet/oracle.toml, or -c FILE), the environment and --database, then the repository; any
mistake becomes one line and exit 2 (pocnet.cli).

Only a command asked to (`serve --create`) creates a database: a mistyped path or a command run
in the wrong folder must fail, not succeed into a new empty database the server never reads.
"""

from __future__ import annotations

import argparse
from typing import Any

from pocnet.cli import UsageError

CREATE_HINT = "create it once with `pocnet-oracle serve --create`"


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options every command on the oracle's database takes."""
    parser.add_argument("-c", "--config", metavar="FILE",
                        help="settings file (TOML; default /etc/pocnet/oracle.toml)")
    parser.add_argument("--database", metavar="URL",
                        help="database URL or path (overrides oracle.database)")


def missing_database(url: str) -> str | None:
    """Why `url` names no existing database, or None. PostgreSQL databases exist or not on
    their server, which says so itself when connecting."""
    from oracle.storage import POSTGRES_SCHEMES, sqlite_path

    if url.startswith(POSTGRES_SCHEMES):
        return None
    path = sqlite_path(url)
    if path.is_file():
        return None
    if not path.parent.is_dir():
        return f"database folder {path.parent} does not exist"
    return f"no database at {path}; {CREATE_HINT}"


def settings_for(config: str | None, database: str | None = None, key: str | None = None,
                 listen: str | None = None) -> Any:
    """The command's settings, or a UsageError with one line per mistake."""
    from oracle.errors import OracleError
    from oracle.settings import for_command

    try:
        return for_command(config, database, key, listen)
    except OracleError as exc:
        raise UsageError(*str(exc).splitlines()) from None


def open_database(config: str | None, database: str | None,
                  create: bool = False, bulk: bool = False) -> tuple[Any, Any]:
    """(settings, repository); the caller closes the repository. `bulk`: see
    `open_repository` (an import)."""
    from oracle.errors import OracleError
    from oracle.storage import open_repository

    settings = settings_for(config, database)
    if not create and (why := missing_database(settings.oracle.database)):
        raise UsageError(why)
    try:
        return settings, open_repository(settings.oracle.database, bulk=bulk)
    except OracleError as exc:
        raise UsageError(*str(exc).splitlines()) from None


def stored_manifest(config: str | None, database: str | None, epoch: int) -> Any:
    """The epoch's stored manifest (rewards_pb2.EpochManifest) or a one-line UsageError."""
    from oracle.rewards.store import ManifestStore

    _, repo = open_database(config, database)
    try:
        manifest = ManifestStore(repo).load(epoch)
    finally:
        repo.close()
    if manifest is None:
        raise UsageError(f"no manifest for epoch {epoch}; run `rewards compute` first")
    return manifest
