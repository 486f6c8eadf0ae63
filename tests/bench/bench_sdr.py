"""SDR modem: frame error rate against SNR in AWGN, and throughput.

Run: .venv/bin/python tests/bench/bench_sdr.py [--frames 500] [--sf 7 --sf 9 ...] [--quick]
Each frame: a random 16-byte payload, 8-symbol preamble, explicit header, CRC, found by the
receiver's own synchronisation (no genie timing) at a random integer offset in AWGN at one
sample per chip. A point stops early after 100 frame errors (its FER is then known to ±20 %).
The SNR at FER 10 % and 1 % is interpolated linearly in log(FER) between points. The offsets
run adds ±20 ppm of carrier and clock error at 868 MHz and a random fractional timing offset,
at 4 samples per chip through the channelizer. Throughput: seconds of signal per second of
one core (the machine's other load lowers it, so the figures are lower bounds).
"""

from __future__ import annotations

import argparse
import itertools
import math
import time

import numpy as np

from firmware_bridge.sdr import modem, receiver
from firmware_bridge.sdr.channelizer import Channelizer
from firmware_bridge.sdr.phy.params import LoraParams
from sim_radio.iq_channel import ChannelModel, apply

# Semtech's minimum demodulation SNR per SF (SX1276 datasheet), dB.
SEMTECH_FLOOR_DB = {7: -7.5, 8: -10.0, 9: -12.5, 10: -15.0, 11: -17.5, 12: -20.0}
# The open receiver's measured FER 10 % / 1 % points (gr-lora_sdr, 16-byte payload).
OPEN_RECEIVER_DB = {
    (7, 4, False): (-10.0, -9.1),
    (7, 2, False): (-8.6, -7.5),
    (9, 2, True): (-15.4, None),
}
PAYLOAD_LEN = 16
MAX_ERRORS = 100
CARRIER_HZ = 868_100_000


def _fer(p: LoraParams, snr_db: float, frames: int, soft: bool, offsets: bool,
         rng: np.random.Generator) -> float:
    errors = sent = 0
    os_tx = 4 if offsets else 1
    while sent < frames:
        sent += 1
        payload = rng.integers(0, 256, PAYLOAD_LEN, dtype=np.uint8).tobytes()
        x = modem.modulate(payload, p, os_tx)
        if offsets:
            ppm = rng.uniform(-20, 20)
            model = ChannelModel(snr_db=snr_db, cfo_hz=ppm * 1e-6 * CARRIER_HZ,
                                 clock_ppm=ppm, delay_s=rng.uniform(1, 3) * p.symbol_s,
                                 tail_s=p.symbol_s)
            y = apply(x, os_tx * p.bw_hz, p.bw_hz, model, rng)
            ch = Channelizer(y, os_tx * p.bw_hz, p.bw_hz, os_tx)
            got = receiver.decode_all(ch.channel(0), p.sf, p.bw_hz, os_tx, soft,
                                      carrier_hz=CARRIER_HZ, retune=ch.channel)
        else:
            delay = int(rng.integers(p.n, 3 * p.n))
            model = ChannelModel(snr_db=snr_db, delay_s=delay / p.bw_hz,
                                 tail_s=p.symbol_s)
            y = apply(x, p.bw_hz, p.bw_hz, model, rng)
            got = receiver.decode_all(y, p.sf, p.bw_hz, 1, soft)
        if not any(f.crc_ok and f.payload == payload for f in got):
            errors += 1
            if errors >= MAX_ERRORS:
                break
    return errors / sent


def _crossing(points: list[tuple[float, float]], target: float) -> float | None:
    """The SNR where FER falls through `target`, interpolated in log(FER)."""
    for (s0, f0), (s1, f1) in itertools.pairwise(points):
        if f0 >= target > f1:
            if f1 == 0:
                return s1
            a, b = math.log10(f0), math.log10(f1)
            return s0 + (math.log10(target) - a) / (b - a) * (s1 - s0)
    return None


def curve(sf: int, cr: int, soft: bool, offsets: bool, frames: int, start_db: float,
          step_db: float, points: int, seed: int) -> tuple[float | None, float | None, list]:
    p = LoraParams(sf, cr=cr)
    rng = np.random.default_rng(seed)
    measured = []
    for i in range(points):
        snr = start_db + i * step_db
        fer = _fer(p, snr, frames, soft, offsets, rng)
        measured.append((snr, fer))
        print(f"    SF{sf} CR4/{4 + cr} {'soft' if soft else 'hard'}"
              f"{' offsets' if offsets else ''} {snr:6.2f} dB FER {fer:.4f}", flush=True)
        if fer == 0:
            break
    return _crossing(measured, 0.10), _crossing(measured, 0.01), measured


def throughput() -> None:
    p = LoraParams(7)
    rng = np.random.default_rng(5)
    frames = [modem.modulate(rng.bytes(16), p) for _ in range(40)]
    gap = np.zeros(2000, np.complex64)
    x = np.concatenate([np.concatenate([gap, f]) for f in frames])
    x = apply(x, p.bw_hz, p.bw_hz, ChannelModel(snr_db=0.0), rng)
    seconds = len(x) / p.bw_hz
    start = time.process_time()
    got = receiver.decode_all(x, 7, p.bw_hz)
    took = time.process_time() - start
    print(f"demodulation SF7/125 kHz: {seconds:.2f} s of signal, {len(got)} frames, "
          f"{seconds / took:.1f}× real time")
    fs = 2_000_000
    wide = (rng.standard_normal(4 * fs) + 1j * rng.standard_normal(4 * fs)).astype(np.complex64)
    start = time.process_time()
    ch = Channelizer(wide, fs, 125_000, 2)
    for k in range(8):
        ch.channel(-700_000 + 200_000 * k)
    took = time.process_time() - start
    print(f"channelizer, 8 channels from 2 MS/s: {4 / took:.1f}× real time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=500)
    ap.add_argument("--sf", type=int, action="append")
    ap.add_argument("--step", type=float, default=0.5)
    ap.add_argument("--below-floor", type=float, default=3.5,
                    help="first SNR point, dB below Semtech's floor (default 3.5)")
    ap.add_argument("--skip-curves", action="store_true")
    ap.add_argument("--runs", default="awgn,open,offsets",
                    help="comma-separated: awgn (CR 4/5 per SF), open (the open receiver's "
                    "configurations), offsets (±20 ppm and timing)")
    args = ap.parse_args()
    throughput()
    if args.skip_curves:
        return
    sfs = args.sf or list(range(7, 13))
    runs = set(args.runs.split(","))
    rows = []
    for sf in sfs if "awgn" in runs else ():
        floor = SEMTECH_FLOOR_DB[sf]
        rows.append((sf, 1, True, False,
                     *curve(sf, 1, True, False, args.frames, floor - args.below_floor, args.step,
                           40, sf)))
    for (sf, cr, soft), _ in OPEN_RECEIVER_DB.items():
        if sf in sfs and "open" in runs:
            start = SEMTECH_FLOOR_DB[sf] - args.below_floor
            rows.append((sf, cr, soft, False,
                         *curve(sf, cr, soft, False, args.frames, start, args.step, 40,
                               100 + sf)))
    for sf in sfs if "offsets" in runs else ():
        rows.append((sf, 1, True, True, *curve(sf, 1, True, True, args.frames,
                                               SEMTECH_FLOOR_DB[sf] - args.below_floor,
                                               args.step, 40, 200)))
    print("\n| SF | CR | decisions | channel | FER 10 % | FER 1 % | Semtech floor "
          "| open receiver |")
    print("|---|---|---|---|---|---|---|---|")
    for sf, cr, soft, offsets, s10, s1, _ in rows:
        ref = OPEN_RECEIVER_DB.get((sf, cr, soft))
        fmt = lambda v: "n/a" if v is None else f"{v:.1f} dB"  # noqa: E731
        print(f"| {sf} | 4/{4 + cr} | {'soft' if soft else 'hard'} | "
              f"{'±20 ppm, timing' if offsets else 'AWGN'} | {fmt(s10)} | {fmt(s1)} | "
              f"{SEMTECH_FLOOR_DB[sf]:.1f} dB | "
              f"{'—' if ref is None else ' / '.join(fmt(v) for v in ref)} |")


if __name__ == "__main__":
    main()
