"""`pocnet-oracle registry deny add|remove|show`: edit the denylist one entry at a time.

The wire keeps the denylist as whole versions signed by an operator key (registry.proto), so a
replica or an auditor can check any version on its own. These commands read the current
version, add or remove entries, and sign the next version; reasons, evidence and expiry of the
entries not touched are carried over. Entries whose expiry has passed are dropped from the next
version (until then they still count). Two operators editing at once: the second is refused
(the version is taken) and simply runs again.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pocnet.cli import UsageError, print_json


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("deny", help="add to, remove from or show the denylist",
                       description="Edit the denylist (hotspots, and pairs of hotspots that "
                       "may not witness each other); each change is a new signed version.")
    actions = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    for action, text in (("add", "deny hotspots (or pairs) from the next version on"),
                         ("remove", "lift denials in the next version")):
        q = actions.add_parser(action, help=text, description=text)
        q.add_argument("hotspots", nargs="*", metavar="ADDRESS", help="hotspot addresses")
        q.add_argument("--edge", action="append", default=[], metavar="ADDRESS:ADDRESS",
                       help="a pair of hotspots witnessing each other (repeatable)")
        q.add_argument("--operator-key", required=True, metavar="FILE",
                       help="operator key file (its address in [registry] operator_keys)")
        if action == "add":
            q.add_argument("--reason", default="", help="why, in a few words")
            q.add_argument("--evidence", default="", help="where the proof is (URL, report ids)")
            q.add_argument("--expires", metavar="WHEN",
                           help="UTC date or time it lapses (2027-01-31 or 2027-01-31T12:00)")
        common(q)
        q.set_defaults(handler=_run_edit, action=action)
    q = actions.add_parser("show", help="why a hotspot is denied (or the whole list)",
                           description="Show a hotspot's denial: version, reason, evidence, "
                           "expiry; without ADDRESS, every denial.")
    q.add_argument("hotspot", nargs="?", metavar="ADDRESS", help="hotspot address")
    common(q)
    q.set_defaults(handler=_run_show)


def parse_expiry(text: str | None) -> int:
    """Unix ms of a UTC date/time; 0 for none."""
    if not text:
        return 0
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--expires {text!r} is not a date (2027-01-31 or 2027-01-31T12:00)") \
            from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _edges(texts: list[str]) -> set[tuple[bytes, bytes]]:
    from oracle.commands.registry import parse_key

    edges = set()
    for text in texts:
        a, sep, b = text.partition(":")
        if not sep:
            raise UsageError(f"--edge {text!r}: want ADDRESS:ADDRESS")
        edges.add(tuple(sorted((parse_key(a), parse_key(b)))))
    return edges  # type: ignore[return-value]


Entry = tuple[str, str, int]  # (reason, evidence, expires_at_ms; 0 = never)


def publish(
    registry: Any,
    repo: Any,
    operator: Any,
    now_ms: int,
    add: dict[bytes, Entry] | None = None,
    add_edges: dict[tuple[bytes, bytes], Entry] | None = None,
    remove: set[bytes] | None = None,
    remove_edges: set[tuple[bytes, bytes]] | None = None,
) -> tuple[int, int, int]:
    """Sign and store the next denylist version: the current one (expired entries dropped)
    with these changes. (version, hotspots, edges). Also `pocnet-oracle detect --apply`'s.
    Edges are pairs (a, b) with a < b."""
    from pocnet import signing
    from pocnet.wire import registry_pb2

    why = {k: repo.denial(k) for k in repo.denied_hotspots()}
    current = {k: (d.reason, d.evidence, d.expires_ms) for k, d in why.items()
               if d is not None and not 0 < d.expires_ms <= now_ms}
    listed = {(d.a, d.b): (d.reason, d.evidence, d.expires_ms) for d in repo.edge_denials()}
    pairs = {e: v for e, v in listed.items() if not 0 < v[2] <= now_ms}
    absent = [k for k in remove or () if k not in why]
    absent += [e for e in remove_edges or () if e not in listed]
    if absent:
        raise UsageError(f"{len(absent)} of the entries named are not denied")
    current = {k: v for k, v in current.items() if k not in (remove or ())}
    current |= add or {}
    pairs = {e: v for e, v in pairs.items() if e not in (remove_edges or ())}
    pairs |= add_edges or {}
    update = registry_pb2.DenylistUpdate(
        version=repo.denylist_version() + 1, hotspots=sorted(current),
        edges=[registry_pb2.DeniedEdge(a=a, b=b, reason=r, evidence=e, expires_at_ms=x)
               for (a, b), (r, e, x) in sorted(pairs.items())],
        denials=[registry_pb2.Denial(hotspot_key=k, reason=r, evidence=e, expires_at_ms=x)
                 for k, (r, e, x) in sorted(current.items()) if r or e or x],
        operator_key=operator.public_key.to_bytes(), timestamp_ms=now_ms)
    signing.sign(update, operator)
    return registry.update_denylist(update), len(current), len(pairs)


def _run_edit(args: argparse.Namespace) -> int:
    from oracle.commands.registry import open_registry, parse_key
    from oracle.errors import OracleError
    from oracle.server import wall_ms
    from pocnet.keys import load_keyfile

    keys = {parse_key(a) for a in args.hotspots}
    edges = _edges(args.edge)
    if not keys and not edges:
        raise UsageError("name at least one hotspot ADDRESS or --edge")
    operator = load_keyfile(args.operator_key)
    registry, repo = open_registry(args)
    try:
        if args.action == "add":
            entry = (args.reason, args.evidence, parse_expiry(args.expires))
            changes: dict[str, Any] = {"add": dict.fromkeys(keys, entry),
                                       "add_edges": dict.fromkeys(edges, entry)}
        else:
            changes = {"remove": keys, "remove_edges": edges}
        version, hotspots, pairs = publish(registry, repo, operator, wall_ms(), **changes)
    except OracleError as exc:
        raise UsageError(str(exc)) from None
    finally:
        repo.close()
    if args.json:
        print_json({"version": version, "hotspots": hotspots, "edges": pairs})
    else:
        print(f"denylist version {version}: {hotspots} hotspots, {pairs} edges")
    return 0


def _when(ms: int) -> str | None:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat() if ms else None


def _denial_json(denial: Any, now_ms: int) -> dict[str, Any]:
    """A hotspot's denial (repository.Denial) or an edge's (repository.EdgeDenial)."""
    from pocnet.keys import PublicKey

    if hasattr(denial, "hotspot_key"):
        subject: dict[str, Any] = {"hotspot": PublicKey.from_bytes(denial.hotspot_key).address}
    else:
        subject = {"edge": [PublicKey.from_bytes(k).address for k in (denial.a, denial.b)]}
    return {**subject, "version": denial.version, "reason": denial.reason,
            "evidence": denial.evidence, "since": _when(denial.since_ms),
            "expires": _when(denial.expires_ms), "expired": 0 < denial.expires_ms <= now_ms}


def _line(row: dict[str, Any]) -> str:
    who = row["hotspot"] if "hotspot" in row else "edge " + ":".join(row["edge"])
    return (f"{who}  since v{row['version']} {row['since']}  expires {row['expires'] or 'never'}"
            f"{' (expired)' if row['expired'] else ''}  reason {row['reason'] or '-'}  "
            f"evidence {row['evidence'] or '-'}")


def _run_show(args: argparse.Namespace) -> int:
    from oracle.commands.registry import open_registry, parse_key
    from oracle.server import wall_ms

    _, repo = open_registry(args)
    try:
        key = parse_key(args.hotspot) if args.hotspot else None
        keys = [key] if key is not None else sorted(repo.denied_hotspots())
        found = [d for d in (repo.denial(k) for k in keys) if d is not None]
        edges = repo.edge_denials(key)
        version = repo.denylist_version()
    finally:
        repo.close()
    if args.hotspot and not found and not edges:
        raise UsageError(f"{args.hotspot} is not denied (denylist version {version})")
    now = wall_ms()
    rows = [_denial_json(d, now) for d in found]
    edge_rows = [_denial_json(d, now) for d in edges]
    if args.json:
        if args.hotspot:
            # The hotspot's own denial (if any) and the pairs it may not witness in.
            head = rows[0] if rows else {"hotspot": args.hotspot}
            print_json({**head, "denied": bool(rows), "edges": edge_rows})
        else:
            print_json({"version": version, "denied": rows, "edges": edge_rows})
        return 0
    for row in rows + edge_rows:
        print(_line(row))
    if not rows and not edge_rows:
        print(f"no hotspot denied (denylist version {version})")
    return 0
