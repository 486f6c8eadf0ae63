"""What every pocnet command shares: one-line errors with exit status 2, JSON output, the
version, numeric arguments that cannot overflow, and a missing extra named instead of a traceback.

Each command-line front end (pocnet-oracle, pocnet-hotspot, pocnet-sim) builds on this so bad
input looks the same everywhere: one line per mistake on stderr, exit status 2, nothing half-done.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from pocnet.errors import ProtoError

if TYPE_CHECKING:  # the key code loads cryptography: not for `--help`
    from pocnet.keys import Keypair

EXIT_USAGE = 2
# As a shell reports a command killed by SIGPIPE (128 + 13).
EXIT_BROKEN_PIPE = 141


# Our own top-level packages: a missing one of these is a broken install, not a missing extra.
OWN_PACKAGES = ("pocnet", "hotspot", "oracle", "firmware_bridge", "sim_radio")
# Bounds of a numeric argument when the command names none: what SQLite and protobuf's int64
# fields hold, so no value that parses can overflow further down.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class UsageError(Exception):
    """Bad input from the command line or a file it named; exit 2, one line per mistake given
    (a settings file with three mistakes is three lines, never one run-on line)."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (`prog: error: ...`) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def integer(low: int = INT64_MIN, high: int = INT64_MAX) -> Callable[[str], int]:
    """An argparse `type` for whole numbers in [low, high]: a huge or negative epoch is a usage
    error on the command line, not an OverflowError from the database."""

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {text}")
        return value

    return parse


def number(low: float = -math.inf, high: float = math.inf) -> Callable[[str], float]:
    """An argparse `type` for finite decimal numbers in [low, high] (no nan, no inf)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, got {text}")
        return value

    return parse


def package_version() -> str:
    """The installed distribution's version: the one number all three front ends print."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pocnet")
    except PackageNotFoundError:
        return "unknown (not installed)"


class _VersionAction(argparse.Action):
    """argparse's "version" action with the version looked up when asked for: reading the
    installed distribution's metadata (importlib.metadata) was ~0.1 s of every command's
    start."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> NoReturn:
        print(f"{parser.prog} {package_version()}")  # on stdout, as argparse's own
        parser.exit()


def add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")


class _NoBar:
    """What `progress_bar` gives when no bar is shown: updates go nowhere."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: float = 1) -> None:
        """Nothing to draw."""


def progress_bar(desc: str, unit: str, hidden: bool = False, total: int | None = None) -> Any:
    """A progress bar (tqdm) on stderr while stderr is a terminal and not `hidden` (e.g.
    under --json); otherwise a stand-in whose `update` does nothing, and tqdm is not
    imported: that was ~50 ms of CPU a command, and the proving ground runs ~20 commands a
    pass with stderr a pipe. Also the stand-in where tqdm is not installed (a hotspot's
    install, `pocnet[hotspot]`, has none). Used as a context manager, like tqdm's own bar."""
    if hidden or not sys.stderr.isatty():
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()

    return tqdm(desc=desc, unit=unit, total=total, file=sys.stderr)


def print_json(value: Any) -> None:
    """Machine output: one JSON document on stdout, keys sorted so diffs are stable."""
    json.dump(value, sys.stdout, sort_keys=True, default=str)
    sys.stdout.write("\n")


def print_key(keypair: Keypair, path: str, created: bool, as_json: bool) -> None:
    """A device or oracle key as `keys create|show` print it, the same for both roles."""
    out = {
        "address": keypair.public_key.address,
        "public_key": keypair.public_key.to_bytes().hex(),
        "network": keypair.network.name.lower(),
        "key_file": path,
    }
    if as_json:
        print_json(out)
        return
    if created:
        print(f"created {path} (mode 0600)")
    print(f"address     {out['address']}")
    print(f"public key  {out['public_key']}")
    print(f"network     {out['network']}")


Handler = Callable[[argparse.Namespace], int | None]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None, extra: str = "") -> int:
    """Parse, dispatch to the chosen subcommand's `handler`, and map input errors to exit 2.

    `extra` is the pyproject extra the front end's commands need: a third-party module missing
    from the install is reported as that extra to install.
    """
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(handler(args) or 0)
    except (UsageError, ProtoError) as exc:
        # One line per mistake, even when a message carries an OS or library text with breaks.
        lines = exc.lines if isinstance(exc, UsageError) and exc.lines else [str(exc)]
        for line in lines:
            print(f"{parser.prog}: error: {_one_line(line)}", file=sys.stderr)
        return EXIT_USAGE
    except ModuleNotFoundError as exc:
        top = (exc.name or "").partition(".")[0]
        if not extra or not top or top in OWN_PACKAGES:
            raise
        print(f"{parser.prog}: error: this command needs the '{extra}' extra (Python module "
              f"{top!r} is missing): pip install 'pocnet[{extra}]'", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`... --json | head`): not an error worth a traceback. Point
        # stdout at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
