"""`pocnet-oracle payout run|status --epoch N`: pay an epoch's manifest on Solana, exactly once.

`run` plans the epoch in the payout ledger (stored before anything is signed), then sends
its batches: to the embedded VM by default (state kept in `--state`), or to a cluster with
`--rpc-url`. Re-running after a crash finishes the job without paying anyone twice.
`status` reads the ledger only: batch states and each wallet's owed and paid.

The ledger is `payout.ledger` of the settings file unless `--ledger` names another. Only `run
--create` creates a ledger (and, with the embedded VM, its state and payer keypair): run in the
wrong folder or with a mistyped path, a command must fail instead of paying from a new ledger
that knows nothing of what was already paid.

One `run` at a time per ledger: a second one exits 2 at once (the ledger would make it safe,
but it would wait on locks and fail obscurely).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from oracle.commands._database import add_options
from pocnet.cli import UsageError, integer, print_json, progress_bar

DEFAULT_STATE = "payout-litesvm.state"
DEFAULT_PAYER = "payout-payer.json"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "payout",
        help="pay an epoch's rewards on Solana, show payout status",
        description="Pay a stored epoch manifest as SPL token transfers, exactly once.",
    )
    sub = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    r = sub.add_parser("run", help="plan (once) and send the epoch's payout batches")
    s = sub.add_parser("status", help="batch states and per-wallet owed / paid")
    for q in (r, s):
        q.add_argument("--epoch", type=integer(0), required=True, metavar="N")
        q.add_argument("--ledger", metavar="PATH",
                       help="payout ledger (SQLite; default payout.ledger of the settings)")
        q.add_argument("--json", action="store_true", help="print one JSON object")
        add_options(q)
    r.add_argument("--create", action="store_true",
                   help="create the ledger (and the LiteSVM state and payer) when missing")
    r.add_argument("--rpc-url", metavar="URL",
                   help="Solana JSON-RPC endpoint (default: the embedded LiteSVM)")
    r.add_argument("--state", metavar="PATH",
                   help=f"LiteSVM state file (default {DEFAULT_STATE} beside the ledger)")
    r.add_argument("--payer", metavar="FILE",
                   help="payer and mint authority keypair, Solana JSON (64-byte array); "
                   f"with LiteSVM and --create, created as {DEFAULT_PAYER} beside the ledger")
    r.set_defaults(handler=_run_payout)
    s.set_defaults(handler=_run_status)


def load_payer(path: Path, create: bool) -> Any:
    from solders.keypair import Keypair

    if not path.exists():
        if not create:
            raise UsageError(f"{path}: no such payer keypair file")
        keypair = Keypair()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(list(bytes(keypair)), f)
        return keypair
    if path.stat().st_mode & 0o077:
        raise UsageError(f"{path}: keypair file is readable by others (chmod 600)")
    try:
        raw = bytes(json.loads(path.read_text()))
        return Keypair.from_bytes(raw)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{path}: not a Solana keypair file: {exc}") from None


def ledger_path(args: argparse.Namespace) -> Path:
    """--ledger, else the settings' payout.ledger."""
    from oracle.commands._database import settings_for

    if args.ledger:
        return Path(args.ledger)
    return Path(settings_for(args.config, args.database).payout.ledger)


def _manifest(args: argparse.Namespace) -> Any:
    from oracle.commands._database import stored_manifest
    from oracle.rewards.manifest import check_manifest

    manifest = stored_manifest(args.config, args.database, args.epoch)
    try:
        check_manifest(manifest)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return manifest


def _run_payout(args: argparse.Namespace) -> int:
    ledger_file = ledger_path(args)
    beside = ledger_file.parent
    if not beside.is_dir():
        raise UsageError(f"ledger folder {beside} does not exist")
    if not args.create and not ledger_file.exists():
        raise UsageError(f"no payout ledger at {ledger_file}; the first `payout run --create` "
                         "creates it")
    manifest = _manifest(args)
    with _one_run(ledger_file):
        return _pay(args, manifest, ledger_file)


@contextlib.contextmanager
def _one_run(ledger: Path) -> Iterator[None]:
    """An exclusive lock on `LEDGER.lock` for the whole run; a second run exits 2 at once."""
    import fcntl

    with open(f"{ledger}.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"another `payout run` is using {ledger}; run this again when it "
                             "has finished (nothing was paid twice)") from None
        yield


def _pay(args: argparse.Namespace, manifest: Any, ledger_file: Path) -> int:

    from oracle.payout.ledger import Ledger
    from oracle.payout.solana_writer import SolanaWriter
    from oracle.rewards.errors import RewardsError

    beside = ledger_file.parent
    payer_path = Path(args.payer) if args.payer else beside / DEFAULT_PAYER
    payer = load_payer(payer_path,
                       create=args.create and args.rpc_url is None and args.payer is None)
    ledger = Ledger(ledger_file)
    try:
        if args.rpc_url:
            from oracle.payout.rpc_backend import RpcBackend

            backend: Any = RpcBackend(args.rpc_url)
        else:
            from oracle.payout.litesvm_backend import LiteSvmBackend

            state = Path(args.state) if args.state else beside / DEFAULT_STATE
            if not args.create and not state.exists():
                raise UsageError(f"no LiteSVM state at {state}; `payout run --create` creates it")
            backend = LiteSvmBackend(state, payer.pubkey())
        with progress_bar("payout", "batch") as bar:

            def hook(step: str, batch: Any) -> None:
                if step == "confirm":
                    bar.update(1)

            try:
                summary = SolanaWriter(ledger, backend, payer, hook=hook).run(manifest)
            except RewardsError as exc:
                raise UsageError(str(exc)) from None
            finally:
                backend.close()
    finally:
        ledger.close()
    if args.json:
        print_json({"epoch": summary.epoch, "batches": summary.batches,
                    "confirmed_now": summary.confirmed_now, "transfers": summary.transfers,
                    "max_tx_bytes": summary.max_tx_bytes})
    else:
        print(f"epoch {summary.epoch}: {summary.batches} batches, {summary.transfers} transfers, "
              f"{summary.confirmed_now} confirmed in this run")
    return 0


def _run_status(args: argparse.Namespace) -> int:
    import base58

    from oracle.payout.ledger import STATES, Ledger

    ledger_file = ledger_path(args)
    if not ledger_file.exists():
        raise UsageError(f"{ledger_file}: no payout ledger")
    ledger = Ledger(ledger_file)
    try:
        batches = ledger.batches(args.epoch)
        wallets = ledger.epoch_wallets(args.epoch)
        planned = ledger.is_planned(args.epoch)  # an epoch that paid nobody has no batch
    finally:
        ledger.close()
    if not planned:
        raise UsageError(f"epoch {args.epoch} has no payout plan; run `payout run` first")
    counts = Counter(r.state for r in batches)
    out = {
        "epoch": args.epoch,
        "batches": [
            {"batch": r.batch.number, "state": r.state, "transfers": len(r.batch.transfers),
             "total": r.batch.total,
             "signature": base58.b58encode(r.signature).decode() if r.signature else None}
            for r in batches
        ],
        "counts": {s: counts.get(s, 0) for s in STATES},
        "wallets": [
            {"wallet": base58.b58encode(w.wallet).decode(), "epoch_amount": w.epoch_amount,
             "owed": w.owed, "paid": w.paid}
            for w in wallets
        ],
    }
    if args.json:
        print_json(out)
        return 0
    print(f"epoch {args.epoch}: " + ", ".join(f"{s} {n}" for s, n in out["counts"].items()))
    for b in out["batches"]:
        print(f"  batch {b['batch']:5} {b['state']:9} {b['transfers']:3} transfers "
              f"{b['total']} base units")
    for w in out["wallets"]:
        print(f"  {w['wallet']:44} owed {w['owed']} paid {w['paid']}")
    return 0
