"""`pocnet-oracle config check`: what `serve` would run with (the settings file, default
/etc/pocnet/oracle.toml or -c FILE, then POCNET_ORACLE_*), checked before a restart."""

from __future__ import annotations

import argparse
from typing import Any

from pocnet import config_command


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    config_command.register(subparsers, "/etc/pocnet/oracle.toml", "POCNET_ORACLE_", _load)


def _load(path: str | None) -> Any:
    from oracle.commands._database import settings_for

    return settings_for(path)
