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


def parse_line(line: bytes, number: int) -> tuple[int, str, bytes]:
    """(received_ms, kind, wire bytes); ReportFileError names the line otherwise."""
    if len(line) > MAX_LINE_BYTES:
        raise ReportFileError(f"line {number}: longer than {MAX_LINE_BYTES} bytes")
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


def read_lines(stream: BinaryIO) -> Iterator[bytes]:
    """The file's lines, none longer than MAX_LINE_BYTES + 1 bytes: a file without newlines
    cannot make the reader hold it whole (parse_line then refuses the over-long line)."""
    while line := stream.readline(MAX_LINE_BYTES + 1):
        yield line
