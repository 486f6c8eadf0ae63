"""`pocnet-hotspot onboard`: build the signed location assertion the operator submits.

The LocationAssertion (docs/protocol.md §2) is signed by the hotspot key and, when the owner's
Solana keypair file is given, by the owner's wallet key; both signatures cover the message with both
signature fields empty. The output goes to the operator's `pocnet-oracle registry onboard`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pocnet.cli import UsageError, integer, number, print_json

SOLANA_KEYPAIR_LEN = 64


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "onboard", help="build the signed onboarding / location assertion request",
        description="Build a LocationAssertion signed by the hotspot key (and the owner's "
        "wallet), for the operator's `pocnet-oracle registry onboard`.")
    p.add_argument("--lat", type=number(), required=True, help="latitude, degrees")
    p.add_argument("--lon", type=number(), required=True, help="longitude, degrees")
    p.add_argument("--gain", type=number(), required=True, help="antenna gain, dBi (e.g. 3.0)")
    p.add_argument("--elevation", type=integer(), required=True,
                   help="metres above ground")
    owner = p.add_mutually_exclusive_group(required=True)
    owner.add_argument("--owner-key", metavar="FILE",
                       help="owner's Solana keypair JSON (64-byte array): sets and signs")
    owner.add_argument("--owner-wallet", metavar="BASE58",
                       help="owner's wallet address only (the owner signs elsewhere)")
    p.add_argument("--capability", choices=("full", "data_only"), default="full")
    p.add_argument("--nonce", type=integer(0), help="assertion nonce (default: timestamp in ms)")
    p.add_argument("-c", "--config", metavar="PATH", help="settings file (for key.file)")
    p.add_argument("--key-file", metavar="PATH", help="hotspot key file (overrides settings)")
    p.add_argument("-o", "--out", metavar="FILE",
                   help="write the serialised request (protobuf bytes) to FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_run)


def load_solana_keypair(path: str) -> tuple[bytes, bytes]:
    """(seed32, pubkey32) from a Solana CLI keypair file, checked for consistency."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    try:
        values = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read Solana keypair: {exc}") from None
    if (not isinstance(values, list) or len(values) != SOLANA_KEYPAIR_LEN
            or not all(isinstance(v, int) and 0 <= v < 256 for v in values)):
        raise UsageError(f"{path}: a Solana keypair is a JSON array of 64 bytes")
    raw = bytes(values)
    seed, public = raw[:32], raw[32:]
    derived = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)
    if derived != public:
        raise UsageError(f"{path}: public half does not match the secret half")
    return seed, public


def _run(args: argparse.Namespace) -> int:
    import time

    import base58
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hotspot.commands.keys import key_path
    from hotspot.errors import KeyStoreError
    from hotspot.keystore import KeyStore
    from pocnet import geo, signing
    from pocnet.wire import registry_pb2

    if not -90 <= args.lat <= 90 or not -180 <= args.lon <= 180:
        raise UsageError(f"--lat/--lon out of range: {args.lat}, {args.lon}")
    if not -10 <= args.gain <= 30:
        raise UsageError(f"--gain {args.gain} dBi is implausible (expected -10 … 30)")
    if not -100 <= args.elevation <= 10_000:
        raise UsageError(f"--elevation {args.elevation} m is implausible")
    try:
        store = KeyStore.load(key_path(args))
    except KeyStoreError as exc:
        raise UsageError(str(exc)) from None
    seed: bytes | None = None
    if args.owner_key:
        seed, wallet = load_solana_keypair(args.owner_key)
    else:
        try:
            wallet = base58.b58decode(args.owner_wallet)
        except ValueError:
            wallet = b""
        if len(wallet) != 32:
            raise UsageError(f"--owner-wallet {args.owner_wallet!r} is not a Solana address")
    now_ms = time.time_ns() // 1_000_000
    msg = registry_pb2.LocationAssertion(
        hotspot_key=store.key_bytes,
        owner_wallet=wallet,
        location=int(geo.latlng_to_cell(args.lat, args.lon, geo.ASSERT_RES)),
        gain=round(args.gain * 10),
        elevation=args.elevation,
        capability=registry_pb2.FULL if args.capability == "full" else registry_pb2.DATA_ONLY,
        nonce=args.nonce if args.nonce is not None else now_ms,
        timestamp_ms=now_ms,
    )
    both = ("hotspot_signature", "owner_signature")
    canonical = signing.canonical_bytes(msg, fields=both)
    msg.hotspot_signature = store.keypair.sign(canonical)
    if seed is not None:
        msg.owner_signature = Ed25519PrivateKey.from_private_bytes(seed).sign(canonical)
    blob = msg.SerializeToString()
    if args.out:
        Path(args.out).write_bytes(blob)
    out = {
        "hotspot": store.address,
        "owner_wallet": base58.b58encode(wallet).decode(),
        "location": geo.cell_to_str(geo.Cell(msg.location)),
        "gain_dbi_x10": msg.gain,
        "elevation_m": msg.elevation,
        "capability": args.capability,
        "nonce": msg.nonce,
        "owner_signed": seed is not None,
        "request_hex": blob.hex(),
        "out": args.out,
    }
    if args.json:
        print_json(out)
    else:
        for key in ("hotspot", "owner_wallet", "location", "gain_dbi_x10", "elevation_m",
                    "nonce", "owner_signed"):
            print(f"{key:14} {out[key]}")
        if args.out:
            print(f"request written to {args.out}")
        else:
            print(f"request        {out['request_hex']}")
    return 0
