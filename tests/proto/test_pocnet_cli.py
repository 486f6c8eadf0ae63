"""pocnet.cli: what every command shares (CONTRACTS: bad input is one line and exit status 2)."""

from __future__ import annotations

import argparse
import json

import pytest

from pocnet.cli import EXIT_USAGE, OneLineParser, UsageError, print_json, run
from pocnet.errors import UnknownRegionError


def _parser(handler) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
    parser = OneLineParser(prog="pocnet-test")
    sub = parser.add_subparsers()
    p = sub.add_parser("go")
    p.add_argument("--n", type=int, default=0)
    p.set_defaults(handler=handler)
    return parser


@pytest.mark.parametrize(
    "error",
    [
        UsageError("bad --region"),
        UnknownRegionError("unknown region 'XX'"),
        # A message that spans lines (e.g. an OS error text) is still one line on stderr.
        UsageError("cannot read key file:\nPermission denied"),
    ],
)
def test_input_errors_are_one_line_and_exit_2(
    error: Exception, capsys: pytest.CaptureFixture[str]
) -> None:
    def handler(args: argparse.Namespace) -> int:
        raise error

    assert run(_parser(handler), ["go"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("pocnet-test: error: ")


def test_argparse_mistakes_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run(_parser(lambda args: 0), ["go", "--n", "many"])
    assert info.value.code == EXIT_USAGE
    assert capsys.readouterr().err.count("\n") == 1


def test_no_subcommand_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_parser(lambda args: 0), []) == EXIT_USAGE
    assert "usage:" in capsys.readouterr().out


def test_handler_result_is_the_exit_status() -> None:
    assert run(_parser(lambda args: None), ["go"]) == 0
    assert run(_parser(lambda args: args.n), ["go", "--n", "3"]) == 3


def test_print_json_is_one_sorted_document(capsys: pytest.CaptureFixture[str]) -> None:
    print_json({"b": 1, "a": b"x"})
    out = capsys.readouterr().out
    assert out == '{"a": "b\'x\'", "b": 1}\n'
    assert json.loads(out)["b"] == 1


def test_a_reader_that_goes_away_ends_quietly() -> None:
    """`pocnet-oracle beacon --json | head -c 10`: no traceback, the shell's SIGPIPE status."""
    import subprocess
    import sys

    code = (
        "import sys; from pocnet.cli import OneLineParser, print_json, run\n"
        "p = OneLineParser(prog='t'); s = p.add_subparsers()\n"
        "c = s.add_parser('go'); c.set_defaults(handler=lambda a: [print_json(list(range(99))) "
        "for _ in range(20000)] and 0)\n"
        "sys.exit(run(p, ['go']))\n"
    )
    reader = subprocess.Popen(["head", "-c", "10"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL)
    writer = subprocess.run([sys.executable, "-c", code], stdout=reader.stdin,
                            stderr=subprocess.PIPE, text=True, timeout=60)
    reader.stdin.close()
    reader.wait(timeout=10)
    assert writer.returncode == 141
    assert writer.stderr == ""
