"""`config check`, the same subcommand on both daemons' front ends: validate the settings file
and the environment as the daemon would, and print the settings in effect.

One implementation so an owner and an operator meet the same behaviour: mistakes one line each
with exit status 2 (before a restart, not after), the effective settings as TOML that loads back
unchanged, or as JSON with `--json`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from pocnet import settings_file
from pocnet.cli import print_json

# The role's loader: the settings for `-c FILE` (None = the default file), or a UsageError
# carrying one line per mistake.
Loader = Callable[[str | None], Any]


def register(subparsers: argparse._SubParsersAction, default_path: str,  # type: ignore[type-arg]
             env_prefix: str, load: Loader) -> None:
    p = subparsers.add_parser("config", help="check a settings file, print the settings in effect",
                              description="Validate the settings file and the environment; "
                              "print the settings in effect (TOML, or JSON with --json).")
    sub = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    q = sub.add_parser("check", help="validate and print the effective settings",
                       description=f"Validate the settings file and {env_prefix}* variables; "
                       "print the settings in effect.")
    q.add_argument("-c", "--config", metavar="FILE",
                   help=f"settings file (TOML; default {default_path})")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(handler=lambda args: _check(args, load))


def _check(args: argparse.Namespace, load: Loader) -> int:
    settings = load(args.config)
    if args.json:
        print_json(settings_file.effective(settings))
    else:
        print(settings_file.to_toml(settings), end="")
    return 0
