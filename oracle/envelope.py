"""The exact size envelope of each report kind (docs/protocol.md §1, §2, §4).

A key costs nothing, so the 16 KiB message limit alone let fresh keys store 16 KiB per report
when a witness carries 51 bytes. Every bytes field of a report has the one length the protocol
gives it, and the whole message may be no larger than its fields filled to their widest values:
no room is left for padding in unknown fields. A report outside its envelope is refused with
INVALID_ARGUMENT and names the field; nothing of it is stored.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from oracle.errors import BadReport
from pocnet.wire import MAX_BATCH_BYTES, MAX_BATCH_REPORTS, reports_pb2

KEY_BYTES = 33  # docs/protocol.md §1: tag byte + 32-byte Ed25519 key
SIGNATURE_BYTES = 64  # Ed25519
BEACON_BYTES = 51  # docs/protocol.md §4: the beacon payload
LOCAL_ENTROPY_BYTES = 4  # docs/protocol.md §2: the hotspot's 4 random bytes
ENTROPY_BYTES = 32  # docs/protocol.md §4: the oracle's entropy value
# A Quectel modem's serving-cell answer holds one cell (LTE, NR5G-SA) or two (NR5G-NSA: the LTE
# anchor and the NR cell); 8 leaves room for carrier aggregation without letting a report grow.
MAX_CELLS = 8

# (kind, field) -> exact length in bytes. The signature is not here: a missing or mangled one
# is refused UNAUTHENTICATED by the signature check; it counts at its width in `max_bytes`.
EXACT_BYTES: dict[tuple[str, str], int] = {
    ("beacon", "pub_key"): KEY_BYTES,
    ("beacon", "local_entropy"): LOCAL_ENTROPY_BYTES,
    ("beacon", "remote_entropy"): ENTROPY_BYTES,
    ("beacon", "data"): BEACON_BYTES,
    ("witness", "pub_key"): KEY_BYTES,
    ("witness", "data"): BEACON_BYTES,  # a witness carries the beacon it heard
    ("coverage", "pub_key"): KEY_BYTES,
}

# (kind, repeated field) -> most entries
MAX_ENTRIES: dict[tuple[str, str], int] = {
    ("coverage", "cells"): MAX_CELLS,
}

MESSAGES: dict[str, Any] = {
    "beacon": reports_pb2.BeaconReport,
    "witness": reports_pb2.WitnessReport,
    "coverage": reports_pb2.CoverageReport,
}

_VARINT_MAX = 10  # a negative int32/int64 or a full uint64 takes 10 bytes
_FIXED = {FieldDescriptor.TYPE_FIXED32: 4, FieldDescriptor.TYPE_SFIXED32: 4,
          FieldDescriptor.TYPE_FLOAT: 4, FieldDescriptor.TYPE_FIXED64: 8,
          FieldDescriptor.TYPE_SFIXED64: 8, FieldDescriptor.TYPE_DOUBLE: 8}


def _varint_len(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


def _widest(descriptor: Descriptor, kind: str | None) -> int:
    """Serialised size of `descriptor` with every field at its widest value (the schema and the
    tables above decide; nothing here knows a field by number)."""
    total = 0
    for field in descriptor.fields:
        tag = _varint_len(field.number << 3)
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            body = _widest(field.message_type, None)
            one = tag + _varint_len(body) + body
        elif field.type in (FieldDescriptor.TYPE_BYTES, FieldDescriptor.TYPE_STRING):
            length = (SIGNATURE_BYTES if field.name == "signature"
                      else EXACT_BYTES.get((kind or "", field.name), 0))
            one = tag + _varint_len(length) + length
        else:
            one = tag + _FIXED.get(field.type, _VARINT_MAX)
        most = MAX_ENTRIES.get((kind or "", field.name), 0) if field.is_repeated else 1
        total += one * most
    return total


@cache
def max_bytes(kind: str) -> int:
    """The largest serialised report of `kind` that fits its envelope."""
    return _widest(MESSAGES[kind].DESCRIPTOR, kind)


@cache
def _exact(kind: str) -> tuple[tuple[str, int], ...]:
    return tuple((name, n) for (k, name), n in EXACT_BYTES.items() if k == kind)


def check_envelope(kind: str, msg: Any, size: int) -> None:
    """Raise BadReport unless `msg` (serialised in `size` bytes) fits its kind's envelope."""
    for name, length in _exact(kind):
        if len(getattr(msg, name)) != length:
            raise BadReport(f"{kind} report field {name} is {len(getattr(msg, name))} bytes; "
                            f"it must be {length}")
    for (table_kind, name), most in MAX_ENTRIES.items():
        if table_kind == kind and len(getattr(msg, name)) > most:
            raise BadReport(f"{kind} report has {len(getattr(msg, name))} {name}; "
                            f"at most {most}")
    if size > max_bytes(kind):
        raise BadReport(f"{kind} report is {size} bytes, more than its fields can fill "
                        f"({max_bytes(kind)}): unknown fields are not stored")


# A report stream may carry several reports in one message (`ReportBatch`, docs/protocol.md §2):
# a hotspot back from an outage uploads its outbox backlog without paying gRPC's per-message
# cost for each report. A batch is bounded both ways (pocnet.wire: a count, and the bytes of
# the whole StreamRequest) so that one message stays small next to the stream's window
# (oracle.servicers.ingest.MAX_IN_FLIGHT reports) and to a signature helper's round trip.
#
# gRPC reads a message this much over the batch limit, so that a batch just over it is refused
# INVALID_ARGUMENT with the reason below; anything larger gRPC refuses RESOURCE_EXHAUSTED itself.
OVERSIZE_READ_BYTES = 16 * 1024
# A single report's stream message wraps the report in a oneof field (1 tag byte + a length
# varint) around the report limit, which ingest checks itself.
ENVELOPE_BYTES = 8


def check_batch(count: int, size: int) -> None:
    """Raise BadReport unless a batch of `count` reports in a `size`-byte message is within
    MAX_BATCH_REPORTS and MAX_BATCH_BYTES (both inclusive)."""
    if count < 1:
        raise BadReport("a report batch must hold at least one report")
    if count > MAX_BATCH_REPORTS:
        raise BadReport(f"report batch holds {count} reports; at most {MAX_BATCH_REPORTS}")
    if size > MAX_BATCH_BYTES:
        raise BadReport(f"report batch is {size} bytes; at most {MAX_BATCH_BYTES}")


def receive_limit(max_report_bytes: int) -> int:
    """gRPC's receive limit for the oracle: a single report (up to `max_report_bytes`, the
    setting) in its stream envelope, or a batch up to a little over its limit."""
    return max(max_report_bytes + ENVELOPE_BYTES, MAX_BATCH_BYTES + OVERSIZE_READ_BYTES)
