"""Read models for owners and tools: a report with its verdict and why, a hotspot's recent
reports, the PoC of a beacon. Built from the Repository and returned as wire messages, so the
QueryService and `pocnet-oracle report show` show the same thing.

What anyone on the network may see (`public=True`, the QueryService) differs in one rule
(issue 10 item 3): a beacon's payload, and its local entropy that regenerates the payload, are
sealed until the report's verdict is written. The verdict is written only after the beacon's
witness window has closed, so a key without a radio can no longer copy the payload of a beacon
it never heard into a witness in time. Witnesses carry the same payload and are sealed alike.
Nobody is exempt on the network, the beacon's owner included: the owner's hotspot holds its
own beacon, and `pocnet-hotspot info` shows verdicts and reasons, which are never sealed. The
operator's `report show` reads the database and sees everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format

from oracle.errors import BadQuery, BadReport, NotFound
from oracle.storage.repository import KINDS, Repository, StoredReport, StoredVerdict
from pocnet.wire import service_pb2, verdict_pb2

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# Beacons a `poc_verdicts` call may name: at the city's density (~100 witnesses a beacon, and
# a verdict ~150 bytes) 32 PoCs answer in ~0.5 MB, far from the server's 4 MiB answer limit
# even for beacons heard five times as widely.
MAX_POC_VERDICT_BEACONS = 32

# kind -> fields of the stored report withheld from the public until its verdict is written
SEALED_UNTIL_VERDICT: dict[str, tuple[str, ...]] = {
    "beacon": ("data", "local_entropy"),
    "witness": ("data",),
}


def verdict_message(v: StoredVerdict) -> verdict_pb2.Verdict:
    return verdict_pb2.Verdict(
        report_id=v.report_id,
        kind=KINDS.index(v.kind),
        valid=v.valid,
        reason=v.reason or 0,
        selected=v.selected,
        location_trust=str(v.location_trust),
        verified_at_ms=v.verified_at_ms,
        beacon_id=v.beacon_id or b"",
        detail=v.detail,
    )


# `_summary`'s verdict when the caller has not read it: read it here.
_READ = object()


def _summary(
    repo: Repository, report: StoredReport, public: bool, verdict: Any = _READ
) -> tuple[service_pb2.ReportSummary, bool]:
    """The summary, and whether the report's payload is sealed from this reader. `verdict`:
    the report's verdict (or None) when the caller already read it."""
    summary = service_pb2.ReportSummary(
        id=report.id, kind=KINDS.index(report.kind), received_ms=report.received_ms,
    )
    if verdict is _READ:
        verdict = repo.verdict(report.id)
    if verdict is not None:
        summary.verdict.CopyFrom(verdict_message(verdict))
    sealed = public and verdict is None and report.kind in SEALED_UNTIL_VERDICT
    if not sealed:
        summary.data = report.data or b""
    return summary, sealed


def summary(repo: Repository, report: StoredReport) -> service_pb2.ReportSummary:
    """The operator's summary (nothing sealed), as `pocnet-oracle report list` shows it."""
    return _summary(repo, report, public=False)[0]


def _detail(
    repo: Repository, report: StoredReport, public: bool, verdict: Any = _READ
) -> service_pb2.ReportDetail:
    summary, sealed = _summary(repo, report, public, verdict)
    detail = service_pb2.ReportDetail(summary=summary)
    message = getattr(detail, report.kind)
    message.CopyFrom(report.message())
    if sealed:
        for name in SEALED_UNTIL_VERDICT[report.kind]:
            message.ClearField(name)
    return detail


def report_detail(
    repo: Repository, report_id: bytes, public: bool = False
) -> service_pb2.ReportDetail:
    report = repo.report(bytes(report_id))
    if report is None:
        raise NotFound("no report with this id")
    return _detail(repo, report, public)


def list_reports(
    repo: Repository, key: bytes, limit: int = 0, public: bool = False
) -> service_pb2.ReportsResponse:
    limit = min(limit or DEFAULT_LIMIT, MAX_LIMIT)
    reports = repo.reports_for_hotspot(bytes(key), limit)
    return service_pb2.ReportsResponse(reports=[_summary(repo, r, public)[0] for r in reports])


def poc(repo: Repository, beacon_id: bytes, public: bool = False) -> service_pb2.PocResponse:
    beacon = repo.report(bytes(beacon_id))
    if beacon is None or beacon.kind != "beacon":
        raise NotFound("no beacon with this id")
    # The PoC's verdicts and their reports in two reads, not two per witness: a simulator
    # reading back a network asks this for every beacon.
    verdicts = {v.report_id: v for v in repo.verdicts_for_beacon(beacon.id)}
    witness_ids = [i for i in verdicts if i != beacon.id]
    found = repo.reports_by_id(witness_ids)
    witnesses = [_detail(repo, found[i], public, verdicts[i]) for i in witness_ids if i in found]
    if beacon.data:  # not yet verified: the witnesses that will be matched
        witnesses += [_detail(repo, w, public) for w in repo.pending_witnesses(beacon.data)
                      if w.id not in verdicts]
    return service_pb2.PocResponse(
        beacon=_detail(repo, beacon, public, verdicts.get(beacon.id)),
        witnesses=witnesses,
    )


def poc_verdicts(repo: Repository, beacon_ids: Sequence[bytes]) -> service_pb2.PocVerdictsResponse:
    """The verdicts of up to MAX_POC_VERDICT_BEACONS PoCs (each beacon's and its witnesses',
    as `poc` lists them) without their reports: a tool scoring a network needs each report's
    verdict and reason, not its body sent back. Public as it stands: verdicts are never
    sealed, and no report, so no payload, is read (docs/security.md)."""
    if len(beacon_ids) > MAX_POC_VERDICT_BEACONS:
        raise BadReport(f"{len(beacon_ids)} beacon ids, at most {MAX_POC_VERDICT_BEACONS} a call")
    return service_pb2.PocVerdictsResponse(
        verdicts=[verdict_message(v) for v in repo.verdicts_for_beacons(beacon_ids)])


# A verdict stream's pages (StreamVerdicts): rows a page when the caller names none, and at
# most (a row is ~115 bytes with three ids, so 16,384 rows are ~1.9 MB, under the server's 4 MiB
# answer limit). Receive times past SQL's BIGINT mean "no end".
VERDICT_PAGE_ROWS = 4096
MAX_VERDICT_PAGE_ROWS = 16384
_LAST_MS = 2**63 - 1
_ID_BYTES = 32


@dataclass(frozen=True)
class VerdictRange:
    """A checked StreamVerdicts request: receive times [from_ms, to_ms), rows a page, and the
    row to resume after (receive time, report id), if any."""

    from_ms: int
    to_ms: int
    page_rows: int
    after: tuple[int, bytes] | None


def verdict_range(msg: service_pb2.VerdictRowsRequest) -> VerdictRange:
    """The request checked, or BadQuery naming what is wrong with it."""
    if msg.to_ms <= msg.from_ms:
        raise BadQuery(f"to_ms ({msg.to_ms}) must be above from_ms ({msg.from_ms})")
    if msg.page_rows > MAX_VERDICT_PAGE_ROWS:
        raise BadQuery(f"page_rows {msg.page_rows}, at most {MAX_VERDICT_PAGE_ROWS}")
    after = None
    if msg.after_report_id:
        if len(msg.after_report_id) != _ID_BYTES:
            raise BadQuery(f"after_report_id has {len(msg.after_report_id)} bytes, "
                           f"not {_ID_BYTES}")
        after = (min(msg.after_received_ms, _LAST_MS), bytes(msg.after_report_id))
    elif msg.after_received_ms:
        raise BadQuery("after_received_ms without after_report_id: give both (a page's last "
                       "row) or neither")
    return VerdictRange(min(msg.from_ms, _LAST_MS), min(msg.to_ms, _LAST_MS),
                        msg.page_rows or VERDICT_PAGE_ROWS, after)


def verdict_page(repo: Repository, within: VerdictRange, after: tuple[int, bytes] | None,
                 rows: int) -> tuple[service_pb2.VerdictRows, bool]:
    """The next `rows` verdicts of `within` after `after`, as one page of columns, and whether
    the range holds more after them (one row more is read to know). Public as it stands:
    verdicts are never sealed, and no report is read (docs/security.md)."""
    found = repo.verdict_rows(within.from_ms, within.to_ms, after, rows + 1)
    more = len(found) > rows
    page = service_pb2.VerdictRows()
    if found:
        ids, times, kinds, keys, beacons, valid, reasons = zip(*found[:rows], strict=True)
        page.report_ids.extend(ids)
        page.received_ms.extend(times)
        page.kinds.extend(kinds)
        page.hotspot_keys.extend(keys)
        page.beacon_ids.extend([b or b"" for b in beacons])
        page.valid.extend(map(bool, valid))
        page.reasons.extend([r or 0 for r in reasons])
    return page, more


def to_json(message: Any) -> dict[str, Any]:
    """JSON for --json output: ids and keys in hex, enum names, every field shown."""
    data = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return _hexify(message, data)


def _hexify(message: Any, data: Any) -> Any:
    # MessageToDict renders bytes as base64; operators compare ids and keys in hex.
    for field in message.DESCRIPTOR.fields:
        name = field.name
        if name not in data:
            continue
        value = getattr(message, name)
        if field.type == field.TYPE_BYTES:
            data[name] = [bytes(v).hex() for v in value] if _repeated(field) else value.hex()
        elif field.type == field.TYPE_MESSAGE:
            if _repeated(field):
                data[name] = [_hexify(v, d) for v, d in zip(value, data[name], strict=True)]
            else:
                data[name] = _hexify(value, data[name])
    return data


def _repeated(field: Any) -> bool:
    return bool(field.is_repeated)
