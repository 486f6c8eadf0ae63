"""One-way ranges: arrival.py's third look (its module docstring says why and how), for a
beacon heard by one witness, which has no time difference to read.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from oracle.detect.arrival_fit import (
    C_M_PER_NS,
    VOUCHED_TIERS,
    Fit,
    best_place,
    least_obs,
    local_m,
    spread_m,
)
from oracle.detect.grouped import group_count, group_median
from oracle.detect.history import History
from oracle.detect.model import DetectParams


def ranged(history: History, params: DetectParams, fits: dict[int, Fit]) -> None:
    """The third look (arrival.py's docstring): each hotspot not flagged, judged on its one-way
    ranges to vouched partners, without the receptions of the flagged (each keeps its own)."""
    ranges = Ranges(history, params)
    if ranges.size == 0:
        return
    flagged = np.zeros(len(history.hotspots), dtype=bool)
    flagged[[i for i, f in fits.items() if f.flagged]] = True
    median, count = ranges.pooled(flagged)
    vouched = ~flagged & (count >= params.tdoa_vouch_obs) & (
        np.nan_to_num(median, nan=np.inf) < params.tdoa_residual_ns)
    median, count = ranges.pooled(flagged, vouched)
    median = np.nan_to_num(median)
    off = ~flagged & np.logical_or.reduce([
        (count >= least_obs(params, least)) & (median >= getattr(params, bar))
        for least, bar in VOUCHED_TIERS["ranged"]])
    for i in np.flatnonzero(off).tolist():
        fit = ranges.fit(i, flagged, vouched)
        if fit.flagged:
            fits[i] = fit


class Ranges:
    """The prompt receptions as one-way ranges: q = the witness's stamp less the beacon's
    emission stamp, less the asserted distance over c, less its datarate's usual offset (the
    network's median q of beacons of that datarate: the time on air between a stamp taken at
    the end of the emission and one at the start of the reception, and whatever else every
    radio of the network does alike). Only receptions with |q| within the light time of
    tdoa_search_m are kept (no place within reach explains more), and of those only the ones
    whose beaconer's emission stamps and witness's reception stamps are on GPS time: at
    least range_timed_share of that hotspot's receptions, in that role, within it."""

    def __init__(self, history: History, params: DetectParams) -> None:
        self.history, self.params = history, params
        w = history.witnesses
        keep = np.flatnonzero(w.prompt(params.replay_ms))
        self.size = keep.size
        if self.size == 0:
            return
        n = len(history.hotspots)
        lag = (w.witness_timestamp_ms[keep] - w.beacon_timestamp_ms[keep]) * 1e6
        q = lag - w.distance_m[keep] / C_M_PER_NS
        rates, rate = np.unique(w.datarate[keep], return_inverse=True)
        usual = group_median(rate, q, rates.size)[rate]
        lag, q = lag - usual, q - usual
        beaconer, witness = w.beaconer[keep], w.witness[keep]
        timed = np.abs(q) <= params.tdoa_search_m / C_M_PER_NS
        share = params.range_timed_share
        emits = group_count(beaconer[timed], n) >= share * group_count(beaconer, n)
        hears = group_count(witness[timed], n) >= share * group_count(witness, n)
        on_gps = timed & emits[beaconer] & hears[witness]
        self.beaconer = beaconer[on_gps].astype(np.int64)
        self.witness = witness[on_gps].astype(np.int64)
        self.lag_ns, self.q_ns = lag[on_gps], q[on_gps]
        self.size = self.q_ns.size

    def pooled(self, excluded: NDArray[np.bool_], partners: NDArray[np.bool_] | None = None
               ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Per hotspot, (median |q|, how many), without the receptions of the excluded; with
        `partners`, only its receptions with one of them (NaN and 0 for none)."""
        n = len(self.history.hotspots)
        usable = ~excluded[self.beaconer] & ~excluded[self.witness]
        as_b, as_w = usable.copy(), usable.copy()
        if partners is not None:
            as_b &= partners[self.witness]
            as_w &= partners[self.beaconer]
        who = np.concatenate((self.beaconer[as_b], self.witness[as_w]))
        size = np.abs(np.concatenate((self.q_ns[as_b], self.q_ns[as_w])))
        return group_median(who, size, n), group_count(who, n)

    def fit(self, i: int, excluded: NDArray[np.bool_], partners: NDArray[np.bool_]) -> Fit:
        """Hotspot i's place by its ranges to `partners`, without the receptions of the
        excluded other than its own."""
        h = self.history.hotspots
        others = excluded.copy()
        others[i] = False
        usable = ~others[self.beaconer] & ~others[self.witness]
        mine_b = np.flatnonzero(usable & (self.beaconer == i) & partners[self.witness])
        mine_w = np.flatnonzero(usable & (self.witness == i) & partners[self.beaconer])
        rows = np.concatenate((mine_b, mine_w))
        partner = np.concatenate((self.witness[mine_b], self.beaconer[mine_w]))
        px, py = local_m(h, i, partner)
        lag = self.lag_ns[rows]

        def loss(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
            """Median |q| with i at each place (x[j], y[j])."""
            far = np.hypot(x[:, None] - px, y[:, None] - py) / C_M_PER_NS
            return np.median(np.abs(lag[None, :] - far), axis=1)

        # One range explains a circle of places alike, all at least |q| × c from the
        # asserted place: the fit lands on one of them.
        at_asserted, best, best_value = best_place(loss, self.params.tdoa_search_m)
        ids = np.unique(partner)
        spread = spread_m(*local_m(h, i, ids))
        return Fit(at_asserted, best_value, best[0], best[1], int(mine_b.size),
                   int(mine_w.size), int(ids.size), spread, self.params,
                   tuple(ids.tolist()), "ranged")
