"""`pocnet-hotspot sdr decode FILE`: the frames an SDR recording holds, as the radio would
report them (payload, datarate, frequency, RSSI, SNR), to check an antenna and a receiver,
or a recording made by `pocnet-sim device sdr --record`, before running the daemon.

The channels are those of the region plan (`--region`, default EU868) that the recording's
band covers, at every spreading factor unless `--sf` narrows it. Frames with a bad CRC are
listed only with `--all`, marked `crc_ok: false`.
"""

from __future__ import annotations

import argparse
from typing import Any

from pocnet.cli import UsageError, integer, number, print_json, progress_bar

JSON_KEYS = ("payload", "datarate", "freq_hz", "rssi_dbm", "snr_db", "code_rate", "crc_ok",
             "sync_word", "cfo_hz", "time")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sdr",
        help="software-defined radio tools (decode a recording)",
        description="Software-defined radio tools.",
    )
    sub = p.add_subparsers(title="commands", metavar="COMMAND", parser_class=type(p))
    d = sub.add_parser(
        "decode",
        help="decode the LoRa frames of an IQ recording",
        description="Decode every LoRa frame in a SigMF (or raw cf32) recording, on every "
        "channel of the region plan inside the recorded band.",
    )
    d.add_argument("file", metavar="FILE", help="FILE.sigmf-meta, or raw .cf32/.cu8 with "
                   "--sample-rate and --frequency")
    d.add_argument("--region", default="EU868", help="region plan of the channels (EU868)")
    d.add_argument("--sf", type=integer(), action="append", metavar="SF",
                   help="spreading factor to listen for (repeatable; default 7 to 12)")
    d.add_argument("--sample-rate", type=number(), help="raw files: samples per second")
    d.add_argument("--frequency", type=number(), help="raw files: centre frequency, Hz")
    d.add_argument("--hard", action="store_true", help="hard-decision decoding")
    d.add_argument("--all", action="store_true", help="also list frames with a bad CRC")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(handler=_decode)
    p.set_defaults(handler=_no_command)
    p.add_argument("--json", action="store_true", help=argparse.SUPPRESS)


def _no_command(args: argparse.Namespace) -> int:
    raise UsageError("choose a command: decode (--json available on each)")


def _record(heard: Any) -> dict[str, Any]:
    from datetime import UTC, datetime

    f = heard.frame
    when = datetime.fromtimestamp(heard.received_ns / 1e9, UTC)
    return {
        "payload": f.payload.hex(),
        "datarate": f.datarate,
        "freq_hz": heard.freq_hz,
        "rssi_dbm": round(heard.rssi_dbm, 1),
        "snr_db": round(f.snr_db, 1),
        "code_rate": f"4/{4 + f.cr}",
        "crc_ok": f.crc_ok,
        "sync_word": f"0x{f.sync_word:02x}",
        "cfo_hz": round(f.cfo_hz),
        "time": when.isoformat(timespec="microseconds").replace("+00:00", "Z"),
    }


def _decode(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("numpy") is None:
        raise UsageError("the SDR modem needs numpy: pip install 'pocnet[sdr]'")
    from firmware_bridge.sdr import iq_files, scanner
    from firmware_bridge.sdr.phy.params import SPREADING_FACTORS
    from pocnet.errors import UnknownRegionError
    from pocnet.regions import get_plan

    try:
        plan = get_plan(args.region)
    except UnknownRegionError as exc:
        raise UsageError(str(exc)) from None
    sfs = tuple(args.sf or SPREADING_FACTORS)
    if any(sf not in SPREADING_FACTORS for sf in sfs):
        raise UsageError("--sf must be between 7 and 12")
    try:
        capture = iq_files.read(args.file, args.sample_rate, args.frequency)
        channels = scanner.covered(capture.center_freq_hz, capture.sample_rate_hz,
                                   plan.channels_hz, plan.bandwidth_hz)
        if not channels:
            raise UsageError(
                f"the recording ({capture.center_freq_hz / 1e6:g} MHz ± "
                f"{capture.sample_rate_hz / 2e6:g} MHz) covers no {plan.name} channel"
            )
        with progress_bar("decode", "channel", total=len(channels)) as bar:
            heard = scanner.scan(capture, channels, plan.bandwidth_hz, sfs,
                                 soft=not args.hard, on_channel=bar.update)
    except (iq_files.IqFileError, ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None
    records = [_record(h) for h in heard if h.frame.crc_ok or args.all]
    if args.json:
        print_json({"file": args.file, "channels_hz": channels, "frames": records})
        return 0
    if not records:
        print(f"no frames on {len(channels)} channels")
    for r in records:
        print(f"{r['time']} {r['freq_hz'] / 1e6:.1f} MHz {r['datarate']} {r['code_rate']} "
              f"RSSI {r['rssi_dbm']} dBm SNR {r['snr_db']} dB "
              f"{'' if r['crc_ok'] else 'BAD CRC '}{r['payload']}")
    return 0
