"""`pocnet-sim device KIND`: run one virtual device and print where a driver can connect.

The device runs on a `LoopbackAir` of its own unless the caller provides a medium, so two
drivers can be tested against two devices started by one `serve` call in a test, while a
human gets a working /dev/pts/N or UDP endpoint to point `pocnet-hotspot` at.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from types import ModuleType

from pocnet.cli import UsageError, print_json
from sim_radio.devices import DEVICE_MODULES, KINDS, load


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "device",
        help="run one virtual device (rak3172, rn2483, ublox, quectel, packet-forwarder, sdr)",
        description="Run one virtual device on a pseudo-terminal or UDP socket until Ctrl-C, "
        "printing the endpoint a driver should open.",
    )
    kinds = p.add_subparsers(
        title="kinds", metavar="KIND", dest="kind", parser_class=type(p)
    )
    for kind in KINDS:
        sub = kinds.add_parser(kind, help=f"a virtual {kind}")
        sub.add_argument("--json", action="store_true", help="print the endpoint as JSON")
        try:
            module = load(kind)
        except ImportError as exc:  # another engineer's module not there yet
            sub.set_defaults(handler=_unavailable(kind, exc))
            continue
        module.add_arguments(sub)
        sub.set_defaults(handler=_run)
    p.set_defaults(handler=_no_kind)


def _no_kind(args: argparse.Namespace) -> int:
    raise UsageError(f"choose a device kind: {', '.join(KINDS)}")


def _unavailable(kind: str, exc: ImportError) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        raise UsageError(f"device kind {kind!r} is not available: {exc}")

    return handler


def _run(args: argparse.Namespace) -> int:
    if args.kind not in DEVICE_MODULES:
        raise UsageError(f"unknown device kind {args.kind!r}")
    module = load(args.kind)
    try:
        asyncio.run(_serve(module, args))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot start {args.kind}: {exc}") from exc
    return 0


async def _serve(module: ModuleType, args: argparse.Namespace) -> None:
    from sim_radio.air import LoopbackAir

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    def ready(endpoint: str) -> None:
        if args.json:
            print_json({"kind": args.kind, "endpoint": endpoint})
        else:
            print(f"{args.kind} ready at {endpoint} (Ctrl-C to stop)")
        sys.stdout.flush()

    task = asyncio.create_task(module.serve(args, LoopbackAir(), ready))
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    for pending in (task, stopper):
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pending
    if task in done and not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]
