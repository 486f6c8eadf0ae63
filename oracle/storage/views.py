"""Read models for owners and tools: a report with its verdict and why, a hotspot's recent
reports, the PoC of a beacon. Built from the Repository and returned as wire messages, so the
QueryService and `pocnet-oracle report show` show the same thing.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from oracle.errors import NotFound
from oracle.storage.repository import KINDS, Repository, StoredReport, StoredVerdict
from pocnet.wire import service_pb2, verdict_pb2

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


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


def summary(repo: Repository, report: StoredReport) -> service_pb2.ReportSummary:
    summary = service_pb2.ReportSummary(
        id=report.id, kind=KINDS.index(report.kind), received_ms=report.received_ms,
        data=report.data or b"",
    )
    verdict = repo.verdict(report.id)
    if verdict is not None:
        summary.verdict.CopyFrom(verdict_message(verdict))
    return summary


def _detail(repo: Repository, report: StoredReport) -> service_pb2.ReportDetail:
    detail = service_pb2.ReportDetail(summary=summary(repo, report))
    getattr(detail, report.kind).CopyFrom(report.message())
    return detail


def report_detail(repo: Repository, report_id: bytes) -> service_pb2.ReportDetail:
    report = repo.report(bytes(report_id))
    if report is None:
        raise NotFound("no report with this id")
    return _detail(repo, report)


def list_reports(repo: Repository, key: bytes, limit: int = 0) -> service_pb2.ReportsResponse:
    limit = min(limit or DEFAULT_LIMIT, MAX_LIMIT)
    reports = repo.reports_for_hotspot(bytes(key), limit)
    return service_pb2.ReportsResponse(reports=[summary(repo, r) for r in reports])


def poc(repo: Repository, beacon_id: bytes) -> service_pb2.PocResponse:
    beacon = repo.report(bytes(beacon_id))
    if beacon is None or beacon.kind != "beacon":
        raise NotFound("no beacon with this id")
    witness_ids = [
        v.report_id for v in repo.verdicts_for_beacon(beacon.id) if v.report_id != beacon.id
    ]
    witnesses = [r for r in (repo.report(i) for i in witness_ids) if r is not None]
    seen = set(witness_ids)
    if beacon.data:  # not yet verified: the witnesses that will be matched
        witnesses += [w for w in repo.pending_witnesses(beacon.data) if w.id not in seen]
    return service_pb2.PocResponse(
        beacon=_detail(repo, beacon), witnesses=[_detail(repo, w) for w in witnesses]
    )


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
