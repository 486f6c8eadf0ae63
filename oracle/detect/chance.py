"""How often a rule finds a hotspot by chance alone, and the bar past chance.

A rule that names a sender among a beacon's candidates (replay.py's placings by arrival
time) names an honest candidate now and then by coincidence. Such chance findings are rare
and independent, so an honest hotspot's count of them is Poisson, with a mean in proportion
to its chances (the beacons it could have been named for): an honest hotspot among many
replayers has many chances and collects a few findings over a week, one far from them has
none. A fixed bar either denies the first or waits needlessly for the second. Here a count
is past chance when chance alone reaches it with probability `false_alarm` or less
(`poisson_tail`), at the hotspot's own mean: the history's chance rate (`chance_rate`)
times its chances.

The history's hotspots are of two kinds: honest ones, found by chance at a low rate per
chance, and cheaters, found at a high one (a replayer's copies come every window: about a
quarter of its chances, measured). Early in a history many cheaters have been found only
once or twice, as often as chance finds an honest hotspot, so no bar on the count separates
them; their rates do. `chance_rate` fits the two-kind mixture of Poissons by expectation
maximisation and returns the lower rate.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

# Expectation maximisation: rounds, and the starting guess (the lower rate a quarter of the
# pooled one and the higher four times it; four hotspots in five of the lower kind).
_EM_ROUNDS = 200
_EM_START = (0.25, 4.0, 0.8)


def poisson_tail(k: int, mean: float) -> float:
    """P(X ≥ k) for X ~ Poisson(mean), summed upward from k (no cancellation in a small
    tail)."""
    if k <= 0:
        return 1.0
    if mean <= 0.0:
        return 0.0
    term = math.exp(-mean + k * math.log(mean) - math.lgamma(k + 1))
    total, j = 0.0, k
    while term > total * 1e-17:
        total += term
        j += 1
        term *= mean / j
    return min(total, 1.0)


def chance_rate(hits: NDArray[np.int64], chances: NDArray[np.int64], least: int = 1) -> float:
    """The lower rate p of the mixture hits_i ~ Poisson(p · chances_i) (a share π of the
    hotspots) or Poisson(q · chances_i) (the rest), fitted by expectation maximisation on
    the hotspots with chances. 0 (no rate known) when none was hit, or when fewer than
    `least` hotspots had chances: a few cannot tell chance from cheating."""
    keep = chances > 0
    x, c = hits[keep].astype(np.float64), chances[keep].astype(np.float64)
    if x.sum() == 0 or x.size < least:
        return 0.0
    pooled = x.sum() / c.sum()
    low, high, share = _EM_START[0] * pooled, _EM_START[1] * pooled, _EM_START[2]
    for _ in range(_EM_ROUNDS):
        # Log-odds of the higher kind for each hotspot (the x! terms cancel).
        odds = (math.log(1 - share) - math.log(share) + x * math.log(high / low)
                - (high - low) * c)
        lower = 1.0 / (1.0 + np.exp(np.clip(odds, -50.0, 50.0)))
        low = max(float((lower * x).sum() / (lower * c).sum()), 1e-12)
        high = max(float(((1 - lower) * x).sum() / max(((1 - lower) * c).sum(), 1e-12)), low)
        share = min(max(float(lower.mean()), 1e-6), 1 - 1e-6)
    return low
