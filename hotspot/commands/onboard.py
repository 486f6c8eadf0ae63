"""`pocnet-hotspot onboard`: write the registry request the maker and the owner then sign.

The LocationAssertion (docs/protocol.md §2, registry.proto) names everything before anyone
signs: the hotspot key, the owner's wallet, the hotspot's maker, the location (given, or the GPS
fix with `--from-gps`), gain, elevation and the next nonce (asked of the oracle unless
`--nonce`). The hotspot signs it here; the maker adds its signature with `pocnet-owner
maker-sign` and the owner with `pocnet-owner sign` on their own machines (or here with
`--owner-key` when the owner's keypair is at hand); `pocnet-hotspot submit` sends it.
Onboarding needs all three signatures; a move of an onboarded hotspot needs the hotspot and its
current owner only.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from pocnet.cli import UsageError, integer, number, print_json

GPS_TIMEOUT_S = 30.0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "onboard", help="write the onboarding / location request for maker and owner to sign",
        description="Write a LocationAssertion signed by the hotspot key, for the maker "
        "(`pocnet-owner maker-sign`) and the owner (`pocnet-owner sign`) to sign and "
        "`pocnet-hotspot submit` to send.")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--lat", type=number(), help="latitude, degrees (with --lon)")
    where.add_argument("--from-gps", action="store_true",
                       help="the current GPS fix: the running daemon's, else the [gps] device")
    p.add_argument("--lon", type=number(), help="longitude, degrees")
    p.add_argument("--gain", type=number(), required=True, help="antenna gain, dBi (e.g. 3.0)")
    p.add_argument("--elevation", type=integer(), required=True, help="metres above ground")
    owner = p.add_mutually_exclusive_group(required=True)
    owner.add_argument("--owner-wallet", metavar="BASE58",
                       help="owner's wallet address (the owner signs with pocnet-owner)")
    owner.add_argument("--owner-key", metavar="FILE",
                       help="owner's Solana keypair JSON (64-byte array): sets and signs")
    p.add_argument("--maker", metavar="ADDRESS",
                   help="the hotspot maker's key address (needed to onboard, not to move)")
    p.add_argument("--capability", choices=("full", "data_only"), default="full")
    p.add_argument("--nonce", type=integer(0),
                   help="assertion nonce (default: the oracle's stored nonce + 1)")
    p.add_argument("-c", "--config", metavar="PATH", help="settings file")
    p.add_argument("--key-file", metavar="PATH", help="hotspot key file (overrides settings)")
    p.add_argument("-o", "--out", metavar="FILE",
                   help="write the request (hex text) to FILE for maker and owner to sign")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_run)


def _settings(args: argparse.Namespace) -> Any:
    from hotspot import settings
    from hotspot.errors import SettingsError

    try:
        return settings.load(args.config)
    except SettingsError as exc:
        raise UsageError(str(exc).replace("\n", "; ")) from None


def gps_position(conf: Any) -> tuple[float, float]:
    """The running daemon's fix (it owns the receiver), else one read from the [gps] device."""
    from hotspot.errors import OutboxError
    from hotspot.outbox import read_only

    try:
        state = read_only(conf.outbox.path).get_state("gps")
    except OutboxError:
        state = None
    if isinstance(state, dict) and state.get("status") == "fix" and "lat" in state:
        return float(state["lat"]), float(state["lon"])
    if not conf.gps.device:
        raise UsageError("--from-gps: the daemon holds no fix and settings name no [gps] device")
    return asyncio.run(_read_fix(conf.gps.device, conf.gps.baudrate))


async def _read_fix(device: str, baudrate: int) -> tuple[float, float]:
    from firmware_bridge.errors import BridgeError
    from firmware_bridge.ublox_gps.gnss import UbloxGps

    gps = UbloxGps(port=device, baudrate=baudrate)
    try:
        await gps.start()
        async with asyncio.timeout(GPS_TIMEOUT_S):
            async for fix in gps.fixes():
                if fix.usable:
                    return fix.lat, fix.lon
    except (BridgeError, OSError) as exc:
        raise UsageError(f"--from-gps: {device}: {exc}") from None
    except TimeoutError:
        pass
    finally:
        await gps.stop()
    raise UsageError(f"--from-gps: no usable fix from {device} within {GPS_TIMEOUT_S:g} s")


async def next_nonce(conf: Any, key: bytes) -> int:
    """The registry's nonce for this hotspot + 1 (1 when it is not onboarded)."""
    from hotspot.client.connection import OracleConnection
    from hotspot.client.registry import RegistryClient
    from hotspot.errors import OracleUnavailable

    conn = OracleConnection(conf.oracle)
    try:
        info = await RegistryClient(conn).get_hotspot(key)
    except OracleUnavailable as exc:
        raise UsageError(f"cannot ask the oracle for the next nonce ({exc}); give --nonce") \
            from None
    finally:
        await conn.close()
    return info.nonce + 1 if info is not None else 1


def _run(args: argparse.Namespace) -> int:
    import time

    from hotspot.commands.keys import key_path
    from hotspot.errors import KeyStoreError
    from hotspot.keystore import KeyStore
    from pocnet import geo, signing
    from pocnet.keys import PublicKey
    from pocnet.owner import requests
    from pocnet.wire import registry_pb2

    if (args.lat is None) != (args.lon is None):
        raise UsageError("--lat and --lon go together")
    conf = _settings(args) if args.from_gps or args.nonce is None else None
    lat, lon = gps_position(conf) if args.from_gps else (args.lat, args.lon)
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise UsageError(f"--lat/--lon out of range: {lat}, {lon}")
    if not -10 <= args.gain <= 30:
        raise UsageError(f"--gain {args.gain} dBi is implausible (expected -10 … 30)")
    if not -100 <= args.elevation <= 10_000:
        raise UsageError(f"--elevation {args.elevation} m is implausible")
    if args.nonce is not None and not 0 < args.nonce < 2**63:
        raise UsageError(f"--nonce {args.nonce} is not between 1 and 2^63-1")
    try:
        store = KeyStore.load(key_path(args))
    except KeyStoreError as exc:
        raise UsageError(str(exc)) from None
    maker = PublicKey.from_address(args.maker).to_bytes() if args.maker else b""
    if args.owner_key:
        _, wallet = requests.load_solana_keypair(args.owner_key)
    else:
        wallet = requests.parse_wallet(args.owner_wallet, "--owner-wallet")
    nonce = args.nonce if args.nonce is not None else asyncio.run(
        next_nonce(conf, store.key_bytes))
    now_ms = time.time_ns() // 1_000_000
    msg = registry_pb2.LocationAssertion(
        hotspot_key=store.key_bytes,
        owner_wallet=wallet,
        location=int(geo.latlng_to_cell(lat, lon, geo.ASSERT_RES)),
        gain=round(args.gain * 10),
        elevation=args.elevation,
        capability=registry_pb2.FULL if args.capability == "full" else registry_pb2.DATA_ONLY,
        nonce=nonce,
        timestamp_ms=now_ms,
        maker_key=maker,
    )
    msg.hotspot_signature = store.keypair.sign(
        signing.canonical_bytes(msg, signing.ASSERTION_SIGNATURES))
    if args.owner_key:
        requests.sign_as_owner(msg, args.owner_key)
    if args.out:
        requests.write_request(args.out, msg)
    _report(args, msg, store.address)
    return 0


def _report(args: argparse.Namespace, msg: Any, address: str) -> None:
    from pocnet.owner.cli import describe

    out = describe(msg) | {"request_hex": msg.SerializeToString().hex(), "out": args.out}
    missing = [party for party, ok in out["signed"].items() if not ok]
    if args.json:
        print_json(out)
        return
    for key in ("hotspot", "owner_wallet", "maker", "location", "gain_dbi", "elevation_m",
                "nonce"):
        print(f"{key:13} {out[key] if out[key] is not None else '-'}")
    print(f"{'signed by':13} {', '.join(p for p, ok in out['signed'].items() if ok)}")
    if args.out:
        print(f"request written to {args.out}")
    else:
        print(f"request       {out['request_hex']}")
    if missing:
        print(f"next: {' and '.join(missing)} sign it (pocnet-owner maker-sign / sign), "
              "then `pocnet-hotspot submit` it (a move needs no maker)")
