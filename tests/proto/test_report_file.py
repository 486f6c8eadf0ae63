"""The report file's line format: what the simulator writes, the oracle's import reads."""

from __future__ import annotations

import base64
import binascii
import json
import random

import pytest

from pocnet.report_file import (
    KINDS,
    MAX_LINE_BYTES,
    ReportFileError,
    _as_written,
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


def _by_json(line: bytes) -> tuple[int, str, bytes] | None:
    """The record by the format's definition (the JSON object of the module docstring), as
    an outside reference: None where it is not one."""
    try:
        record = json.loads(line)
        received_ms, kind = record["received_ms"], record["kind"]
        raw = base64.b64decode(record["report"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if type(received_ms) is not int or received_ms < 0 or kind not in KINDS:
        return None
    return received_ms, kind, raw


def _parsed(line: bytes) -> tuple[int, str, bytes] | None:
    try:
        return parse_line(line, 1)
    except ReportFileError:
        return None


@pytest.mark.parametrize("kind", KINDS)
def test_the_writers_own_lines_are_read_without_the_json_parser(kind: str) -> None:
    for received_ms, raw in ((0, b""), (7, b"\x00"), (1_780_000_000_123, b"\xfb\xff\xfe" * 90)):
        line = record_line(received_ms, kind, raw).encode()
        assert _as_written(line) == (received_ms, kind, raw)


@pytest.mark.parametrize("line", [
    b'{"received_ms": 5, "kind": "witness", "report": "+/8="}',  # the file's last line
    b'{"received_ms": 5, "kind": "witness", "report": "+/8="}\r\n',  # CRLF
    b'{"received_ms": 5, "kind": "witness", "report": "+/8="}  \t\n',
])
def test_the_writers_layout_is_read_whatever_whitespace_ends_it(line: bytes) -> None:
    assert _as_written(line) == _by_json(line) == (5, "witness", b"\xfb\xff")


@pytest.mark.parametrize("line", [
    b'{"received_ms":5,"kind":"witness","report":"+/8="}\n',  # compact separators
    b'{"kind": "witness", "received_ms": 5, "report": "+/8="}\n',  # other key order
    b'{"received_ms": 5, "kind": "witn\\u0065ss", "report": "+/8="}\n',  # escapes
    b'{"received_ms": 5, "kind": "witness", "report": "\\u002b/8="}\n',
    b' {"received_ms": 5, "kind": "witness", "report": "+/8="}\n',
    b'{"received_ms": 5, "kind": "witness", "report": "+/8=", "x": 1}\n',
    b'{"received_ms": 5, "kind": "witness", "report": "+/8=", "kind": "beacon"}\n',
])
def test_other_layouts_of_the_same_json_read_the_same(line: bytes) -> None:
    assert _as_written(line) is None
    assert parse_line(line, 1) == _by_json(line) != None  # noqa: E711


@pytest.mark.parametrize("line", [
    b'{"received_ms": 05, "kind": "witness", "report": "+/8="}\n',  # JSON has no leading 0
    b'{"received_ms": -5, "kind": "witness", "report": "+/8="}\n',
    b'{"received_ms": 5.0, "kind": "witness", "report": "+/8="}\n',
    b'{"received_ms": 1_0, "kind": "witness", "report": "+/8="}\n',
    b'{"received_ms": +5, "kind": "witness", "report": "+/8="}\n',
    b'{"received_ms": \xd9\xa5, "kind": "witness", "report": "+/8="}\n',  # Arabic-Indic 5
    b'{"received_ms": ' + b"9" * 5000 + b', "kind": "witness", "report": "+/8="}\n',
    b'{"received_ms": 5, "kind": "Witness", "report": "+/8="}\n',
    b'{"received_ms": 5, "kind": "witness", "report": "+/8"}\n',  # padding missing
    b'{"received_ms": 5, "kind": "witness", "report": "+/8=\\n"}\n',
    b'{"received_ms": 5, "kind": "witness", "report": "}\n',  # the value never closes
    b'{"received_ms": 5, "kind": "witness", "report": "+/8="}}\n',
    b'{"received_ms": 5, "kind": "witness", "report": "+/8="} x\n',
    b'{"received_ms": 5, "kind": "witness", "report": "+/8="\n',
    b'{"received_ms": 5, "kind": "witness", "report": "+/8="}\x0b\n',  # not JSON's space
])
def test_lines_off_the_format_get_the_parsers_error_with_their_number(line: bytes) -> None:
    assert _as_written(line) is None and _by_json(line) is None
    with pytest.raises(ReportFileError, match=r"^line 9: "):
        parse_line(line, 9)


def test_any_damage_to_a_line_reads_as_its_json_does() -> None:
    """Each line of a seeded set of damaged lines (a byte changed, dropped or added) is read
    as the format's JSON reads it, or refused where that has no record."""
    rnd = random.Random(11)
    alphabet = b'{}":, 0123456789-+.eE\\u/=AZaz+\r\n\t\x0b\x0c' + bytes(range(0x80, 0x84))
    sound = [record_line(rnd.randrange(10**13), rnd.choice(KINDS),
                         rnd.randbytes(rnd.randrange(8))).encode() for _ in range(40)]
    for line in sound:
        assert _parsed(line) == _by_json(line) != None  # noqa: E711
        for _ in range(300):
            at = rnd.randrange(len(line))
            byte = bytes([rnd.choice(alphabet)])
            damaged = rnd.choice((line[:at] + byte + line[at + 1:], line[:at] + line[at + 1:],
                                  line[:at] + byte + line[at:]))
            assert _parsed(damaged) == _by_json(damaged), damaged


def test_every_short_report_value_reads_as_its_json_does() -> None:
    """The writer's layout with every report value of up to 5 characters over base64's
    alphabet, its padding and strays (padding inside or beyond the end, which strict base64
    refuses and `b64decode(validate=True)` reads): `parse_line` gives what the JSON path
    gives, or its error."""
    import itertools

    for length in range(6):
        for chars in itertools.product(b"A/+=8_ ", repeat=length):
            line = b'{"received_ms": 5, "kind": "witness", "report": "' + bytes(chars) + b'"}\n'
            assert _parsed(line) == _by_json(line), line
