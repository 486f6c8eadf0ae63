"""The place fit of arrival.py's three looks: a hotspot's verdict at its asserted place and at
the place that best explains its arrival times (Fit), each look's bars, the grid search, and
its partners in metres about its asserted place.

Apart from arrival.py so that its third look, one-way ranges (ranges.py), shares them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from oracle.detect.history import M_PER_DEG, Hotspots
from oracle.detect.model import DetectParams

C_M_PER_NS = 0.299_792_458
# The fit's grids: 1 km over the search area, then 200 m and 50 m around the best places.
_STEPS_M = (1_000.0, 200.0, 50.0)
_REFINED = 5  # coarse places refined


class Fit:
    """One hotspot's verdict: its arrivals at the asserted place and at the fitted one.

    `tier`: "placed" (all its receptions, by enough partners spread about), "sparse" (time
    differences against vouched partners only) or "ranged" (one-way ranges against vouched
    partners only): arrival.py's docstring's three tests."""

    def __init__(self, asserted_ns: float, fitted_ns: float, east_m: float, north_m: float,
                 as_beaconer: int, as_witness: int, partners: int, spread_m: float,
                 params: DetectParams, partner_ids: tuple[int, ...] = (),
                 tier: str = "placed") -> None:
        self.asserted_ns, self.fitted_ns = asserted_ns, fitted_ns
        self.partner_ids = partner_ids
        self.east_m, self.north_m = east_m, north_m
        self.far_m = math.hypot(east_m, north_m)
        self.as_beaconer, self.as_witness = as_beaconer, as_witness
        self.partners, self.spread_m = partners, spread_m
        self.tier = tier
        explained = bool(self.far_m >= params.tdoa_far_m
                         and fitted_ns <= params.tdoa_fitted_ns
                         and fitted_ns <= params.tdoa_explained * asserted_ns)
        obs = as_beaconer + as_witness
        if tier == "placed":
            self.flagged = bool(explained and obs >= params.tdoa_min_obs
                                and partners >= params.tdoa_min_partners
                                and spread_m >= params.tdoa_spread_m
                                and asserted_ns >= params.tdoa_residual_ns)
        else:  # against vouched partners only, however few
            self.flagged = explained and any(
                obs >= least_obs(params, least) and asserted_ns >= getattr(params, off)
                for least, off in VOUCHED_TIERS[tier])


def flagged_mask(fits: dict[int, Fit], n: int) -> NDArray[np.bool_]:
    """Of n hotspots, those whose fit is flagged."""
    out = np.zeros(n, dtype=bool)
    out[[i for i, fit in fits.items() if fit.flagged]] = True
    return out


# The bars of one-way ranges: (the least ranges, the least median |q|), any of them met.
RANGE_BARS: tuple[tuple[str | int, str], ...] = (
    ("range_obs", "range_ns"), (1, "range_one_ns"), ("range_some_obs", "range_some_ns"),
    ("range_many_obs", "range_many_ns"))
# The tiers judged against chosen partners (vouched, or each refuting the hotspot alone), each
# by its bars: (the least residuals, the least median |residual|), any of them met.
VOUCHED_TIERS: dict[str, tuple[tuple[str | int, str], ...]] = {
    "sparse": (("tdoa_sparse_obs", "tdoa_sparse_ns"),),
    "ranged": RANGE_BARS,
    "crossed": RANGE_BARS,
}


def least_obs(params: DetectParams, least: str | int) -> int:
    return least if isinstance(least, int) else int(getattr(params, least))


def local_m(h: Hotspots, i: int, k: NDArray[np.int64]
            ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Hotspots k's asserted places in metres east and north of hotspot i's (flat between
    each pair: partners lie within the fit's reach)."""
    lat0, lon0 = float(h.lat[i]), float(h.lon[i])
    cos = np.cos(np.radians((h.lat[k] + lat0) / 2))
    return (h.lon[k] - lon0) * M_PER_DEG * cos, (h.lat[k] - lat0) * M_PER_DEG


def spread_m(x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    """Root-mean-square distance of the places (x, y) from their centre; 0 for none."""
    return float(np.sqrt(np.mean((x - x.mean()) ** 2 + (y - y.mean()) ** 2))) if x.size else 0.0


Loss = Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]]


def best_place(loss: Loss, reach_m: float, around: tuple[float, float] | None = None
                ) -> tuple[float, tuple[float, float], float]:
    """(loss at the asserted place, the place (m east, north of it) of least loss, its loss).

    A coarse grid over `reach_m` about the asserted place, then finer ones around its best
    few places (a median's landscape has several basins; the right one may be second on a
    coarse step). With `around` (a place fitted before), refined around that place only."""
    at_asserted = float(loss(np.zeros(1), np.zeros(1))[0])
    if around is None:
        ticks = np.arange(-reach_m, reach_m + _STEPS_M[0] / 2, _STEPS_M[0])
        gx, gy = (a.ravel() for a in np.meshgrid(ticks, ticks))
        starts = np.argsort(loss(gx, gy), kind="stable")[:_REFINED]
        places = list(zip(gx[starts].tolist(), gy[starts].tolist(), strict=True))
    else:
        places = [around]
    best, best_value = (0.0, 0.0), at_asserted
    for coarse, step in itertools.pairwise(_STEPS_M):
        ticks = np.arange(-coarse, coarse + step / 2, step)
        tx, ty = (a.ravel() for a in np.meshgrid(ticks, ticks))
        fx = np.concatenate([x + tx for x, _ in places])
        fy = np.concatenate([y + ty for _, y in places])
        value = loss(fx, fy)
        j = int(np.argmin(value))
        places = [(float(fx[j]), float(fy[j]))]
        if value[j] < best_value:
            best, best_value = places[0], float(value[j])
    return at_asserted, best, best_value
