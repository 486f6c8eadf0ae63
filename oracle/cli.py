"""`pocnet-oracle`: the oracle operator's command.

Each subcommand is one module under `oracle.commands` with a `register(subparsers)` function
that adds its parser and sets `handler`. Command modules import heavy dependencies inside
their handler, so `--help` and light commands start fast; and a command line naming a
subcommand builds that subcommand's parser alone, so it imports no other command's module
(some need theirs to list their choices: `detect` its detectors, `report` the storage layer,
`beacon` the beacon derivation). The proving ground runs ~20 commands a pass; the other
modules were ~0.15 s of each one's ~0.3 s start (docs/benchmarks.md).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from pocnet.cli import OneLineParser, add_version, run

# The subcommands, in the order `--help` lists them: each command's name and its module under
# oracle.commands (which registers that name).
COMMANDS: dict[str, str] = {
    "serve": "serve",
    "registry": "registry",
    "verify": "verify",
    "report": "report",
    "beacon": "beacon",
    "density": "density",
    "rewards": "rewards",
    "payout": "payout",
    "map": "map",
    "detect": "detect",
    "keys": "keys",
    "config": "config",
    "import": "imports",
}


def build_parser(command: str | None = None) -> OneLineParser:
    """Every subcommand's parser, or `command`'s alone when it names one (what `main` builds
    for a command line that starts with it: it parses that line exactly as the whole parser
    would), or none for `--version`."""
    parser = OneLineParser(
        prog="pocnet-oracle",
        description="The oracle operator's command.",
    )
    add_version(parser)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=OneLineParser)
    # `--version` first reads no subcommand: it prints and exits before any is parsed.
    names = [command] if command in COMMANDS else [] if command == "--version" else list(COMMANDS)
    for name in names:
        importlib.import_module(f"oracle.commands.{COMMANDS[name]}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    return run(build_parser(args[0] if args else None), args, extra="oracle")


if __name__ == "__main__":
    sys.exit(main())
