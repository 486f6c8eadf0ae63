"""`pocnet-hotspot`: the hotspot owner's command: run, keys, info, gps, onboard.

Each subcommand is one module under `hotspot.commands` with a `register(subparsers)` function
that adds its parser and sets `handler`. Command modules import heavy dependencies inside
their handler, so `--help` and light commands start fast.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from pocnet.cli import OneLineParser, add_version, run

# The subcommands, in the order `--help` lists them.
COMMANDS: tuple[str, ...] = ("run", "keys", "info", "gps", "onboard", "submit", "config", "sdr")


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="pocnet-hotspot",
        description="the hotspot owner's command: run, keys, info, gps, onboard.",
    )
    add_version(parser)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMANDS:
        importlib.import_module(f"hotspot.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv, extra="hotspot")


if __name__ == "__main__":
    sys.exit(main())
