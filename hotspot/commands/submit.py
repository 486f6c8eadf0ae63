"""`pocnet-hotspot submit`: send a signed registry request to the oracle, and tell the daemon.

The request comes from `pocnet-hotspot onboard` (signed by maker and owner with `pocnet-owner`)
or, with `--transfer`, from `pocnet-owner transfer`. After the oracle accepts it, the daemon's
outbox state `registry_changed` is set so the running daemon's region watcher asks the
registry again at once and beacons with the new region and gain without a restart.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from pocnet.cli import UsageError, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "submit", help="send a signed onboarding / location request (or a transfer)",
        description="Send a request signed by everyone it needs to the oracle; the running "
        "daemon then picks up its new region and gain.")
    p.add_argument("request", metavar="FILE", help="request file (hex text or binary)")
    p.add_argument("--transfer", action="store_true",
                   help="the file is an ownership transfer (pocnet-owner transfer)")
    p.add_argument("-c", "--config", metavar="PATH", help="settings file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_run)


async def _submit(conf: Any, msg: Any) -> Any:
    from hotspot.client.connection import OracleConnection
    from hotspot.client.registry import RegistryClient
    from hotspot.errors import OracleUnavailable, ReportRejected

    conn = OracleConnection(conf.oracle)
    try:
        return await RegistryClient(conn).submit(msg)
    except OracleUnavailable as exc:
        raise UsageError(f"oracle unavailable, nothing submitted: {exc}") from None
    except ReportRejected as exc:
        raise UsageError(f"the oracle refused the request: {exc.detail or exc.reason}") \
            from None
    finally:
        await conn.close()


def note_change(outbox_path: str, nonce: int) -> bool:
    """Wake the daemon's region watcher; False when there is no outbox (no daemon yet)."""
    from pathlib import Path

    from hotspot.errors import OutboxError
    from hotspot.outbox import Outbox
    from hotspot.region_watcher import REGISTRY_CHANGED

    if not Path(outbox_path).exists():
        return False  # never create the daemon's outbox from here
    try:
        outbox = Outbox(outbox_path)
    except OutboxError:
        return False
    try:
        outbox.set_state(REGISTRY_CHANGED, nonce)
    finally:
        outbox.close()
    return True


def _run(args: argparse.Namespace) -> int:
    from hotspot import settings
    from hotspot.errors import SettingsError
    from pocnet.keys import PublicKey
    from pocnet.owner import requests
    from pocnet.wire import registry_pb2

    try:
        conf = settings.load(args.config)
    except SettingsError as exc:
        raise UsageError(str(exc).replace("\n", "; ")) from None
    kind = registry_pb2.OwnershipTransfer if args.transfer else registry_pb2.LocationAssertion
    msg = requests.read_request(args.request, kind)
    info = asyncio.run(_submit(conf, msg))
    woke = note_change(conf.outbox.path, info.nonce)
    out = {
        "hotspot": PublicKey.from_bytes(bytes(info.hotspot_key)).address,
        "owner_wallet": requests.wallet_address(bytes(info.owner_wallet)),
        "region": info.region or None,
        "gain_dbi": info.gain / 10,
        "nonce": info.nonce,
        "daemon_told": woke,
    }
    if args.json:
        print_json(out)
    else:
        for key, value in out.items():
            print(f"{key:13} {value if value is not None else '-'}")
    return 0
