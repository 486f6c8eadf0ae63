"""`pocnet-hotspot config check`: validate a settings file and print the settings in effect.

What `run` would use: the file (default /etc/pocnet/hotspot.toml, or -c FILE), then the
POCNET_HOTSPOT_* environment. Mistakes are reported one line each with exit status 2, so an
owner can check an edit before restarting the daemon.
"""

from __future__ import annotations

import argparse

from pocnet.cli import UsageError, print_json


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("config", help="check a settings file, print the settings in effect",
                              description="Validate the settings file and the environment; "
                              "print the settings in effect (TOML, or JSON with --json).")
    sub = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    q = sub.add_parser("check", help="validate and print the effective settings",
                       description="Validate the settings file and POCNET_HOTSPOT_* variables; "
                       "print the settings in effect.")
    q.add_argument("-c", "--config", metavar="PATH",
                   help="settings file (default /etc/pocnet/hotspot.toml)")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from hotspot import settings
    from hotspot.errors import SettingsError
    from pocnet import settings_file

    try:
        conf = settings.load(args.config)
    except SettingsError as exc:
        raise UsageError(*exc.problems) from None
    if args.json:
        print_json(settings_file.effective(conf))
    else:
        print(settings_file.to_toml(conf), end="")
    return 0
