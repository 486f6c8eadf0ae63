"""The report file's line format: what the simulator writes, the oracle's import reads."""

from __future__ import annotations

import json

import pytest

from pocnet.report_file import (
    KINDS,
    MAX_LINE_BYTES,
    ReportFileError,
    parse_line,
    read_lines,
    record_line,
)


@pytest.mark.parametrize("kind", KINDS)
def test_a_written_line_reads_back(kind: str) -> None:
    line = record_line(1_780_000_000_123, kind, b"\x00\xffwire")
    assert line.endswith("\n") and line.count("\n") == 1
    assert parse_line(line.encode(), 7) == (1_780_000_000_123, kind, b"\x00\xffwire")


def test_a_line_is_the_json_of_the_record() -> None:
    line = record_line(5, "witness", b"\xfb\xff")
    assert json.loads(line) == {"received_ms": 5, "kind": "witness", "report": "+/8="}
    assert line == json.dumps(json.loads(line)) + "\n"


def test_unknown_kinds_are_not_written() -> None:
    with pytest.raises(ValueError):
        record_line(1, "vote", b"")


@pytest.mark.parametrize("record", [
    {"received_ms": 1.5, "kind": "beacon", "report": ""},
    {"received_ms": True, "kind": "beacon", "report": ""},
    {"kind": "beacon", "report": ""},
    {"received_ms": 1, "kind": "beacon", "report": "not base64!"},
    [1, "beacon", ""],
])
def test_bad_records_name_their_line(record: object) -> None:
    with pytest.raises(ReportFileError, match=r"^line 3:"):
        parse_line(json.dumps(record).encode(), 3)


def test_a_line_longer_than_the_limit_is_refused_before_parsing() -> None:
    ok = record_line(1, "beacon", b"x" * 1000).encode()
    assert parse_line(ok, 1)[2] == b"x" * 1000
    with pytest.raises(ReportFileError, match="longer than"):
        parse_line(b" " * (MAX_LINE_BYTES + 1), 1)


def test_lines_are_read_in_bounded_pieces() -> None:
    import io

    short = record_line(1, "beacon", b"x").encode()
    stream = io.BytesIO(short + b"y" * (3 * MAX_LINE_BYTES) + b"\n")
    lines = read_lines(stream)
    assert next(lines) == short
    huge = next(lines)
    assert len(huge) == MAX_LINE_BYTES + 1
    with pytest.raises(ReportFileError, match="line 2: longer than"):
        parse_line(huge, 2)
