"""Benchmark: one epoch of 1,000,000 hotspots and 10,000,000 shares (issue 15: ≤ 20 s, peak
memory ≤ 2 GB; issue 7 had 60 s and 4 GB). 1,000,000 beacons with 9 valid selected witnesses
each = 1 M beaconer shares + 9 M witness shares; beacons are streamed in batches of columns
(as the repository adapter yields them), density scales come from the clustered population of
bench_density, trust mixes 1 / 0.5 / 0.25.
Run: .venv/bin/python tests/bench/bench_epoch.py [HOTSPOTS] [WITNESSES_PER_BEACON]
"""

from __future__ import annotations

import os
import random
import resource
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np
from bench_density import population

from oracle.density.scale import density_scales
from oracle.rewards.epoch import RewardParams, compute_epoch
from oracle.rewards.manifest import build_manifest, manifest_bytes
from oracle.rewards.model import EpochShares, HotspotOwner, Interner, ShareColumns

LIMIT_S = 20.0
CHUNK = 1 << 16  # beacons whose witness indices are computed at once
LIMIT_BYTES = 2 * 1024**3
TRUSTS = (Decimal(1), Decimal(1), Decimal(1), Decimal("0.5"), Decimal("0.25"))


def shares(keys: list[bytes], per_beacon: int, seed: int = 3) -> EpochShares:
    """Beacon i is heard by `per_beacon` pseudo-random other hotspots, in columns as the
    database source hands them over: the keys interned once (hotspot i has id i), the
    witnesses' ids computed with numpy a chunk of beacons at a time, so the generator costs
    little and the timing is the engine's. No share sink reads report ids here: the columns
    leave them empty (the database source reads them)."""
    rng = random.Random(seed)
    n = len(keys)
    hotspots: Interner[bytes] = Interner()
    hotspots.ids(keys)
    trusts: Interner[Decimal | str] = Interner()
    trust_of = trusts.ids(list(TRUSTS))  # hotspot i's trust: TRUSTS[i % len(TRUSTS)]
    offsets = np.array([1 + rng.randrange(n - 1) for _ in range(4096)], np.int64)
    j = np.arange(per_beacon, dtype=np.int64)

    def batches() -> Iterator[ShareColumns]:
        for start in range(0, n, CHUNK):
            i = np.arange(start, min(n, start + CHUNK), dtype=np.int64)
            # witness j of beacon i: hotspot (i + offsets[(31 i + j) mod 4096]) mod n
            heard = ((i[:, None] + offsets[(i[:, None] * 31 + j) & 4095]) % n).ravel()
            yield ShareColumns(
                beacon_hotspots=i,
                beacon_trusts=trust_of[i % len(TRUSTS)],
                witness_counts=np.full(len(i), per_beacon, np.int64),
                witness_hotspots=heard,
                witness_trusts=trust_of[heard % len(TRUSTS)],
                beacon_reports=(),
                witness_reports=(),
            )

    return EpochShares(hotspots, trusts, batches())


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 9
    cells = population(n)
    keys = [b"\x01" + i.to_bytes(32, "big") for i in range(n)]
    owners = {
        k: HotspotOwner(k, (i % (n // 3 + 1)).to_bytes(32, "big"), c)
        for i, (k, c) in enumerate(zip(keys, cells, strict=True))
    }
    start, cpu = time.perf_counter(), time.process_time()
    scales = density_scales(cells)
    t_density, c_density = time.perf_counter() - start, time.process_time() - cpu
    result = compute_epoch(
        20_000, shares(keys, per), scales, owners.get, RewardParams(emission=10**17)
    )
    c_engine = time.process_time() - cpu - c_density
    manifest = build_manifest(result)
    data = manifest_bytes(manifest)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        f"epoch: {n} hotspots, {result.share_count} shares, {len(result.wallets)} wallets, "
        f"manifest {len(data) / 1e6:.1f} MB; density {t_density:.1f} s, "
        f"total {elapsed:.1f} s wall, {cpu:.1f} s CPU (density {c_density:.1f}, source and "
        f"engine {c_engine:.1f}, manifest {cpu - c_density - c_engine:.1f}) "
        f"(limit {LIMIT_S} s); peak RSS {peak / 1024**3:.2f} GB "
        f"(limit {LIMIT_BYTES / 1024**3:.0f} GB); "
        f"unallocated {result.unallocated} of {result.emission}; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    return 0 if elapsed <= LIMIT_S and peak <= LIMIT_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
