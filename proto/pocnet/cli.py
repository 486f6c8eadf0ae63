"""What every pocnet command shares: one-line errors with exit status 2, and JSON output.

Each command-line front end (pocnet-oracle, pocnet-hotspot, pocnet-sim) builds on this so bad
input looks the same everywhere: one line on stderr, exit status 2, nothing half-done.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from pocnet.errors import ProtoError

EXIT_USAGE = 2
# As a shell reports a command killed by SIGPIPE (128 + 13).
EXIT_BROKEN_PIPE = 141


class UsageError(Exception):
    """Bad input from the command line or a file it named; reported as one line, exit 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (`prog: error: ...`) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def print_json(value: Any) -> None:
    """Machine output: one JSON document on stdout, keys sorted so diffs are stable."""
    json.dump(value, sys.stdout, sort_keys=True, default=str)
    sys.stdout.write("\n")


Handler = Callable[[argparse.Namespace], int | None]


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse, dispatch to the chosen subcommand's `handler`, and map input errors to exit 2."""
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(handler(args) or 0)
    except (UsageError, ProtoError) as exc:
        # One line even when the message carries an OS or library text with line breaks.
        message = " ".join(str(exc).split())
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`... --json | head`): not an error worth a traceback. Point
        # stdout at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
