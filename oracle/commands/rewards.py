"""`pocnet-oracle rewards compute|show --epoch N`: an epoch's rewards and its manifest.

`compute` refuses an epoch whose data is not complete (unverified beacons, or less than
45 min — `[verifier] stale_after_s` — after its end) and, unless `--allow-empty`, an epoch
without a single share; epochs last `[network] epoch_s` (24 h by default). It stores the
manifest once, and on a second run checks that the
recomputation is byte-identical (a different result is refused, the stored one stands).
SIGTERM (systemd, cron's `timeout`, a container stop) ends `compute` like Ctrl-C: the run lets
go of its claim on the epoch, so another replica need not wait out the claim's lease.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from oracle.commands._database import add_options
from pocnet.cli import UsageError, integer, print_json, progress_bar


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "rewards",
        help="compute an epoch's rewards, show its manifest",
        description="Epoch rewards (docs/protocol.md §6): compute and store an epoch's manifest, "
        "or show a stored one.",
    )
    sub = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    c = sub.add_parser("compute", help="compute and store an epoch's manifest")
    s = sub.add_parser("show", help="show a stored manifest")
    for q in (c, s):
        q.add_argument("--epoch", type=integer(), required=True, metavar="N",
                       help="epoch = days since 1970-01-01 UTC (epochs of [network] epoch_s "
                       "on a test network)")
        add_options(q)
        q.add_argument("--json", action="store_true", help="print one JSON object")
    c.add_argument("--emission", type=integer(0), metavar="BASE_UNITS",
                   help="the epoch's emission in token base units (default: network default)")
    c.add_argument("--params", choices=("hip104", "hip17"), default="hip104",
                   help="hex density table (default hip104)")
    c.add_argument("--allow-empty", action="store_true",
                   help="store the epoch even if nobody earned a share (final: a manifest is "
                   "stored once)")
    c.set_defaults(handler=_run_compute)
    s.set_defaults(handler=_run_show)


def _check_epoch(epoch: int) -> None:
    if epoch < 0:
        raise UsageError("--epoch must be >= 0")


def _open(args: argparse.Namespace) -> tuple[Any, Any]:
    from oracle.commands._database import open_database

    _check_epoch(args.epoch)
    return open_database(args.config, args.database)


def summary(manifest: Any) -> dict[str, Any]:
    import base58

    from pocnet.errors import DecodeError
    from pocnet.keys import PublicKey

    def address(key: bytes) -> str:
        try:
            return PublicKey.from_bytes(key).address
        except DecodeError:  # an unparseable key still gets shown, as hex
            return key.hex()

    return {
        "epoch": manifest.epoch,
        "emission": manifest.emission,
        "beacon_pool": manifest.beacon_pool,
        "witness_pool": manifest.witness_pool,
        "operations": manifest.operations,
        "oracles": manifest.oracles,
        "beacon_reward_per_share": manifest.beacon_reward_per_share,
        "witness_reward_per_share": manifest.witness_reward_per_share,
        "total_paid": manifest.total_paid,
        "unallocated": manifest.unallocated,
        "merkle_root": manifest.merkle_root.hex(),
        "denylist_version": manifest.denylist_version,
        "withheld": [address(k) for k in manifest.withheld],
        "wallets": [
            {"wallet": base58.b58encode(w.wallet).decode(), "amount": w.amount}
            for w in manifest.wallets
        ],
        "hotspots": [
            {
                "hotspot": address(h.hotspot_key),
                "owner": base58.b58encode(h.owner_wallet).decode(),
                "beacon_amount": h.beacon_amount,
                "witness_amount": h.witness_amount,
            }
            for h in manifest.hotspots
        ],
    }


def _run_compute(args: argparse.Namespace) -> int:
    from oracle.density.params import PARAMS
    from oracle.rewards.epoch import DEFAULT_EMISSION, RewardParams
    from oracle.rewards.errors import RewardsError
    from oracle.rewards.runner import EpochTiming, compute_and_store
    from oracle.rewards.source import RepositorySource
    from oracle.rewards.store import ManifestStore

    emission = DEFAULT_EMISSION if args.emission is None else args.emission
    try:
        params = RewardParams(emission=emission)
    except ValueError as exc:
        raise UsageError(f"--emission: {exc}") from None
    settings, repo = _open(args)
    timing = EpochTiming(settings.network.epoch_s * 1000, settings.verifier.stale_after_s * 1000)
    source = RepositorySource(repo)
    try:
        with _sigterm_unwinds(), progress_bar("beacons", "beacon") as bar:
            manifest, stored = compute_and_store(
                source,
                ManifestStore(repo),
                args.epoch,
                params,
                now_ms=int(time.time() * 1000),
                density=PARAMS[args.params],
                progress=bar.update,
                timing=timing,
                allow_empty=args.allow_empty,
            )
    except RewardsError as exc:
        raise UsageError(str(exc)) from None
    finally:
        source.close()
        repo.close()
    if stored and not manifest.hotspots:
        print(f"warning: epoch {manifest.epoch} stored empty: nobody earned a share",
              file=sys.stderr)
    if args.json:
        out = summary(manifest)
        out["stored"] = stored
        print_json(out)
    else:
        what = "stored" if stored else "recomputed: identical to the stored manifest"
        print(f"epoch {manifest.epoch}: {what}; {len(manifest.wallets)} wallets, "
              f"total paid {manifest.total_paid}, unallocated {manifest.unallocated}, "
              f"root {manifest.merkle_root.hex()}")
        if manifest.withheld:
            print(f"withheld from {len(manifest.withheld)} denied hotspots "
                  f"(denylist version {manifest.denylist_version})")
    return 0


def _run_show(args: argparse.Namespace) -> int:
    from oracle.commands._database import stored_manifest

    _check_epoch(args.epoch)
    out = summary(stored_manifest(args.config, args.database, args.epoch))
    if args.json:
        print_json(out)
        return 0
    for key in ("epoch", "emission", "beacon_pool", "witness_pool", "operations", "oracles",
                "beacon_reward_per_share", "witness_reward_per_share", "total_paid",
                "unallocated", "merkle_root", "denylist_version"):
        value = out[key]
        print(f"{key:25} {_plain(value) if key.endswith('_per_share') else value}")
    print(f"{'withheld':25} {len(out['withheld'])} (denied hotspots: shares not paid)")
    for hotspot in out["withheld"]:
        print(f"  {hotspot}")
    print(f"{'wallets':25} {len(out['wallets'])}")
    for w in out["wallets"]:
        print(f"  {w['wallet']:44} {w['amount']}")
    return 0


def _plain(value: str) -> str:
    """A stored per-share Decimal as a person writes it: 0 rather than 0E-15, every digit kept."""
    text = format(Decimal(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """Inside the block SIGTERM raises SystemExit(143), so `finally` clean-ups run."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (tests may call main() elsewhere)
        return

    def stop(_signum: int, _frame: object) -> None:
        sys.exit(128 + signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
