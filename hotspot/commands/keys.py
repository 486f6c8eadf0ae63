"""`pocnet-hotspot keys create|show`: the device key, created once, mode 0600."""

from __future__ import annotations

import argparse

from pocnet.cli import UsageError, print_key

DEFAULT_KEY = "/var/lib/pocnet/hotspot.key"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("keys", help="create or show the hotspot's device key",
                              description="Create the device key once (mode 0600), or show its "
                              "address and 33-byte public key.")
    p.add_argument("action", choices=("create", "show"))
    p.add_argument("-c", "--config", metavar="PATH",
                   help="settings file whose key.file to use (default /etc/pocnet/hotspot.toml)")
    p.add_argument("--key-file", metavar="PATH", help="key file path (overrides settings)")
    p.add_argument("--testnet", action="store_true", help="create a testnet key (tag 0x11)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_run)


def key_path(args: argparse.Namespace) -> str:
    if args.key_file:
        return str(args.key_file)
    from hotspot import settings
    from hotspot.errors import SettingsError

    try:
        return settings.load(args.config).key.file
    except SettingsError as exc:
        raise UsageError(*str(exc).splitlines()) from None


def _run(args: argparse.Namespace) -> int:
    from hotspot.errors import KeyStoreError
    from hotspot.keystore import KeyStore
    from pocnet.keys import Network

    path = key_path(args)
    try:
        if args.action == "create":
            store = KeyStore.create(path, Network.TESTNET if args.testnet else Network.MAINNET)
        else:
            store = KeyStore.load(path)
    except KeyStoreError as exc:
        raise UsageError(str(exc)) from None
    print_key(store.keypair, path, args.action == "create", args.json)
    return 0
