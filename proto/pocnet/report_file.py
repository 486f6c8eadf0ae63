"""The report file: wire messages with the oracle's receive times, one JSON object a line.

`{"received_ms": <Unix ms>, "kind": "<kind>", "report": "<base64 of the wire message>"}`.
It is what `pocnet-oracle import` reads (backfill, replay of a recorded day) and what the
simulator writes, so the two meet on a contract of this package and import nothing of each
other. JSON Lines rather than length-prefixed protobuf: a file can be cut, concatenated,
grepped and appended to, and a damaged line names itself.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from typing import BinaryIO

from pocnet.errors import DecodeError

# What a record may hold: the oracle's signed entropy, the hotspot's reports, and the signed
# location assertion that onboards or moves a hotspot (registry_pb2.LocationAssertion).
KINDS = ("entropy", "assertion", "beacon", "witness", "coverage")
MAX_LINE_BYTES = 64 * 1024  # a 16 KiB report in base64 plus the record's keys


class ReportFileError(DecodeError):
    """A line that is not a record of this format."""


def record_line(received_ms: int, kind: str, raw: bytes) -> str:
    """One line of the file, newline included."""
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    # What json.dumps writes, formatted directly: simulated epochs write millions of lines,
    # and none of these values needs escaping (an int, a fixed word, base64).
    return (f'{{"received_ms": {int(received_ms)}, "kind": "{kind}", '
            f'"report": "{base64.b64encode(raw).decode()}"}}\n')


# The line exactly as record_line (and json.dumps) lays it out: what `_as_written` reads
# without the JSON parser.
_HEAD = b'{"received_ms": '
_KIND = b', "kind": "'
_REPORT = b'", "report": "'
_TAIL = b'"}'
_KIND_OF = {kind.encode(): kind for kind in KINDS}
_JSON_SPACE = b" \t\r\n"


def parse_line(line: bytes, number: int) -> tuple[int, str, bytes]:
    """(received_ms, kind, wire bytes); ReportFileError names the line otherwise."""
    if len(line) > MAX_LINE_BYTES:
        raise ReportFileError(f"line {number}: longer than {MAX_LINE_BYTES} bytes")
    record = _as_written(line)
    if record is not None:
        return record
    try:
        record = json.loads(line)
        received_ms, kind = record["received_ms"], record["kind"]
        raw = base64.b64decode(record["report"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ReportFileError(f"line {number}: not a report record ({exc})") from None
    if not isinstance(received_ms, int) or isinstance(received_ms, bool) or received_ms < 0:
        raise ReportFileError(f"line {number}: received_ms must be Unix milliseconds")
    if kind not in KINDS:
        raise ReportFileError(f"line {number}: kind must be one of {', '.join(KINDS)}")
    return received_ms, kind, raw


def _as_written(line: bytes) -> tuple[int, str, bytes] | None:
    """The record of a line laid out exactly as `record_line` writes it, or None for any
    other line, which `parse_line` then reads with the JSON parser (and refuses with its
    reason). Only a line whose JSON holds the same three values comes out of here: the
    millisecond digits without a sign or leading zero (as JSON writes an integer), a kind
    of KINDS as is (no escape), and base64 that `b64decode` itself accepts, its characters
    needing no escape either. An import reads millions of lines; this takes ~1 µs of the
    JSON parser's ~4 a line (docs/benchmarks.md, "The import's main process, leaner")."""
    if not line.startswith(_HEAD):
        return None
    end = len(line.rstrip(_JSON_SPACE)) - len(_TAIL)
    kind_at = line.find(_KIND, len(_HEAD), end)
    if kind_at < 0 or line[end:end + len(_TAIL)] != _TAIL:
        return None
    report_at = line.find(_REPORT, kind_at + len(_KIND), end)
    if report_at < 0:
        return None
    digits = line[len(_HEAD):kind_at]
    kind = _KIND_OF.get(line[kind_at + len(_KIND):report_at])
    if kind is None or not digits.isdigit() or (digits[0] == 0x30 and len(digits) > 1):
        return None
    try:
        # int() refuses what json.loads refuses: more digits than Python converts. Strict
        # base64 accepts only what `b64decode(validate=True)` accepts, to the same bytes (it
        # also refuses padding inside or beyond the end, which that one ignores after its
        # alphabet check: such a line goes to the JSON path and reads as it reads it), in C
        # where `validate` ran a regular expression over the report, ~1 µs a line.
        return (int(digits), kind,
                binascii.a2b_base64(line[report_at + len(_REPORT):end], strict_mode=True))
    except (ValueError, binascii.Error):
        return None


def read_lines(stream: BinaryIO) -> Iterator[bytes]:
    """The file's lines, none longer than MAX_LINE_BYTES + 1 bytes: a file without newlines
    cannot make the reader hold it whole (parse_line then refuses the over-long line)."""
    while line := stream.readline(MAX_LINE_BYTES + 1):
        yield line
