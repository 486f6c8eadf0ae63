"""`pocnet-oracle report show ID | list`: stored reports with their verdicts and why.

`list` pages through reports newest first, filtered by hotspot, kind, status and time, so an
operator can answer "what did this hotspot send yesterday?" without SQL.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from oracle.commands._database import add_options
from oracle.storage.repository import KINDS, STATUSES
from pocnet.cli import UsageError, integer, print_json

DEFAULT_PAGE, MAX_PAGE = 50, 1000


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("report", help="look up stored reports",
                              description="Look up stored reports and their verdicts.")
    sub = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    q = sub.add_parser("show", help="a report with its verdict and the reason",
                       description="Show a report (by its content-hash id, hex) with its verdict.")
    q.add_argument("id", metavar="ID", help="report id: 32 bytes as hex (from the ack)")
    add_options(q)
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(handler=_run_show)
    q = sub.add_parser("list", help="reports newest first, with filters and paging",
                       description="List stored reports newest first with their verdicts; "
                       "filter by hotspot, kind, status and time; page with --limit/--offset.")
    q.add_argument("--hotspot", metavar="ADDRESS", help="only this hotspot's reports")
    q.add_argument("--kind", choices=KINDS, help="only this kind of report")
    q.add_argument("--status", choices=STATUSES, help="only reports in this state")
    q.add_argument("--from", dest="from_", metavar="TIME",
                   help="received at or after (ISO 8601 or Unix ms)")
    q.add_argument("--to", metavar="TIME", help="received before (ISO 8601 or Unix ms)")
    q.add_argument("--limit", type=integer(1, MAX_PAGE), default=DEFAULT_PAGE, metavar="N",
                   help=f"reports per page (default {DEFAULT_PAGE}, at most {MAX_PAGE})")
    q.add_argument("--offset", type=integer(0), default=0, metavar="N",
                   help="skip this many (the previous page's next_offset)")
    add_options(q)
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(handler=_run_list)


def _describe(detail: Any) -> list[str]:
    from pocnet.keys import PublicKey
    from pocnet.wire import verdict_pb2

    s = detail.summary
    kind = verdict_pb2.ReportKind.Name(s.kind).lower()
    report = getattr(detail, detail.WhichOneof("report"))
    received = datetime.fromtimestamp(s.received_ms / 1000, UTC).isoformat(timespec="milliseconds")
    lines = [f"{kind} {s.id.hex()}",
             f"  hotspot   {PublicKey.from_bytes(report.pub_key).address}",
             f"  received  {received}"]
    if not s.HasField("verdict"):
        lines.append("  verdict   not yet verified")
        return lines
    v = s.verdict
    if v.valid:
        state = "valid" + (", selected" if v.selected and kind == "witness" else "")
    else:
        state = f"invalid: {verdict_pb2.InvalidReason.Name(v.reason)}"
    lines.append(f"  verdict   {state}")
    if v.detail:
        lines.append(f"  why       {v.detail}")
    lines.append(f"  trust     {v.location_trust}")
    if v.beacon_id:
        lines.append(f"  beacon    {v.beacon_id.hex()}")
    return lines


def _run_show(args: argparse.Namespace) -> int:
    from oracle.commands._database import open_database
    from oracle.errors import OracleError
    from oracle.storage import views

    try:
        report_id = bytes.fromhex(args.id.strip())
    except ValueError:
        raise UsageError(f"{args.id!r} is not hexadecimal") from None
    if len(report_id) != 32:
        raise UsageError(f"a report id is 32 bytes, got {len(report_id)}")
    _, repo = open_database(args.config, args.database)
    try:
        detail = views.report_detail(repo, report_id)
    except OracleError as exc:
        raise UsageError(str(exc)) from None
    finally:
        repo.close()
    if args.json:
        print_json(views.to_json(detail))
    else:
        print("\n".join(_describe(detail)))
    return 0


def _verdict_text(summary: Any) -> str:
    from pocnet.wire import verdict_pb2

    if not summary.HasField("verdict"):
        return "not yet verified"
    if summary.verdict.valid:
        return "valid"
    return f"invalid: {verdict_pb2.InvalidReason.Name(summary.verdict.reason)}"


def _run_list(args: argparse.Namespace) -> int:
    from oracle.commands._database import open_database
    from oracle.commands.registry import parse_key
    from oracle.commands.verify import parse_time_ms
    from oracle.errors import OracleError
    from oracle.storage import views
    from oracle.storage.repository import ReportFilter
    from pocnet.keys import PublicKey

    where = ReportFilter(
        hotspot_key=parse_key(args.hotspot) if args.hotspot else None,
        kind=args.kind, status=args.status,
        from_ms=parse_time_ms(args.from_) if args.from_ is not None else None,
        to_ms=parse_time_ms(args.to) if args.to is not None else None,
    )
    _, repo = open_database(args.config, args.database)
    try:
        # One more than the page tells whether there is a next page without a count query.
        found = repo.find_reports(where, args.limit + 1, args.offset)
        page = found[:args.limit]
        rows = [(r, views.summary(repo, r)) for r in page]
    except OracleError as exc:
        raise UsageError(str(exc)) from None
    finally:
        repo.close()
    next_offset = args.offset + len(page) if len(found) > args.limit else None
    out = {
        "reports": [
            {"id": r.id.hex(), "kind": r.kind, "status": r.status,
             "hotspot": PublicKey.from_bytes(r.hotspot_key).address,
             "received": datetime.fromtimestamp(r.received_ms / 1000, UTC)
             .isoformat(timespec="milliseconds"),
             "verdict": views.to_json(s.verdict) if s.HasField("verdict") else None}
            for r, s in rows
        ],
        "next_offset": next_offset,
    }
    if args.json:
        print_json(out)
        return 0
    for (_, s), r in zip(rows, out["reports"], strict=True):
        print(f"{r['received']}  {r['kind']:8} {r['id']}  {r['hotspot']}  {_verdict_text(s)}")
    if next_offset is not None:
        print(f"more: --offset {next_offset}")
    return 0
