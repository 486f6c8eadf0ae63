"""`pocnet-sim device sdr --record FILE`: a simulated beacon as an SDR would record it.

A hotspot of the chosen region derives a beacon from random entropy (docs/protocol.md §4: the
52-byte proprietary frame, CR 4/5, 8-symbol preamble, CRC on), modulates it at the wideband
rate, sends it through `iq_channel` (SNR over the LoRa band, carrier offset, silence either
side) and writes the capture as SigMF, centred on the plan's eight channels so a receiver
hears all of them. The beacon's payload, channel and datarate go into the file's annotation,
so a tester can compare with what `pocnet-hotspot sdr decode` prints.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware_bridge.sdr import modem
from firmware_bridge.sdr.iq_files import Capture, write_sigmf
from firmware_bridge.sdr.phy.params import LoraParams, parse_datarate
from pocnet.beacon import Beacon, derive_beacon
from pocnet.cli import integer, number
from pocnet.regions import get_plan
from sim_radio.air import Air
from sim_radio.iq_channel import ChannelModel, apply

DEFAULT_SAMPLE_RATE_HZ = 2_000_000      # 16 × 125 kHz: EU868's eight channels and a margin
BEACON_SYNC_WORD = 0x34                 # LoRaWAN public networks, as concentrators send
SIGNAL_DBFS = -20.0                     # headroom for 16-bit recordings
SILENCE_S = 0.05
EPOCH_NS = 1_796_342_400_000_000_000    # 2026-12-04T00:00:00Z: fixed, so recordings repeat


@dataclass(frozen=True)
class Recording:
    capture: Capture
    beacon: Beacon


def record_beacon(
    region: str, snr_db: float | None, rng: np.random.Generator,
    sample_rate_hz: int = DEFAULT_SAMPLE_RATE_HZ, cfo_ppm: float = 0.0, rssi_dbm: float = -100.0,
) -> Recording:
    """One beacon, wideband, through the channel; the capture centred on the plan's channels."""
    plan = get_plan(region)
    beacon = derive_beacon(rng.bytes(32), 1_796_342_400, rng.bytes(4), plan)
    sf, bw_hz = parse_datarate(beacon.datarate)
    if sample_rate_hz % (2 * bw_hz):
        raise ValueError(f"sample rate {sample_rate_hz} Hz is not a multiple of 2 × {bw_hz} Hz")
    channels = plan.channels_hz[:8]
    center_hz = (min(channels) + max(channels)) // 2
    params = LoraParams(sf, bw_hz, cr=1, crc=True, sync_word=BEACON_SYNC_WORD)
    frame = modem.modulate(beacon.frame, params, sample_rate_hz // bw_hz)
    frame *= np.float32(10 ** (SIGNAL_DBFS / 20))
    model = ChannelModel(
        snr_db=snr_db,
        cfo_hz=beacon.frequency_hz - center_hz + cfo_ppm * 1e-6 * beacon.frequency_hz,
        delay_s=round(SILENCE_S * sample_rate_hz) / sample_rate_hz,
        tail_s=SILENCE_S,
    )
    samples = apply(frame, sample_rate_hz, bw_hz, model, rng)
    capture = Capture(samples, sample_rate_hz, center_hz, EPOCH_NS,
                      full_scale_dbm=rssi_dbm - SIGNAL_DBFS)
    return Recording(capture, beacon)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--record", metavar="FILE", required=True,
                        help="write the capture to FILE.sigmf-meta and FILE.sigmf-data")
    parser.add_argument("--snr", type=number(), default=10.0, metavar="DB",
                        help="SNR over the 125 kHz band (default 10; below −20 only noise)")
    parser.add_argument("--region", default="EU868", help="region plan (default EU868)")
    parser.add_argument("--cfo-ppm", type=number(), default=0.0,
                        help="transmitter's carrier offset, ppm (default 0)")
    parser.add_argument("--sample-rate", type=integer(), default=DEFAULT_SAMPLE_RATE_HZ,
                        help="samples per second, a multiple of 250 kHz (default 2000000)")
    parser.add_argument("--rssi", type=number(), default=-100.0, metavar="DBM",
                        help="received signal power the file is calibrated to (default −100)")
    parser.add_argument("--datatype", choices=("cf32_le", "ci16_le"), default="cf32_le")
    parser.add_argument("--seed", type=integer(), default=1, help="entropy and noise seed")


async def serve(args: argparse.Namespace, air: Air | None, ready: Callable[[str], None]) -> None:
    """Record one beacon and report the file: this device does not stay up."""
    del air
    rec = record_beacon(args.region, args.snr, np.random.default_rng(args.seed),
                        args.sample_rate, args.cfo_ppm, args.rssi)
    description = (f"beacon {rec.beacon.frame.hex()} on {rec.beacon.frequency_hz} Hz "
                   f"{rec.beacon.datarate} at SNR {args.snr:g} dB")
    meta = write_sigmf(Path(args.record), rec.capture, args.datatype, description)
    ready(str(meta))
