"""`pocnet-oracle keys create|show`: the oracle's signing key (it signs the entropy hotspots
beacon on), created once with mode 0600 and never overwritten.

The key file is `oracle.key` of the settings file unless `--key` names another, so the key the
command creates is the one `serve` will load. Hotspot owners pin the printed address in their
`oracle.keys` setting to authenticate entropy, hence `show`: the address can be read again at
any time without the key leaving the file.
"""

from __future__ import annotations

import argparse

from oracle.commands._database import add_options
from pocnet.cli import print_key


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("keys", help="create or show the oracle's signing key",
                              description="Create the oracle's key once (mode 0600), or show "
                              "its address, for hotspot owners' oracle.keys setting.")
    p.add_argument("action", choices=("create", "show"))
    add_options(p)
    p.add_argument("--key", metavar="FILE", help="key file (overrides oracle.key)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from oracle.commands._database import settings_for
    from pocnet.keys import Network, create_keyfile, load_keyfile

    settings = settings_for(args.config, key=args.key)
    path = settings.oracle.key
    if args.action == "create":
        keypair = create_keyfile(path, Network[settings.oracle.network.upper()])
    else:
        keypair = load_keyfile(path)
    print_key(keypair, path, args.action == "create", args.json)
    return 0
