"""`pocnet-oracle registry maker add|remove|list`: the makers that may onboard hotspots.

Onboarding needs a maker's signature (oracle/registry.py), as Helium's makers vouch for the
hotspots they build; each maker has a quota of hotspots, so a leaked maker key can bring in at
most that many. Removing a maker keeps its hotspots and stops new onboardings by it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from pocnet.cli import UsageError, integer, print_json

QUOTA_MAX = 10_000_000


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("maker", help="the makers allowed to onboard hotspots, with quotas",
                       description="Manage the allowlist of maker keys whose signature "
                       "onboards a hotspot, each within its quota of hotspots.")
    actions = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    q = actions.add_parser("add", help="allow a maker (or change its name and quota)",
                           description="Allow a maker key to onboard up to QUOTA hotspots.")
    q.add_argument("maker", metavar="ADDRESS", help="maker key address")
    q.add_argument("--quota", type=integer(), required=True, metavar="N",
                   help="hotspots it may onboard in all (counting those already onboarded)")
    q.add_argument("--name", default="", help="who the maker is, for people")
    common(q)
    q.set_defaults(handler=_run_add)
    q = actions.add_parser("remove", help="stop a maker onboarding (its hotspots stay)",
                           description="Remove a maker from the allowlist.")
    q.add_argument("maker", metavar="ADDRESS", help="maker key address")
    common(q)
    q.set_defaults(handler=_run_remove)
    q = actions.add_parser("list", help="the allowlisted makers and their quota use",
                           description="List the makers, their quotas and hotspots onboarded.")
    common(q)
    q.set_defaults(handler=_run_list)


def _repo(args: argparse.Namespace) -> Any:
    from oracle.commands._database import open_database

    return open_database(args.config, args.database)[1]


def _run_add(args: argparse.Namespace) -> int:
    from oracle.commands.registry import parse_key
    from oracle.server import wall_ms

    key = parse_key(args.maker)
    if not 0 <= args.quota <= QUOTA_MAX:
        raise UsageError(f"--quota must be 0 to {QUOTA_MAX}")
    repo = _repo(args)
    try:
        repo.put_maker(key, args.name, args.quota, wall_ms())
    finally:
        repo.close()
    return _show(args, {"maker": args.maker, "name": args.name, "quota": args.quota},
                 f"maker {args.maker} may onboard {args.quota} hotspots")


def _run_remove(args: argparse.Namespace) -> int:
    from oracle.commands.registry import parse_key

    key = parse_key(args.maker)
    repo = _repo(args)
    try:
        removed = repo.remove_maker(key)
    finally:
        repo.close()
    if not removed:
        raise UsageError(f"maker {args.maker} is not on the allowlist")
    return _show(args, {"maker": args.maker, "removed": True}, f"maker {args.maker} removed")


def _run_list(args: argparse.Namespace) -> int:
    from pocnet.keys import PublicKey

    repo = _repo(args)
    try:
        makers = repo.makers()
    finally:
        repo.close()
    rows = [{"maker": PublicKey.from_bytes(m.key).address, "name": m.name, "quota": m.quota,
             "onboarded": m.onboarded, "added_ms": m.added_ms} for m in makers]
    if args.json:
        print_json({"makers": rows})
        return 0
    for row in rows:
        print(f"{row['maker']}  {row['onboarded']}/{row['quota']} onboarded  {row['name']}")
    if not rows:
        print("no makers: nobody can onboard a hotspot (`registry maker add`)")
    return 0


def _show(args: argparse.Namespace, data: dict[str, Any], text: str) -> int:
    if args.json:
        print_json(data)
    else:
        print(text)
    return 0
