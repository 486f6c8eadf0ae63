"""`pocnet-hotspot run`: the daemon, until SIGTERM (systemd's stop)."""

from __future__ import annotations

import argparse

from pocnet.cli import UsageError

EXIT_FAILED = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("run", help="run the hotspot daemon",
                              description="Run the daemon: beacons, witnesses, outbox, uploads. "
                              "Logs are JSON lines on stdout; SIGTERM stops it cleanly.")
    p.add_argument("-c", "--config", metavar="PATH",
                   help="settings file (default /etc/pocnet/hotspot.toml)")
    p.add_argument("--json", action="store_true", help="accepted for symmetry: logs are JSON")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import os

    # Before gRPC loads: its C core otherwise prints plain-text notices (e.g. the GOAWAY of an
    # oracle restart) among our JSON log lines, which breaks `journalctl -o cat | jq`.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

    from hotspot import settings
    from hotspot.app import run_daemon
    from hotspot.errors import KeyStoreError, MetricsError, OutboxError, SettingsError
    from pocnet import logs

    try:
        conf = settings.load(args.config)
    except SettingsError as exc:
        raise UsageError(*exc.problems) from None
    logs.configure(conf.log.level)
    log = logging.getLogger("hotspot")
    try:
        asyncio.run(run_daemon(conf))
    except (KeyStoreError, OutboxError, MetricsError) as exc:
        raise UsageError(str(exc)) from None
    except ExceptionGroup as group:
        # A task crashed: log it once and exit non-zero so systemd restarts us.
        log.error("stopped: %s", group.exceptions[0], exc_info=group, extra={"event": "fatal"})
        return EXIT_FAILED
    return 0
