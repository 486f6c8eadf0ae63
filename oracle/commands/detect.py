"""`pocnet-oracle detect --epoch N`: what gaming detection would deny after an epoch, and why.

Reads the verified history of the epoch (or of the `--epochs K` epochs ending with it), runs
every detector of oracle/detect/detectors.py, and turns the findings into denylist entries by
the policy of oracle/detect/policy.py, each with its evidence and expiry. Nothing is written
unless `--apply` names the operator key: then the entries join the next signed denylist
version (as `registry deny add` would), and the following epoch's verification applies them.
It also says where it is blind: the hotspots on the air that no detector could judge, and
why (oracle/detect/reach.py).
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from oracle.rewards.store import MAX_EPOCH
from pocnet.cli import UsageError, integer, print_json

MAX_EPOCHS = 30


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from oracle.detect.detectors import DETECTORS

    p = subparsers.add_parser(
        "detect",
        help="gaming detection: what it would deny after an epoch, and why",
        description="Run the gaming detectors over an epoch's verified history and print the "
        "denylist entries the policy would make (hotspots and edges, with evidence and "
        "expiry), and the findings that deny nothing. Detectors: "
        + "; ".join(f"{name}: {what}" for name, (what, _) in DETECTORS.items()),
    )
    p.add_argument("--epoch", type=integer(0, MAX_EPOCH), required=True, metavar="N",
                   help="epoch = days since 1970-01-01 UTC")
    p.add_argument("--epochs", type=integer(1, MAX_EPOCHS), default=1, metavar="K",
                   help=f"read the K epochs ending with N (1..{MAX_EPOCHS}, default 1)")
    p.add_argument("--only", action="append", default=[], metavar="DETECTOR",
                   choices=sorted(DETECTORS), help="run only this detector (repeatable)")
    p.add_argument("--apply", action="store_true",
                   help="publish the entries in the next denylist version (needs --operator-key)")
    p.add_argument("--operator-key", metavar="FILE",
                   help="operator key file (its address in [registry] operator_keys)")
    p.add_argument("--config", metavar="FILE", help="settings file (TOML)")
    p.add_argument("--database", metavar="URL", help="database URL or path")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from oracle.commands._database import open_database
    from oracle.detect.detectors import detect
    from oracle.detect.model import DEFAULT_PARAMS
    from oracle.detect.policy import decide, denied_hotspots
    from oracle.detect.reach import unjudged
    from oracle.detect.source import read_history
    from oracle.rewards.model import epoch_bounds_ms

    if not 1 <= args.epochs <= min(MAX_EPOCHS, args.epoch + 1):
        raise UsageError(f"--epochs must be between 1 and {min(MAX_EPOCHS, args.epoch + 1)}")
    if args.apply and not args.operator_key:
        raise UsageError("--apply needs --operator-key FILE")
    settings, repo = open_database(args.config, args.database)
    epoch_ms = settings.network.epoch_s * 1000
    start, _ = epoch_bounds_ms(args.epoch - args.epochs + 1, epoch_ms)
    _, end = epoch_bounds_ms(args.epoch, epoch_ms)
    try:
        history = read_history(repo, start, end)
    finally:
        repo.close()
    findings = detect(history, only=args.only)
    decisions, watch = decide(findings, args.epoch)
    blind = unjudged(history, denied_hotspots(decisions), DEFAULT_PARAMS)
    result: dict[str, Any] = {
        "epoch": args.epoch,
        "epochs": args.epochs,
        "hotspots": len(history.hotspots),
        "witness_reports": len(history.witnesses),
        "fixes": len(history.fixes),
        "deny": [d.as_dict() for d in decisions],
        "watch": [_finding(f) for f in watch],
        "unjudged": [u.as_dict() for u in blind],
    }
    if args.apply:
        result["denylist_version"] = _apply(args, decisions, epoch_ms) if decisions else None
    if args.json:
        print_json(result)
        return 0
    print(f"epoch {args.epoch} ({args.epochs} epoch(s)): {result['hotspots']} hotspots, "
          f"{result['witness_reports']} witness reports, {result['fixes']} GPS fixes")
    verb = "denied" if args.apply else "would deny"
    print(f"{verb} {len(decisions)}:" if decisions else f"{verb} nothing")
    for entry in result["deny"]:
        print(f"  {entry['kind']} {' '.join(entry['subject'])} until epoch "
              f"{entry['expires_epoch']}: {', '.join(entry['reasons'])}")
        for item in entry["evidence"]:
            print("      " + ", ".join(f"{k}={v}" for k, v in item.items() if k != "cluster"))
    for item in result["watch"]:
        print(f"  watch {' '.join(item['subject'])}: {item['detector']} {item['evidence']}")
    if blind:
        counts = Counter(u.why for u in blind)
        print("beyond judgement (--json lists them): "
              + ", ".join(f"{count} {why}" for why, count in sorted(counts.items())))
    return 0


def _apply(args: argparse.Namespace, decisions: list[Any], epoch_ms: int) -> int:
    """Publish the decisions as the next denylist version; its number."""

    from oracle.commands.registry import open_registry
    from oracle.commands.registry_deny import publish
    from oracle.errors import OracleError
    from oracle.server import wall_ms
    from pocnet.keys import load_keyfile

    operator = load_keyfile(args.operator_key)
    add, edges = denylist_entries(decisions, args.epoch, epoch_ms)
    registry, repo = open_registry(args)
    try:
        version, _, _ = publish(registry, repo, operator, wall_ms(), add=add, add_edges=edges)
    except OracleError as exc:
        raise UsageError(str(exc)) from None
    finally:
        repo.close()
    return version


def denylist_entries(decisions: list[Any], epoch: int, epoch_length_ms: int) -> tuple[
        dict[bytes, tuple[str, str, int]], dict[tuple[bytes, bytes], tuple[str, str, int]]]:
    """The policy's decisions as denylist entries, (hotspots, edges), each with its reason,
    evidence and expiry: an edge is told to its two owners as a hotspot's denial is."""
    import json

    from oracle.rewards.model import epoch_bounds_ms

    add: dict[bytes, tuple[str, str, int]] = {}
    edges: dict[tuple[bytes, bytes], tuple[str, str, int]] = {}
    for d in decisions:
        reason = f"detect epoch {epoch}: {', '.join(d.reasons)}"
        evidence = json.dumps(d.evidence, sort_keys=True, separators=(",", ":"))
        entry = (reason, evidence, epoch_bounds_ms(d.expires_epoch, epoch_length_ms)[0])
        if len(d.subject) == 2:
            edges[d.subject] = entry
        else:
            add[d.subject[0]] = entry
    return add, edges


def _finding(finding: Any) -> dict[str, Any]:
    from pocnet.keys import PublicKey

    return {"detector": finding.detector, "score": round(finding.score, 2),
            "subject": [PublicKey.from_bytes(k).address for k in finding.hotspots],
            "evidence": finding.evidence}
