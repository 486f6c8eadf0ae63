"""`pocnet-owner`: sign registry requests on the owner's (or the maker's) own machine.

The hotspot writes a request naming its owner wallet and maker, signed by the hotspot key
(`pocnet-hotspot onboard`); the maker adds its signature (`maker-sign`), the owner adds theirs
with their Solana keypair file (`sign`), and the hotspot submits it (`pocnet-hotspot submit`).
`transfer` builds a new-owner request signed by the current owner; `keys` makes a keypair
file for an owner who has none yet (a first try) and shows a wallet's address. Nothing here
talks to the network: keys stay where they are, only request files travel.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from pocnet.cli import OneLineParser, UsageError, integer, print_json, run
from pocnet.owner import requests


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="pocnet-owner", description="sign hotspot registry requests "
                           "as the owner (Solana keypair) or the maker (maker key).")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=OneLineParser)

    p = sub.add_parser("show", help="what a request asks and who has signed it",
                       description="Decode a request file and check its signatures.")
    p.add_argument("request", metavar="FILE", help="request file (hex text or binary)")
    _json(p, _run_show)

    p = sub.add_parser("sign", help="sign a request as its owner (Solana keypair file)",
                       description="Add the owner's signature, made with the Solana keypair "
                       "file of the wallet the request names.")
    p.add_argument("request", metavar="FILE", help="request file (hex text or binary)")
    p.add_argument("--keypair", required=True, metavar="FILE",
                   help="Solana CLI keypair file (JSON array of 64 bytes)")
    p.add_argument("-o", "--out", metavar="FILE", help="write here (default: FILE in place)")
    _json(p, _run_sign)

    p = sub.add_parser("maker-sign", help="sign an onboarding request as the hotspot's maker",
                       description="Add the maker's signature; the operator must have "
                       "allowlisted this maker key (`pocnet-oracle registry maker add`).")
    p.add_argument("request", metavar="FILE", help="request file (hex text or binary)")
    p.add_argument("--maker-key", required=True, metavar="FILE", help="maker key file")
    p.add_argument("-o", "--out", metavar="FILE", help="write here (default: FILE in place)")
    _json(p, _run_maker_sign)

    p = sub.add_parser("transfer", help="hand a hotspot to a new owner (signed by you)",
                       description="Build an ownership transfer signed by the current owner's "
                       "Solana keypair; submit it with `pocnet-hotspot submit --transfer` or "
                       "`pocnet-oracle registry transfer`.")
    p.add_argument("--hotspot", required=True, metavar="ADDRESS", help="hotspot address")
    p.add_argument("--to", required=True, metavar="WALLET", help="new owner's Solana address")
    p.add_argument("--nonce", required=True, type=integer(0), metavar="N",
                   help="the hotspot's next nonce (`pocnet-hotspot info` shows the current)")
    p.add_argument("--keypair", required=True, metavar="FILE",
                   help="current owner's Solana CLI keypair file")
    p.add_argument("-o", "--out", required=True, metavar="FILE", help="request file to write")
    _json(p, _run_transfer)

    p = sub.add_parser("keys", help="create a Solana keypair file, or show its wallet address",
                       description="`create` writes a new Solana CLI keypair file (mode 0600, "
                       "never overwritten), as `solana-keygen new` does; `show` prints the "
                       "wallet address of one, for the hotspot's `onboard --owner-wallet`.")
    p.add_argument("action", choices=("create", "show"))
    p.add_argument("--keypair", required=True, metavar="FILE",
                   help="Solana CLI keypair file (JSON array of 64 bytes)")
    _json(p, _run_keys)
    return parser


def _json(p: argparse.ArgumentParser, handler: Any) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=handler)


def _version() -> str:
    try:
        return f"pocnet-owner {metadata.version('pocnet')}"
    except metadata.PackageNotFoundError:
        return "pocnet-owner (not installed)"


def describe(msg: Any) -> dict[str, Any]:
    """The request as a person checks it before signing."""
    from pocnet import geo
    from pocnet.keys import PublicKey

    lat, lon = geo.cell_to_latlng(geo.Cell(msg.location)) if msg.location else (None, None)
    return {
        "hotspot": _address(PublicKey, bytes(msg.hotspot_key)),
        "owner_wallet": requests.wallet_address(bytes(msg.owner_wallet)),
        "maker": _address(PublicKey, bytes(msg.maker_key)) if msg.maker_key else None,
        "location": f"{msg.location:x}" if msg.location else None,
        "lat": lat, "lon": lon,
        "gain_dbi": msg.gain / 10, "elevation_m": msg.elevation, "nonce": msg.nonce,
        "signed": requests.signers(msg),
    }


def _address(cls: Any, raw: bytes) -> str:
    from pocnet.errors import DecodeError

    try:
        return str(cls.from_bytes(raw).address)
    except DecodeError:
        return f"(malformed key {raw.hex()})"


def _print(args: argparse.Namespace, data: dict[str, Any]) -> None:
    if args.json:
        print_json(data)
        return
    for key, value in data.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in value.items())
        print(f"{key:13} {value if value is not None else '-'}")


def _assertion(path: str) -> Any:
    from pocnet.wire import registry_pb2

    return requests.read_request(path, registry_pb2.LocationAssertion)


def _run_show(args: argparse.Namespace) -> int:
    _print(args, describe(_assertion(args.request)))
    return 0


def _run_sign(args: argparse.Namespace) -> int:
    msg = _assertion(args.request)
    requests.sign_as_owner(msg, args.keypair)
    requests.write_request(args.out or args.request, msg)
    _print(args, describe(msg) | {"out": args.out or args.request})
    return 0


def _run_maker_sign(args: argparse.Namespace) -> int:
    from pocnet.keys import load_keyfile

    msg = _assertion(args.request)
    requests.sign_as_maker(msg, load_keyfile(args.maker_key))
    requests.write_request(args.out or args.request, msg)
    _print(args, describe(msg) | {"out": args.out or args.request})
    return 0


def _run_transfer(args: argparse.Namespace) -> int:
    from pocnet.keys import PublicKey

    if not 0 < args.nonce < 2**63:
        raise UsageError(f"--nonce {args.nonce} is not between 1 and 2^63-1")
    hotspot = PublicKey.from_address(args.hotspot)
    new_wallet = requests.parse_wallet(args.to, "--to")
    msg = requests.build_transfer(hotspot.to_bytes(), new_wallet, args.nonce, args.keypair,
                                  time.time_ns() // 1_000_000)
    requests.write_request(args.out, msg)
    _print(args, {"hotspot": hotspot.address, "new_owner_wallet": args.to,
                  "nonce": args.nonce, "out": args.out})
    return 0


def _run_keys(args: argparse.Namespace) -> int:
    if args.action == "create":
        wallet = requests.create_solana_keypair(args.keypair)
    else:
        _, wallet = requests.load_solana_keypair(args.keypair)
    _print(args, {"wallet": requests.wallet_address(wallet), "keypair": args.keypair})
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
