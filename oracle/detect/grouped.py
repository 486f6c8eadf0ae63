"""Statistics per hotspot over long columns, without a Python loop per hotspot: sort once by
group, then read each group's slice by offsets."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def group_count(groups: NDArray[np.integer], n: int) -> NDArray[np.int64]:
    return np.bincount(groups, minlength=n).astype(np.int64)


def _middles(
    groups: NDArray[np.integer], values: NDArray[np.float64], n: int
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64]]:
    """(out of NaNs, groups that have values, their lower and upper middle values)."""
    out = np.full(n, np.nan)
    if values.size == 0:
        return out, np.zeros(n, dtype=bool), np.empty(0), np.empty(0)
    ordered = values[np.lexsort((values, groups))]
    counts = group_count(groups, n)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has = counts > 0
    lower = ordered[starts[has] + (counts[has] - 1) // 2]
    upper = ordered[starts[has] + counts[has] // 2]
    return out, has, lower, upper


def group_median(
    groups: NDArray[np.integer], values: NDArray[np.float64], n: int
) -> NDArray[np.float64]:
    """Median of `values` per group 0..n-1 (NaN for an empty group)."""
    out, has, lower, upper = _middles(groups, values, n)
    out[has] = (lower + upper) / 2
    return out


def group_std(
    groups: NDArray[np.integer], values: NDArray[np.float64], n: int
) -> NDArray[np.float64]:
    """Population standard deviation per group (NaN for an empty group)."""
    counts = group_count(groups, n).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(groups, weights=values, minlength=n) / counts
        square = np.bincount(groups, weights=values * values, minlength=n) / counts
        return np.sqrt(np.maximum(square - mean * mean, 0.0))


def group_mean(
    groups: NDArray[np.integer], values: NDArray[np.float64], n: int
) -> NDArray[np.float64]:
    counts = group_count(groups, n).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.bincount(groups, weights=values, minlength=n) / counts


def group_lower_median(
    groups: NDArray[np.integer], values: NDArray[np.float64], n: int
) -> NDArray[np.float64]:
    """The lower median per group (the middle value; of an even count, the lower of the two
    middle ones): of two honest clocks and a late copy, the honest value."""
    out, has, lower, _ = _middles(groups, values, n)
    out[has] = lower
    return out


def group_spread(
    groups: NDArray[np.integer], values: NDArray[np.float64], n: int
) -> NDArray[np.float64]:
    """max − min of `values` per group (inf for an empty group: no evidence of a small one)."""
    low = np.full(n, np.inf)
    high = np.full(n, -np.inf)
    np.minimum.at(low, groups, values)
    np.maximum.at(high, groups, values)
    return np.where(np.isfinite(low), high - low, np.inf)
