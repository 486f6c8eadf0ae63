"""Opening the oracle's database for a command: settings from --config, the environment and
--database, then the repository; any mistake becomes one line and exit 2 (pocnet.cli)."""

from __future__ import annotations

from typing import Any

from pocnet.cli import UsageError


def open_database(config: str | None, database: str | None) -> tuple[Any, Any]:
    """(settings, repository); the caller closes the repository."""
    from oracle.errors import OracleError
    from oracle.settings import for_command
    from oracle.storage import open_repository

    try:
        settings = for_command(config, database)
        return settings, open_repository(settings.oracle.database)
    except OracleError as exc:
        raise UsageError(str(exc).replace("\n", "; ")) from None


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
