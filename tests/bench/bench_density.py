"""Benchmark: hex density scaling for 1,000,000 hotspots (issue 15: ≤ 5 s; issue 7 had 20 s).

A clustered population like a real network: 200 "cities" with Gaussian spreads of a few km,
plus a rural sprinkle, and 10 % of hotspots co-located with another one.
Run: .venv/bin/python tests/bench/bench_density.py [N]
"""

from __future__ import annotations

import random
import sys
import time

from oracle.density.params import HIP104
from oracle.density.scale import density_scales
from pocnet import geo

LIMIT_S = 5.0


def population(n: int, seed: int = 7) -> list[int]:
    rng = random.Random(seed)
    cities = [
        (rng.uniform(-50, 60), rng.uniform(-120, 140), rng.uniform(0.01, 0.2)) for _ in range(200)
    ]
    cells: list[int] = []
    for i in range(n):
        if i and rng.random() < 0.1:
            cells.append(cells[rng.randrange(len(cells))])  # co-located
        elif rng.random() < 0.15:
            cells.append(geo.latlng_to_cell(rng.uniform(-55, 65), rng.uniform(-170, 170), 12))
        else:
            lat, lon, sd = cities[rng.randrange(len(cities))]
            cells.append(geo.latlng_to_cell(rng.gauss(lat, sd), rng.gauss(lon, sd), 12))
    return cells


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    cells = population(n)
    start, cpu = time.perf_counter(), time.process_time()
    scales = density_scales(cells, HIP104)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    distinct = len(set(scales.values()))
    print(f"density: {n} hotspots, {len(scales)} distinct cells, {distinct} distinct scales, "
          f"{elapsed:.2f} s wall, {cpu:.2f} s CPU (limit {LIMIT_S} s)")
    return 0 if elapsed <= LIMIT_S else 1


if __name__ == "__main__":
    sys.exit(main())
