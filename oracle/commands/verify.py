"""`pocnet-oracle verify`: run verification now, or re-run it for a time range.

With --from/--to the beacons received in that range (and the witnesses matched to them) lose
their verdicts and are verified again with today's registry and denylist; without them, every
beacon whose entropy window has closed is verified, as the server's loop does.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from oracle.commands._database import add_options
from pocnet.cli import INT64_MAX, UsageError, print_json, progress_bar


def parse_time_ms(text: str) -> int:
    """ISO 8601 (UTC if no zone) or integer milliseconds since the Unix epoch."""
    if text.isdigit():
        if int(text) > INT64_MAX:
            raise UsageError(f"{text}: milliseconds must be at most {INT64_MAX}")
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{text!r}: want ISO 8601 time or Unix milliseconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "verify", help="run (or re-run, for a time range) PoC verification",
        description="Verify every ready beacon; with --from/--to, re-verify the beacons "
        "received in [FROM, TO).",
    )
    p.add_argument("--from", dest="from_", metavar="TIME", help="ISO 8601 or Unix ms")
    p.add_argument("--to", metavar="TIME", help="ISO 8601 or Unix ms (exclusive)")
    add_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:

    from oracle.commands._database import open_database
    from oracle.errors import OracleError
    from oracle.server import wall_ms
    from oracle.verifier.params import VerifierParams
    from oracle.verifier.runner import VerificationRunner

    if (args.from_ is None) != (args.to is None):
        raise UsageError("give both --from and --to, or neither")
    start = parse_time_ms(args.from_) if args.from_ is not None else None
    end = parse_time_ms(args.to) if args.to is not None else None
    if start is not None and end is not None and start >= end:
        raise UsageError("--from must be before --to")
    settings, repo = open_database(args.config, args.database)
    try:
        reset = repo.reset_verification(start, end) if start is not None else 0
        runner = VerificationRunner(
            repo, VerifierParams(stale_after_ms=settings.verifier.stale_after_s * 1000),
            wall_ms, settings.oracle.worker_id or None,
            settings.verifier.claim_lease_s * 1000, settings.verifier.batch,
        )
        # A re-run over weeks is long: a count of settled beacons on a terminal, not in --json.
        with progress_bar("verify", "beacon", hidden=args.json) as bar:
            stats = runner.run_once(progress=bar.update)
    except OracleError as exc:
        raise UsageError(str(exc)) from None
    finally:
        repo.close()
    result = {"reset": reset, "beacons": stats.beacons, "verdicts": stats.verdicts,
              "stale": stats.stale, "lost_claims": stats.lost_claims}
    if args.json:
        print_json(result)
    else:
        print(f"verified {stats.beacons} beacons ({stats.verdicts} verdicts), "
              f"{stats.stale} stale, {reset} reset")
    return 0
