"""`pocnet-oracle report show ID`: a stored report with its verdict and why."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from oracle.commands._database import add_options
from pocnet.cli import UsageError, print_json


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
