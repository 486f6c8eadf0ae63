"""`pocnet-oracle registry`: the operator's registry tools.

`onboard`, `assert` and `transfer` apply a signed request (as written by `pocnet-hotspot
onboard` or `pocnet-owner transfer`: hex text or binary protobuf) with the same checks as the
gRPC service; `show` prints a registration and `list` pages through them; `deny` publishes
signed denylist versions (registry_deny.py) and `maker` keeps the allowlist of makers that may
onboard hotspots (registry_makers.py). The operator's door is the database itself: whoever
may run these against it is the operator.
"""

from __future__ import annotations

import argparse
from typing import Any

from oracle.commands import registry_deny, registry_makers
from oracle.commands._database import add_options
from pocnet.cli import UsageError, integer, print_json

LIST_PAGE, LIST_PAGE_MAX = 100, 1000


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("registry", help="onboard hotspots, move them, manage the denylist",
                              description="Registry tools working on the oracle's database.")
    sub = p.add_subparsers(title="actions", metavar="ACTION", required=True)

    def common(q: argparse.ArgumentParser) -> None:
        add_options(q)
        q.add_argument("--json", action="store_true", help="print one JSON object")

    for action, text in (
            ("onboard", "register a new hotspot (signed by hotspot, owner and maker)"),
            ("assert", "move a registered hotspot (signed by hotspot and current owner)"),
            ("transfer", "give a hotspot a new owner (signed by the current owner)")):
        q = sub.add_parser(action, help=text, description=text)
        q.add_argument("request", metavar="FILE", help="signed request: hex text or binary")
        common(q)
        q.set_defaults(handler=_run_transfer if action == "transfer" else _run_assert,
                       action=action)
    q = sub.add_parser("show", help="show a hotspot's registration",
                       description="Show a hotspot's registration and whether it is denied.")
    q.add_argument("hotspot", metavar="ADDRESS", help="hotspot address (or 33-byte key as hex)")
    common(q)
    q.set_defaults(handler=_run_show)
    q = sub.add_parser("list", help="list registrations, filtered, a page at a time",
                       description="List hotspots in key order; `--after` the last address of a "
                       "page gives the next page.")
    q.add_argument("--owner", metavar="WALLET", help="only this owner's hotspots")
    q.add_argument("--maker", metavar="ADDRESS", help="only hotspots this maker onboarded")
    q.add_argument("--region", metavar="NAME", help="only hotspots in this region (EU868 ...)")
    denied = q.add_mutually_exclusive_group()
    denied.add_argument("--denied", action="store_true", default=None,
                        help="only denied hotspots")
    denied.add_argument("--not-denied", dest="denied", action="store_false",
                        help="only hotspots not denied")
    q.add_argument("--limit", type=integer(), default=LIST_PAGE, metavar="N",
                   help=f"page size, 1 to {LIST_PAGE_MAX} (default {LIST_PAGE})")
    q.add_argument("--after", metavar="ADDRESS", help="start after this hotspot")
    common(q)
    q.set_defaults(handler=_run_list)
    registry_deny.register(sub, common)
    registry_makers.register(sub, common)


def parse_key(text: str) -> bytes:
    """A hotspot key from its address or its 33 bytes in hex."""
    from pocnet.errors import DecodeError
    from pocnet.keys import PublicKey

    try:
        if len(text) == 66:
            return PublicKey.from_bytes(bytes.fromhex(text)).to_bytes()
        return PublicKey.from_address(text).to_bytes()
    except (ValueError, DecodeError) as exc:
        raise UsageError(f"{text!r} is not a hotspot address or key: {exc}") from None


def open_registry(args: argparse.Namespace) -> Any:
    from oracle.commands._database import open_database
    from oracle.registry import Registry
    from oracle.server import wall_ms
    from pocnet.keys import Network, PublicKey

    settings, repo = open_database(args.config, args.database)
    network = Network[settings.oracle.network.upper()]

    def public_key(raw: bytes) -> PublicKey:
        from oracle.errors import BadReport
        from pocnet.errors import DecodeError

        try:
            key = PublicKey.from_bytes(raw)
        except DecodeError as exc:
            raise BadReport(f"malformed key: {exc}") from None
        if key.network != network:
            raise BadReport(f"key {key.address} is not a {network.name} key")
        return key

    operators = [PublicKey.from_address(a).to_bytes() for a in settings.registry.operator_keys]
    return Registry(repo, public_key, wall_ms, operators), repo


def _info_json(info: Any) -> dict[str, Any]:
    from oracle.storage.views import to_json
    from pocnet.keys import PublicKey
    from pocnet.owner.requests import wallet_address

    data = to_json(info)
    data["address"] = PublicKey.from_bytes(info.hotspot_key).address
    data["location"] = f"{info.location:x}" if info.location else None
    data["owner"] = wallet_address(bytes(info.owner_wallet))
    data["maker"] = PublicKey.from_bytes(info.maker_key).address if info.maker_key else None
    return data


def _print_info(args: argparse.Namespace, info: Any) -> None:
    data = _info_json(info)
    if args.json:
        print_json(data)
    else:
        print(f"{data['address']}  owner {data['owner']}  location {data['location']}  "
              f"region {info.region or '-'}  gain {info.gain / 10:g} dBi  nonce {info.nonce}  "
              f"denied {info.denied}")


def _read(path: str, kind: str) -> Any:
    from pocnet.owner.requests import read_request
    from pocnet.wire import registry_pb2

    return read_request(path, getattr(registry_pb2, kind))


def _run_assert(args: argparse.Namespace) -> int:
    from oracle.errors import OracleError

    msg = _read(args.request, "LocationAssertion")
    registry, repo = open_registry(args)
    try:
        existing = repo.hotspot(bytes(msg.hotspot_key))
        if args.action == "onboard" and existing is not None:
            raise UsageError("hotspot is already onboarded; use `registry assert` to move it")
        if args.action == "assert" and existing is None:
            raise UsageError("hotspot is not onboarded yet; use `registry onboard`")
        _print_info(args, registry.assert_location(msg))
    except OracleError as exc:
        raise UsageError(str(exc)) from None
    finally:
        repo.close()
    return 0


def _run_transfer(args: argparse.Namespace) -> int:
    from oracle.errors import OracleError

    msg = _read(args.request, "OwnershipTransfer")
    registry, repo = open_registry(args)
    try:
        _print_info(args, registry.transfer(msg))
    except OracleError as exc:
        raise UsageError(str(exc)) from None
    finally:
        repo.close()
    return 0


def _run_show(args: argparse.Namespace) -> int:
    from oracle.errors import OracleError

    key = parse_key(args.hotspot)
    registry, repo = open_registry(args)
    try:
        _print_info(args, registry.info(key))
    except OracleError as exc:
        raise UsageError(str(exc)) from None
    finally:
        repo.close()
    return 0


def _run_list(args: argparse.Namespace) -> int:
    from oracle.registry import hotspot_info
    from pocnet.owner.requests import parse_wallet

    if not 1 <= args.limit <= LIST_PAGE_MAX:
        raise UsageError(f"--limit must be 1 to {LIST_PAGE_MAX}")
    owner = parse_wallet(args.owner, "--owner") if args.owner else None
    maker = parse_key(args.maker) if args.maker else None
    after = parse_key(args.after) if args.after else None
    _, repo = open_registry(args)
    try:
        page = repo.list_hotspots(owner=owner, maker=maker, region=args.region,
                                  denied=args.denied, after=after, limit=args.limit)
        infos = [hotspot_info(reg, repo.is_denied(reg.hotspot_key)) for reg in page]
    finally:
        repo.close()
    rows = [_info_json(info) for info in infos]
    more = rows[-1]["address"] if len(rows) == args.limit else None
    if args.json:
        print_json({"hotspots": rows, "next_after": more})
        return 0
    for info in infos:
        _print_info(args, info)
    if more:
        print(f"more: --after {more}")
    return 0
