"""`pocnet-oracle import FILE`: store a file of wire reports with their receive times through the
same checks as ingest (oracle/importer.py): backfill, replay, and the simulator's epochs.

Imported reports are verified by `verify` (or the server's loop) like any other: the verifier
times everything by the receive times the file gave.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from pocnet.cli import UsageError, integer, print_json, progress_bar


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "import",
        help="store a file of wire reports with their receive times (backfill, replay)",
        description="Store the records of FILE (JSON Lines: received_ms, kind, report as "
        "base64) through ingest's and the registry's checks, stamped with the file's receive "
        "times. Entropy records are stored when signed by this oracle's key or an "
        "--entropy-key.",
    )
    p.add_argument("file", metavar="FILE", help="JSON Lines file, '-' for standard input")
    p.add_argument("--entropy-key", action="append", default=[], metavar="ADDRESS",
                   help="another oracle key whose entropy records to accept (repeatable)")
    p.add_argument("--workers", type=integer(0), default=None, metavar="N",
                   help="processes that verify signatures beside the import (default: one "
                   "per core; 0 checks them in the importing process)")
    p.add_argument("--create", action="store_true",
                   help="create the database when missing (a fresh test network's first import)")
    p.add_argument("--config", metavar="FILE", help="settings file (TOML)")
    p.add_argument("--database", metavar="URL", help="database URL or path")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_run)


def _trusted_keys(settings: Any, addresses: list[str]) -> list[Any]:
    from pathlib import Path

    from pocnet.errors import DecodeError, ProtoError
    from pocnet.keys import PublicKey, load_keyfile

    keys = []
    for address in addresses:
        try:
            keys.append(PublicKey.from_address(address))
        except DecodeError as exc:
            raise UsageError(f"--entropy-key {address}: {exc}") from None
    if Path(settings.oracle.key).exists():
        try:
            keys.append(load_keyfile(settings.oracle.key).public_key)
        except (ProtoError, OSError) as exc:
            raise UsageError(f"{settings.oracle.key}: {exc}") from None
    return keys


def _run(args: argparse.Namespace) -> int:
    from oracle.commands._database import open_database
    from oracle.errors import OracleError
    from oracle.importer import Importer, read_ahead, summary
    from pocnet.keys import Network
    from pocnet.report_file import ReportFileError, read_lines

    try:
        # Unbuffered: `read_ahead`'s thread reads it, and may still wait in a read when an
        # error ends the import; a buffered stdin would then hold its lock at shutdown, which
        # Python treats as a fatal error instead of the one-line message.
        source = sys.stdin.buffer.raw if args.file == "-" else open(args.file, "rb", buffering=0)
    except OSError as exc:
        raise UsageError(f"{args.file}: {exc.strerror}") from None
    try:  # the file first: a missing file must not create a database
        settings, repo = open_database(args.config, args.database, create=args.create,
                                       bulk=True)
    except UsageError:
        if source is not sys.stdin.buffer:
            source.close()
        raise
    network = Network.TESTNET if settings.oracle.network == "testnet" else Network.MAINNET
    try:
        workers = (os.cpu_count() or 1) if args.workers is None else args.workers
        importer = Importer(repo, network, _trusted_keys(settings, args.entropy_key),
                            workers=workers)
        with progress_bar("import", "report", hidden=args.json) as bar:
            with read_ahead(source) as ahead:
                result = importer.run(read_lines(ahead), progress=bar.update)
    except ReportFileError as exc:
        raise UsageError(f"{args.file}: {exc} (the lines before it are stored; importing "
                         "again stores nothing twice)") from None
    except OracleError as exc:
        raise UsageError(str(exc).replace("\n", "; ")) from None
    finally:
        repo.close()
        if source is not sys.stdin.buffer:
            source.close()
    out = summary(result)
    if args.json:
        print_json(out)
    else:
        rejected = sum(result.rejected.values())
        print(f"stored {result.stored} reports ({result.duplicates} already stored), "
              f"{result.entropy} entropy records, {result.assertions} assertions, "
              f"{rejected} rejected")
        for n, reason in result.first_rejected:
            print(f"  line {n}: {reason}")
    return 0
