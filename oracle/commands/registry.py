"""`pocnet-oracle registry onboard|assert|deny|show`: the operator's registry tools.

`onboard` and `assert` apply a signed LocationAssertion (as built by `pocnet-hotspot onboard`:
binary protobuf, or its hex) with the same checks as the gRPC service; `deny` signs and applies
a new denylist version with an operator key; `show` prints a registration.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from oracle.commands._database import add_options
from pocnet.cli import UsageError, integer, print_json


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("registry", help="onboard hotspots, move them, manage the denylist",
                              description="Registry tools working on the oracle's database.")
    sub = p.add_subparsers(title="actions", metavar="ACTION", required=True)

    def common(q: argparse.ArgumentParser) -> None:
        add_options(q)
        q.add_argument("--json", action="store_true", help="print one JSON object")

    for action, text in (("onboard", "register a new hotspot from a signed assertion"),
                         ("assert", "move a registered hotspot (signed assertion, higher nonce)")):
        q = sub.add_parser(action, help=text, description=text)
        q.add_argument("assertion", metavar="FILE",
                       help="signed LocationAssertion: binary protobuf or hex text")
        common(q)
        q.set_defaults(handler=_run_assert, action=action)
    q = sub.add_parser("deny", help="publish a new denylist version signed by an operator key",
                       description="Replace the denylist (hotspots and hotspot pairs) with a new "
                       "version signed by an operator key the oracle trusts.")
    q.add_argument("--operator-key", required=True, metavar="FILE", help="operator key file")
    q.add_argument("--version", type=integer(1), metavar="N",
                   help="denylist version (default: current + 1)")
    q.add_argument("--hotspot", action="append", default=[], metavar="ADDRESS",
                   help="deny this hotspot (repeatable)")
    q.add_argument("--edge", action="append", default=[], metavar="ADDRESS:ADDRESS",
                   help="deny this pair of hotspots witnessing each other (repeatable)")
    common(q)
    q.set_defaults(handler=_run_deny)
    q = sub.add_parser("show", help="show a hotspot's registration",
                       description="Show a hotspot's registration and whether it is denied.")
    q.add_argument("hotspot", metavar="ADDRESS", help="hotspot address (or 33-byte key as hex)")
    common(q)
    q.set_defaults(handler=_run_show)


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


def _registry(args: argparse.Namespace) -> Any:
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

    data = to_json(info)
    data["address"] = PublicKey.from_bytes(info.hotspot_key).address
    data["location"] = f"{info.location:x}" if info.location else None
    return data


def _print_info(args: argparse.Namespace, info: Any) -> None:
    data = _info_json(info)
    if args.json:
        print_json(data)
    else:
        print(f"{data['address']}  location {data['location']}  region {info.region or '-'}  "
              f"gain {info.gain / 10:g} dBi  nonce {info.nonce}  denied {info.denied}")


def _read_assertion(path: str) -> Any:
    from pocnet.wire import registry_pb2

    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None
    try:
        raw = bytes.fromhex(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        pass  # binary protobuf
    from oracle.errors import BadReport
    from oracle.servicers._wire import decode

    try:
        return decode(registry_pb2.LocationAssertion, raw)
    except BadReport as exc:
        raise UsageError(f"{path}: {exc}") from None


def _run_assert(args: argparse.Namespace) -> int:
    from oracle.errors import OracleError

    msg = _read_assertion(args.assertion)
    registry, repo = _registry(args)
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


def _run_deny(args: argparse.Namespace) -> int:
    from oracle.errors import OracleError
    from pocnet import signing
    from pocnet.keys import load_keyfile
    from pocnet.wire import registry_pb2

    operator = load_keyfile(args.operator_key)
    hotspots = [parse_key(a) for a in args.hotspot]
    edges = []
    for text in args.edge:
        a, sep, b = text.partition(":")
        if not sep:
            raise UsageError(f"--edge {text!r}: want ADDRESS:ADDRESS")
        edges.append(registry_pb2.DeniedEdge(a=parse_key(a), b=parse_key(b)))
    registry, repo = _registry(args)
    try:
        version = args.version if args.version is not None else repo.denylist_version() + 1
        from oracle.server import wall_ms

        update = registry_pb2.DenylistUpdate(
            version=version, hotspots=hotspots, edges=edges,
            operator_key=operator.public_key.to_bytes(), timestamp_ms=wall_ms(),
        )
        signing.sign(update, operator)
        applied = registry.update_denylist(update)
    except OracleError as exc:
        raise UsageError(str(exc)) from None
    finally:
        repo.close()
    if args.json:
        print_json({"version": applied, "hotspots": len(hotspots), "edges": len(edges)})
    else:
        print(f"denylist version {applied}: {len(hotspots)} hotspots, {len(edges)} edges")
    return 0


def _run_show(args: argparse.Namespace) -> int:
    from oracle.errors import OracleError

    key = parse_key(args.hotspot)
    registry, repo = _registry(args)
    try:
        _print_info(args, registry.info(key))
    except OracleError as exc:
        raise UsageError(str(exc)) from None
    finally:
        repo.close()
    return 0
