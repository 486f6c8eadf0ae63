"""`pocnet-oracle serve`: run the gRPC server, the entropy issuer and the verification loop.

Stops cleanly on SIGTERM (systemd) or Ctrl-C: new calls are refused, in-flight calls get the
grace period, queued commits finish, then the process exits 0.
"""

from __future__ import annotations

import argparse
import sys

from oracle.commands._database import add_options
from pocnet.cli import UsageError, print_json


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "serve",
        help="run the oracle: gRPC ingest, entropy, registry, queries and verification",
        description="Run the oracle server until SIGTERM. Settings come from the settings file "
        "(default /etc/pocnet/oracle.toml), POCNET_ORACLE_* environment variables, then these "
        "flags.",
    )
    add_options(p)
    p.add_argument("--listen", metavar="HOST:PORT", help="address to listen on (port 0 = any)")
    p.add_argument("--create", action="store_true",
                   help="create the database when it does not exist yet (first start)")
    p.add_argument("--key", metavar="FILE", help="the oracle's key file (signs entropy)")
    p.add_argument("--json", action="store_true",
                   help="print {\"listening\": ADDRESS, \"port\": PORT, \"hotspot_listening\": "
                   "ADDRESS, \"hotspot_port\": PORT} once ready (the hotspot listener's null when "
                   "it is off)")
    p.add_argument("--log-level", default="INFO",
                   choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                   help="log level of the messages on stderr (default INFO)")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from oracle.commands._database import missing_database, settings_for
    from oracle.errors import OracleError, TaskFailed
    from oracle.server import serve
    from oracle.settings import hotspot_address
    from pocnet import logs

    settings = settings_for(args.config, args.database, args.key, args.listen)
    if not args.create and (why := missing_database(settings.oracle.database)):
        raise UsageError(why)
    host = settings.oracle.listen.rpartition(":")[0]
    hotspot_host = hotspot_address(settings).rpartition(":")[0]

    def ready(port: int, hotspot_port: int | None) -> None:
        # Operators and scripts learn both addresses here: the hotspots' is the one to open
        # to the network, and on port 0 it is known only now.
        hotspots = None if hotspot_port is None else f"{hotspot_host}:{hotspot_port}"
        if args.json:
            print_json({"listening": f"{host}:{port}", "port": port,
                        "hotspot_listening": hotspots, "hotspot_port": hotspot_port})
        else:
            print(f"pocnet-oracle: listening on {host}:{port}"
                  + (f", hotspots on {hotspots}" if hotspots else ", no hotspot listener"))
        sys.stdout.flush()

    logs.configure(args.log_level, sys.stderr)
    try:
        asyncio.run(serve(settings, ready=ready))
    except TaskFailed as exc:  # not a usage error: exit 1 so systemd restarts the service
        print(f"pocnet-oracle: error: {exc}", file=sys.stderr)
        return 1
    except OracleError as exc:
        raise UsageError(str(exc)) from None
    return 0
