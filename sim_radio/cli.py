"""`pocnet-sim`: run whole simulated networks and virtual devices without hardware.

Each subcommand is one module under `sim_radio.commands` with a `register(subparsers)` function
that adds its parser and sets `handler`. Command modules import heavy dependencies inside
their handler, so `--help` and light commands start fast.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from pocnet.cli import OneLineParser, add_version, run

# The subcommands, in the order `--help` lists them.
COMMANDS: tuple[str, ...] = ("demo", "device", "run", "epochs")


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="pocnet-sim",
        description="run whole simulated networks and virtual devices without hardware.",
    )
    add_version(parser)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMANDS:
        importlib.import_module(f"sim_radio.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv, extra="sim")


if __name__ == "__main__":
    sys.exit(main())
