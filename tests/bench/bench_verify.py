"""Benchmark: verify_poc over ~1,000,000 witness reports (issue 6: ≤ 120 s on the 2-core box).

Builds a network of hotspots on a jittered lattice in EU868 (Netherlands), then beacons spread
over 6-hour windows (one per hotspot per window) each with ~14 witnesses from the lattice
neighbourhood: real keys, real derived beacons, real signed protobuf reports (unless
--unsigned), realistic RSSI/SNR under the free-space bound, GPS fixes on half the reports, and
a few percent of faulty reports (bad RSSI, off frequency, late, duplicate, over-power beacon).
Then it times `verify_poc` over all of them with a MemoryContext (the payloads of each
`--batch` beacons regenerated at once, inside the timing), and separately the
`MemoryContext.record` bookkeeping the runner would do in storage.

    .venv/bin/python tests/bench/bench_verify.py                 # 1M witnesses
    .venv/bin/python tests/bench/bench_verify.py --witnesses 100000 --json
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import random
import sys
import time

from oracle.verifier.context import MemoryContext
from oracle.verifier.model import BeaconCase, HotspotRecord, WitnessCase
from oracle.verifier.params import VerifierParams
from oracle.verifier.pipeline import SiteCache, regenerate_payloads, verify_poc
from pocnet import geo, link, signing
from pocnet.beacon import derive_beacon, entropy_data
from pocnet.keys import Keypair
from pocnet.regions import get_plan
from pocnet.wire import reports_pb2

WINDOW_S = 6 * 3600
START_S = 1_767_225_600  # 2026-01-01 00:00 UTC, a window boundary
LATTICE_M = 1_500.0
NEIGHBOUR_RANGE = 3  # lattice steps: witnesses 1.5 .. ~6 km away
GAIN = 30
FAULT_RATE = 0.04
BEACON_FAULT_RATE = 0.02
FIX_RATE = 0.5


def _offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    dlat = math.degrees(north_m / geo.EARTH_RADIUS_M)
    dlon = math.degrees(east_m / (geo.EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lat + dlat, lon + dlon


class Network:
    def __init__(self, n_hotspots: int, rng: random.Random) -> None:
        side = math.ceil(math.sqrt(n_hotspots))
        self.side = side
        self.keys: list[Keypair] = []
        self.records: list[HotspotRecord] = []
        self.centres: list[tuple[float, float]] = []
        for i in range(n_hotspots):
            row, col = divmod(i, side)
            lat, lon = _offset(
                51.2,
                3.9,
                row * LATTICE_M + rng.uniform(-200, 200),
                col * LATTICE_M + rng.uniform(-200, 200),
            )
            cell = geo.latlng_to_cell(lat, lon, 12)
            kp = Keypair.from_seed(i.to_bytes(32, "big"))
            self.keys.append(kp)
            self.records.append(
                HotspotRecord(kp.public_key.to_bytes(), bytes(32), cell, GAIN, 5, "full", "EU868")
            )
            self.centres.append(geo.cell_to_latlng(cell))

    def neighbours(self, i: int) -> list[int]:
        row, col = divmod(i, self.side)
        out = []
        for dr in range(-NEIGHBOUR_RANGE, NEIGHBOUR_RANGE + 1):
            for dc in range(-NEIGHBOUR_RANGE, NEIGHBOUR_RANGE + 1):
                r, c = row + dr, col + dc
                j = r * self.side + c
                if (
                    (dr or dc)
                    and 0 <= r < self.side
                    and 0 <= c < self.side
                    and j < len(self.records)
                ):
                    out.append(j)
        return out


def _fix(rng: random.Random, centre: tuple[float, float]) -> reports_pb2.GpsFix | None:
    if rng.random() >= FIX_RATE:
        return None
    lat, lon = _offset(*centre, rng.uniform(-40, 40), rng.uniform(-40, 40))
    return reports_pb2.GpsFix(
        lat_e7=round(lat * 1e7),
        lon_e7=round(lon * 1e7),
        h_acc_mm=3_000,
        fix_type=reports_pb2.FIX_3D,
        satellites=10,
    )


def build(
    n_witnesses: int, per_beacon: int, n_hotspots: int, signed: bool, seed: int
) -> tuple[MemoryContext, list[tuple[BeaconCase, list[WitnessCase]]], Network]:
    rng = random.Random(seed)
    net = Network(n_hotspots, rng)
    ctx = MemoryContext(hotspots=net.records)
    for r in net.records:  # 1 h of reciprocity history before the run
        ctx.note_valid_witness(r.key, START_S * 1000 - 3_600_000)
        ctx.note_valid_beacon(r.key, START_S * 1000 - 3_600_000)
    plan = get_plan("EU868")
    pocs = []
    made = 0
    b = -1
    while made < n_witnesses:
        b += 1
        window, beaconer = divmod(b, n_hotspots)
        received_ms = (START_S + window * WINDOW_S) * 1000 + rng.randrange(
            WINDOW_S * 1000 - 300_000
        )
        entropy_ts = received_ms // 1000 - rng.randrange(5, 120)
        remote = entropy_data(entropy_ts, b.to_bytes(32, "big"))
        local = rng.randbytes(4)
        beacon = derive_beacon(remote, entropy_ts, local, plan, GAIN)
        tx_power = beacon.tx_power_dbm + (3 if rng.random() < BEACON_FAULT_RATE else 0)
        kp, rec = net.keys[beaconer], net.records[beaconer]
        report = reports_pb2.BeaconReport(
            pub_key=rec.key,
            local_entropy=local,
            remote_entropy=remote,
            data=beacon.data,
            frequency=beacon.frequency_hz,
            datarate=reports_pb2.DataRate.Value(beacon.datarate),
            tx_power=tx_power,
            timestamp=received_ms * 1_000_000,
        )
        fix = _fix(rng, net.centres[beaconer])
        if fix is not None:
            report.gps_fix.CopyFrom(fix)
        if signed:
            signing.sign(report, kp)
        bcase = BeaconCase(signing.report_id(report), report, received_ms, entropy_ts)
        want = min(per_beacon, n_witnesses - made)
        hood = net.neighbours(beaconer)
        chosen = rng.sample(hood, min(len(hood), want))
        while len(chosen) < want:  # a lattice corner with few neighbours: repeat some
            chosen.append(rng.choice(hood))
        witnesses = []
        for j in chosen:
            wrec = net.records[j]
            dist = geo.haversine_m(*net.centres[beaconer], *net.centres[j])
            bound = link.rssi_bound_dbm(tx_power, GAIN, GAIN, dist, beacon.frequency_hz)
            signal = math.floor((bound - rng.uniform(3, 30)) * 10)
            snr_limit = signal / 10 + 174 - 10 * math.log10(125_000) + 3
            snr = rng.randrange(-200, math.floor(min(10.0, snr_limit - 1) * 10))
            freq = beacon.frequency_hz
            rx = received_ms + rng.randrange(50, 2_500)
            fault = rng.randrange(4) if rng.random() < FAULT_RATE else -1
            if fault == 0:
                signal += 300
            elif fault == 1:
                freq += 200_000
            elif fault == 2:
                rx += 5_000
            w = reports_pb2.WitnessReport(
                pub_key=wrec.key,
                data=beacon.data,
                timestamp=rx * 1_000_000,
                tmst=rng.randrange(1 << 32),
                signal=signal,
                snr=snr,
                frequency=freq,
                datarate=report.datarate,
            )
            fix = _fix(rng, net.centres[j])
            if fix is not None:
                w.gps_fix.CopyFrom(fix)
            if signed:
                signing.sign(w, net.keys[j])
            witnesses.append(WitnessCase(signing.report_id(w), w, rx))
            if fault == 3:  # the same hotspot reports again, later: a duplicate
                again = reports_pb2.WitnessReport()
                again.CopyFrom(w)
                again.signal -= 10
                if signed:
                    signing.sign(again, net.keys[j])
                witnesses.append(WitnessCase(signing.report_id(again), again, rx + 40))
        made += len(witnesses)
        pocs.append((bcase, witnesses))
    return ctx, pocs, net


def run(ctx: MemoryContext, pocs, share_sites: bool, batch: int) -> dict:
    params = VerifierParams()
    sites = SiteCache() if share_sites else None
    reasons: collections.Counter[str] = collections.Counter()
    verify_s = record_s = 0.0
    cpu0 = time.process_time()
    payloads: dict[bytes, bytes] | None = None
    for n, (beacon, witnesses) in enumerate(pocs):
        t0 = time.perf_counter()
        if batch and n % batch == 0:  # the beacons of the next batch regenerated at once
            payloads = regenerate_payloads([b for b, _ in pocs[n : n + batch]])
        verdicts = verify_poc(
            beacon,
            witnesses,
            ctx,
            params,
            beacon.received_ms + 600_000,
            sites=sites,
            payloads=payloads,
        )
        t1 = time.perf_counter()
        ctx.record(beacon, witnesses, verdicts)
        record_s += time.perf_counter() - t1
        verify_s += t1 - t0
        for v in verdicts:
            reasons[f"{v.kind}:{'valid' if v.valid else v.reason.name}"] += 1
    return {
        "verify_s": round(verify_s, 2),
        "record_s": round(record_s, 2),
        "cpu_s": round(time.process_time() - cpu0, 2),
        "reasons": dict(sorted(reasons.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--witnesses", type=int, default=1_000_000)
    parser.add_argument("--per-beacon", type=int, default=14)
    parser.add_argument("--hotspots", type=int, default=20_000)
    parser.add_argument(
        "--unsigned", action="store_true", help="skip Ed25519 signing when building"
    )
    parser.add_argument("--no-site-cache", action="store_true", help="a fresh SiteCache per PoC")
    parser.add_argument(
        "--batch",
        type=int,
        default=1_000,
        help="beacons regenerated at once (vectorised ChaCha12); 0 = one at a time",
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    ctx, pocs, _ = build(
        args.witnesses, args.per_beacon, args.hotspots, not args.unsigned, args.seed
    )
    build_s = time.perf_counter() - t0
    n_w = sum(len(w) for _, w in pocs)
    result = run(ctx, pocs, share_sites=not args.no_site_cache, batch=args.batch)
    result.update(
        witnesses=n_w,
        beacons=len(pocs),
        hotspots=args.hotspots,
        signed=not args.unsigned,
        shared_site_cache=not args.no_site_cache,
        batch=args.batch,
        build_s=round(build_s, 1),
        witnesses_per_s=round(n_w / result["verify_s"]),
        us_per_witness=round(result["verify_s"] / n_w * 1e6, 1),
        loadavg_1m=os.getloadavg()[0],
        python=sys.version.split()[0],
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            if k != "reasons":
                print(f"{k:>18}: {v}")
        for k, v in result["reasons"].items():
            print(f"{k:>40}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
