"""How often a rule finds a hotspot by chance alone, and the bar past chance.

A rule that names a sender among a beacon's candidates (replay.py's placings by arrival time)
names an honest candidate now and then by coincidence. Such chance findings are rare and
independent, so a hotspot's count of them is Poisson, with a mean in proportion to its
chances (the beacons it could have been named for): an honest hotspot among many replayers
has many chances and collects a few findings over a week, one far from them has none. A
fixed bar either denies the first or waits needlessly for the second. Here the bar is the
count that chance alone reaches with probability `false_alarm` or less, at the hotspot's own
mean: the network's chance rate (fitted on the history read, `fitted_rate`) times its
chances.

The rate is fitted on the hotspots a rule would not find anyway (counts at most `most`):
cheaters are found many times (a replayer's copies come every window), chance findings seldom
repeat, so the few hotspots above that say little of chance, and a Poisson truncated at
`most` is fitted by maximum likelihood on those at or below it.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

# Bisection on the rate (a probability per chance) to this relative precision.
_RATE_TOLERANCE = 1e-6


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


def fitted_rate(hits: NDArray[np.int64], chances: NDArray[np.int64], most: int,
                least: int = 1) -> float:
    """The rate p (findings per chance) of hits_i ~ Poisson(p · chances_i), fitted by
    maximum likelihood on the hotspots with chances and at most `most` hits (the Poisson
    truncated there). 0 (no rate known) when none of them was hit, or when fewer than
    `least` hotspots had chances: a few cannot tell chance from cheating."""
    keep = (chances > 0) & (hits <= most)
    x, c = hits[keep].astype(np.float64), chances[keep].astype(np.float64)
    if x.sum() == 0 or np.count_nonzero(chances) < least:
        return 0.0

    def score(p: float) -> float:
        """d/dp of the truncated log-likelihood: Σ x/p − Σ c · (1 − pmf(most)/cdf(most))."""
        mean = p * c
        pmf = np.exp(-mean)
        cdf = pmf.copy()
        for j in range(1, most + 1):
            pmf = pmf * mean / j
            cdf += pmf
        return float(x.sum() / p - (c * (1.0 - pmf / cdf)).sum())

    # The score falls with p, from positive near 0; a hotspot is found at most once a
    # chance, so the rate is at most 1.
    low, high = 1e-12, 1.0
    if score(high) > 0:
        return high
    while high - low > _RATE_TOLERANCE * high:
        mid = (low + high) / 2
        low, high = (mid, high) if score(mid) > 0 else (low, mid)
    return (low + high) / 2
