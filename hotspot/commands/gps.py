"""`pocnet-hotspot gps`: what the GPS says right now, to check wiring before running the daemon.

`--device` reads a live receiver (a fix per line until Ctrl-C, or one with `--once`);
`--replay` reads a capture to its end and prints the last fix, which is what the daemon would
hold at that point. Only the keys below appear in `--json`, so scripts can rely on them.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from pocnet.cli import UsageError, integer, number, print_json

JSON_KEYS = ("lat", "lon", "height_m", "h_acc_m", "fix", "satellites", "time", "usable")
DEFAULT_TIMEOUT_S = 10.0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "gps",
        help="show the GPS fix (live device or a recorded capture)",
        description="Show the current fix of a u-blox receiver, or the last fix of a capture.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--device", metavar="PATH",
                        help="serial device: /dev/serial0, /dev/ttyACM0, /dev/serial/by-id/...")
    source.add_argument("--replay", metavar="FILE", help="a recorded UBX/NMEA capture")
    p.add_argument("--once", action="store_true", help="print one fix and exit (with --device)")
    p.add_argument("--baud", type=integer(), default=9600, help="serial speed (default 9600)")
    p.add_argument("--timeout-s", type=number(), default=DEFAULT_TIMEOUT_S,
                   help="give up when no fix arrives for this long (default 10)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_run)


def fix_record(fix: Any) -> dict[str, Any]:
    """A `Fix` (or None: nothing heard) as the documented JSON object."""
    if fix is None:
        return dict.fromkeys(JSON_KEYS) | {"fix": "none", "satellites": 0, "usable": False}
    when = fix.time.isoformat().replace("+00:00", "Z") if fix.time is not None else None
    return {
        "lat": fix.lat,
        "lon": fix.lon,
        "height_m": fix.height_m,
        "h_acc_m": fix.h_acc_m,
        "fix": str(fix.kind),
        "satellites": fix.satellites,
        "time": when,
        "usable": fix.usable,
    }


def _text(record: dict[str, Any]) -> str:
    parts = [f"fix {record['fix']}"]
    if record["lat"] is not None:
        parts.append(f"{record['lat']:.7f}, {record['lon']:.7f}")
    if record["height_m"] is not None:
        parts.append(f"height {record['height_m']:.1f} m")
    if record["h_acc_m"] is not None:
        parts.append(f"±{record['h_acc_m']:.1f} m")
    parts.append(f"{record['satellites']} satellites")
    parts.append(record["time"] or "no time")
    parts.append("usable" if record["usable"] else "not usable")
    return ", ".join(parts)


def _show(fix: Any, as_json: bool) -> None:
    record = fix_record(fix)
    if as_json:
        print_json(record)
    else:
        print(_text(record), flush=True)


def _run(args: argparse.Namespace) -> int:
    from firmware_bridge.errors import BridgeError
    from firmware_bridge.ublox_gps.gnss import UbloxGps

    if args.timeout_s <= 0:
        raise UsageError("--timeout-s must be positive")
    if args.replay is not None:
        path = Path(args.replay)
        if not path.is_file():
            raise UsageError(f"no such capture file: {args.replay}")
        gps = UbloxGps(replay=str(path))
    else:
        if not Path(args.device).exists():
            raise UsageError(f"no such device: {args.device}")
        gps = UbloxGps(port=args.device, baudrate=args.baud)
    try:
        asyncio.run(_read(gps, args))
    except BridgeError as exc:
        raise UsageError(str(exc)) from exc
    return 0


async def _read(gps: Any, args: argparse.Namespace) -> None:
    await gps.start()
    try:
        if args.replay is not None:
            last = None
            async for fix in gps.fixes():
                last = fix
            _show(last, args.json)
            return
        fixes = gps.fixes().__aiter__()
        while True:
            try:
                fix = await asyncio.wait_for(fixes.__anext__(), args.timeout_s)
            except TimeoutError:
                raise UsageError(
                    f"no GNSS data from {args.device} within {args.timeout_s:g} s "
                    "(check wiring, baud rate and that the serial console is off)"
                ) from None
            except StopAsyncIteration:
                return
            _show(fix, args.json)
            if args.once:
                return
    finally:
        await gps.stop()
