"""`pocnet-hotspot config check`: what `run` would use (the settings file, default
/etc/pocnet/hotspot.toml or -c FILE, then POCNET_HOTSPOT_*), checked before a restart."""

from __future__ import annotations

import argparse
from typing import Any

from pocnet import config_command
from pocnet.cli import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    config_command.register(subparsers, "/etc/pocnet/hotspot.toml", "POCNET_HOTSPOT_", _load)


def _load(path: str | None) -> Any:
    from hotspot import settings
    from hotspot.errors import SettingsError

    try:
        return settings.load(path)
    except SettingsError as exc:
        raise UsageError(*exc.problems) from None
