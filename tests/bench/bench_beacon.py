"""Beacon derivation speed: µs per derive_beacon (docs/protocol.md §4 asks for well under 1 ms).

Run: .venv/bin/python tests/bench/bench_beacon.py [--n 20000]
Prints the median of several timed batches so a busy machine does not skew one figure.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time

from pocnet.beacon import derive_beacon
from pocnet.chacha import chacha_words
from pocnet.regions import get_plan


def _batch(n: int) -> float:
    plan = get_plan("EU868")
    remotes = [hashlib.sha256(i.to_bytes(4, "little")).digest() for i in range(n)]
    start = time.perf_counter()
    for i, remote in enumerate(remotes):
        derive_beacon(remote, 1_700_000_000 + i, b"\x01\x02\x03\x04", plan, 12)
    return (time.perf_counter() - start) / n * 1e6


def _chacha_block_us(n: int) -> float:
    key = bytes(32)
    start = time.perf_counter()
    for _ in range(n):
        chacha_words(key, 16, rounds=12)
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000, help="beacons per batch")
    parser.add_argument("--batches", type=int, default=5)
    args = parser.parse_args()
    per_beacon = [_batch(args.n) for _ in range(args.batches)]
    print(f"derive_beacon: {statistics.median(per_beacon):.1f} µs/beacon "
          f"(median of {args.batches} x {args.n}; min {min(per_beacon):.1f}, "
          f"max {max(per_beacon):.1f})")
    print(f"ChaCha12, 1 block alone: {_chacha_block_us(args.n):.1f} µs/block")


if __name__ == "__main__":
    main()
