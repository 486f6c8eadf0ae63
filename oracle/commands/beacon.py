"""`pocnet-oracle beacon`: derive the beacon a hotspot must send for given entropies.

Operators use it to check a disputed beacon by hand: the oracle's verifier runs the same
`pocnet.beacon.derive_beacon`, so what this prints is what the verifier expects.
"""

from __future__ import annotations

import argparse

from pocnet.beacon import ENTROPY_LEN, LOCAL_ENTROPY_LEN, derive_beacon
from pocnet.cli import UsageError, integer, print_json
from pocnet.regions import PLAN_NAMES, get_plan


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "beacon",
        help="derive a beacon from remote and local entropy",
        description=(
            "Derive the beacon payload, frequency, datarate and tx power a hotspot sends for "
            "the given oracle entropy, hotspot entropy and region (docs/protocol.md §4)."
        ),
    )
    p.add_argument(
        "--remote-entropy", required=True, metavar="HEX",
        help=f"the oracle's entropy value, {ENTROPY_LEN} bytes as hex",
    )
    p.add_argument(
        "--remote-timestamp", required=True, type=integer(0), metavar="SECONDS",
        help="the entropy's timestamp, Unix seconds",
    )
    p.add_argument(
        "--local-entropy", required=True, metavar="HEX",
        help=f"the hotspot's random bytes, {LOCAL_ENTROPY_LEN} bytes as hex",
    )
    p.add_argument(
        "--region", required=True, metavar="REGION",
        help=f"region plan: {', '.join(PLAN_NAMES)}",
    )
    p.add_argument(
        "--gain", type=integer(), default=0, metavar="DBI_X10",
        help="antenna gain in dBi x 10 (default 0); lowers the conducted tx power "
        "(none, and no beacon, when it exceeds the region's max EIRP)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_run)


def _hex_arg(text: str, option: str, length: int) -> bytes:
    cleaned = text.strip().removeprefix("0x").removeprefix("0X")
    try:
        value = bytes.fromhex(cleaned)
    except ValueError:
        raise UsageError(f"{option}: not hexadecimal: {text!r}") from None
    if len(value) != length:
        raise UsageError(
            f"{option}: want {length} bytes ({2 * length} hex digits), got {len(value)} bytes"
        )
    return value


def _run(args: argparse.Namespace) -> int:
    remote = _hex_arg(args.remote_entropy, "--remote-entropy", ENTROPY_LEN)
    local = _hex_arg(args.local_entropy, "--local-entropy", LOCAL_ENTROPY_LEN)
    from oracle.registry import GAIN_RANGE_DBI_X10

    low, high = GAIN_RANGE_DBI_X10
    if not low <= args.gain <= high:
        raise UsageError(f"--gain {args.gain}: outside -10..30 dBi (-100..300 in dBi x 10)")
    plan = get_plan(args.region)
    beacon = derive_beacon(remote, args.remote_timestamp, local, plan, args.gain)
    if args.json:
        print_json(
            {
                "data": beacon.data.hex(),
                "frequency": beacon.frequency_hz,
                "datarate": beacon.datarate,
                "tx_power": beacon.tx_power_dbm,
            }
        )
    else:
        print(f"region:    {plan.name}")
        print(f"data:      {beacon.data.hex()}")
        print(f"frequency: {beacon.frequency_hz} Hz")
        print(f"datarate:  {beacon.datarate}")
        if beacon.tx_power_dbm is None:
            print("tx_power:  none: the gain exceeds the region's max EIRP, no beacon is sent")
        else:
            print(f"tx_power:  {beacon.tx_power_dbm} dBm")
    return 0
