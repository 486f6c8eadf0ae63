"""`pocnet-oracle config check`: validate a settings file and print the settings in effect.

What `serve` would run with: the file (default /etc/pocnet/oracle.toml, or -c FILE), then the
POCNET_ORACLE_* environment. Mistakes are reported one line each with exit status 2, so an
operator can check a change before restarting the service.
"""

from __future__ import annotations

import argparse

from pocnet.cli import print_json


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("config", help="check a settings file, print the settings in effect",
                              description="Validate the settings file and the environment; "
                              "print the settings in effect (TOML, or JSON with --json).")
    sub = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    q = sub.add_parser("check", help="validate and print the effective settings",
                       description="Validate the settings file and POCNET_ORACLE_* variables; "
                       "print the settings in effect.")
    q.add_argument("-c", "--config", metavar="FILE",
                   help="settings file (TOML; default /etc/pocnet/oracle.toml)")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from oracle.commands._database import settings_for
    from pocnet import settings_file

    settings = settings_for(args.config)
    if args.json:
        print_json(settings_file.effective(settings))
    else:
        print(settings_file.to_toml(settings), end="")
    return 0
