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
    flagged_mask,
    least_obs,
    local_m,
    spread_m,
)
from oracle.detect.grouped import group_count, group_median
from oracle.detect.history import History
from oracle.detect.model import DetectParams


def ranged(ranges: Ranges, fits: dict[int, Fit]) -> None:
    """The third look (arrival.py's docstring): each hotspot not flagged, judged on its one-way
    ranges to the partners that vouch for it, without the receptions of the flagged (each keeps
    its own); again, while it finds more, without those it found too: a partner whose other
    ranges were with attenuators found here vouches once their ranges are left out. Then the
    fourth look (`crossed`)."""
    if ranges.size == 0:
        return
    history, params = ranges.history, ranges.params
    flagged = flagged_mask(fits, len(history.hotspots))
    lowest = min(getattr(params, bar) for _, bar in VOUCHED_TIERS["ranged"])
    found = True
    while found:
        found = False
        by = ranges.by_hotspot(flagged)
        for i in np.flatnonzero(~flagged & by.any_past(lowest)).tolist():
            vouchers = by.vouchers(i, params)
            off = by.size_with(i, vouchers)
            if off.size and any(off.size >= least_obs(params, least)
                                and float(np.median(off)) >= getattr(params, bar)
                                for least, bar in VOUCHED_TIERS["ranged"]):
                fit = ranges.fit(i, flagged, vouchers)
                if fit.flagged:
                    fits[i] = fit
                    found = True
        flagged = flagged_mask(fits, len(history.hotspots))
    crossed(ranges, fits)


def refuted_edges(ranges: Ranges, flagged: NDArray[np.bool_]
                  ) -> list[tuple[int, int, int, float, float]]:
    """The pairs, neither flagged, whose ranges with each other refute their asserted
    distance: as many as a "ranged" bar asks, their median |q| past its bar, and one of the
    two ranged with no one else. Which of the two is not where it says, nothing else may
    tell: a pair that hears no one else (on the whole 2022 population, most of the
    attenuators the ranges miss) has no voucher, and its ranges lie about both alike. A
    hotspot whose stamps are all a few µs off (a delay its radio adds) refutes every pair of
    its own, but so many partners, each ranged with others, are not such a pair. Each as (a,
    b, ranges, median |q| ns, median q ns: < 0 when they stand nearer each other than they
    assert)."""
    if ranges.size == 0:
        return []
    pairs = _Pairs(ranges, flagged)
    return [(a, b, int(pairs.count[j]), float(pairs.size[j]), float(pairs.signed[j]))
            for j, a, b in pairs.refuted()]


def crossed(ranges: Ranges, fits: dict[int, Fit]) -> None:
    """The fourth look (arrival.py's docstring): each hotspot not flagged that refuted pairs
    with range_crossed_partners partners or more, each ranging with no one else, name as
    their common end, flagged when one place explains its ranges with every partner it
    ranged with (each partner's median |q| within tdoa_fitted_ns there). Two lone partners
    that each say it stands elsewhere, and agree where, are one hotspot's lie, not two
    partners' (a liar's own pair says nothing of anyone else): the attenuator heard by two
    honest hotspots that hear no one else. Two liars hearing one honest hotspot that hears
    no one else agree on a place for it only by chance, and any other partner it ranged
    with, where they say it is not, is to be explained too."""
    flagged = flagged_mask(fits, len(ranges.history.hotspots))
    pairs = _Pairs(ranges, flagged)
    lone: dict[int, int] = {}
    for _, a, b in pairs.refuted():
        for end, partner in ((a, b), (b, a)):
            if pairs.ranged_with[partner] == 1:
                lone[end] = lone.get(end, 0) + 1
    for i, count in sorted(lone.items()):
        if count >= ranges.params.range_crossed_partners:
            fit = ranges.fit(i, flagged, ~flagged, tier="crossed")
            if fit.flagged:
                fits[i] = fit


class _Pairs:
    """The ranges of each pair of hotspots neither flagged: their count, median |q| and
    median q, and how many partners each hotspot ranged with."""

    def __init__(self, ranges: Ranges, flagged: NDArray[np.bool_]) -> None:
        self.params = ranges.params
        keep = ~flagged[ranges.beaconer] & ~flagged[ranges.witness]
        n = self.n = len(ranges.history.hotspots)
        one = np.minimum(ranges.beaconer[keep], ranges.witness[keep])
        other = np.maximum(ranges.beaconer[keep], ranges.witness[keep])
        self.pairs, inverse = np.unique(one * n + other, return_inverse=True)
        self.count = group_count(inverse, self.pairs.size)
        self.ranged_with = group_count(
            np.concatenate((self.pairs // n, self.pairs % n)), n)
        self.size = group_median(inverse, np.abs(ranges.q_ns[keep]), self.pairs.size)
        self.signed = group_median(inverse, ranges.q_ns[keep], self.pairs.size)

    def refuted(self) -> list[tuple[int, int, int]]:
        """(index, a, b) of each pair past a "ranged" bar, one of the two ranging with no one
        else."""
        past = np.zeros(self.pairs.size, dtype=bool)
        for least, bar in VOUCHED_TIERS["ranged"]:
            past |= ((self.count >= least_obs(self.params, least))
                     & (self.size >= getattr(self.params, bar)))
        a, b = self.pairs // self.n, self.pairs % self.n
        past &= (self.ranged_with[a] == 1) | (self.ranged_with[b] == 1)
        return [(j, int(a[j]), int(b[j])) for j in np.flatnonzero(past).tolist()]


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

    def by_hotspot(self, excluded: NDArray[np.bool_]) -> ByHotspot:
        """Each hotspot's |q| with each partner, both roles, without the receptions of the
        excluded."""
        usable = ~excluded[self.beaconer] & ~excluded[self.witness]
        who = np.concatenate((self.beaconer[usable], self.witness[usable]))
        other = np.concatenate((self.witness[usable], self.beaconer[usable]))
        size = np.abs(np.concatenate((self.q_ns[usable], self.q_ns[usable])))
        return ByHotspot(who, other, size, len(self.history.hotspots))

    def fit(self, i: int, excluded: NDArray[np.bool_], partners: NDArray[np.bool_],
            tier: str = "ranged") -> Fit:
        """Hotspot i's place by its ranges to `partners`, without the receptions of the
        excluded other than its own: by the median of them all ("ranged"), or by the
        farthest off of the partners' medians ("crossed": each partner's are explained)."""
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

        ids = np.unique(partner)

        def loss(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
            """Median |q| with i at each place (x[j], y[j]): of them all, or the largest
            partner's."""
            far = np.hypot(x[:, None] - px, y[:, None] - py) / C_M_PER_NS
            off = np.abs(lag[None, :] - far)
            if tier == "ranged":
                return np.median(off, axis=1)
            return np.max([np.median(off[:, partner == p], axis=1) for p in ids], axis=0)

        # One range explains a circle of places alike, all at least |q| × c from the
        # asserted place: the fit lands on one of them.
        at_asserted, best, best_value = best_place(loss, self.params.tdoa_search_m)
        spread = spread_m(*local_m(h, i, ids))
        return Fit(at_asserted, best_value, best[0], best[1], int(mine_b.size),
                   int(mine_w.size), int(ids.size), spread, self.params,
                   tuple(ids.tolist()), tier)


class ByHotspot:
    """Each hotspot's ranges, in both roles, with the partner of each: sorted by hotspot, each
    one's read by offsets."""

    def __init__(self, who: NDArray[np.int64], other: NDArray[np.int64],
                 size_ns: NDArray[np.float64], n: int) -> None:
        order = np.argsort(who, kind="stable")
        self.other, self.size_ns = other[order], size_ns[order]
        self.start = np.searchsorted(who[order], np.arange(n + 1))

    def any_past(self, bar_ns: float) -> NDArray[np.bool_]:
        """Per hotspot, whether any of its |q| is bar_ns or more (a median of them can be)."""
        past = np.concatenate(([0], np.cumsum(self.size_ns >= bar_ns)))
        return past[self.start[1:]] > past[self.start[:-1]]

    def vouchers(self, i: int, params: DetectParams) -> NDArray[np.bool_]:
        """Hotspot i's partners that vouch for it: each with tdoa_vouch_obs ranges or more
        with hotspots other than i, their median |q| under tdoa_residual_ns. Without i's own:
        an attenuator's ranges with its only voucher are that voucher's too, and would count
        against it as much as they do against the attenuator."""
        out = np.zeros(self.start.size - 1, dtype=bool)
        mine = self.other[self.start[i]:self.start[i + 1]]
        for p in np.unique(mine).tolist():
            theirs = slice(self.start[p], self.start[p + 1])
            size = self.size_ns[theirs][self.other[theirs] != i]
            out[p] = (size.size >= params.tdoa_vouch_obs
                      and float(np.median(size)) < params.tdoa_residual_ns)
        return out

    def size_with(self, i: int, partners: NDArray[np.bool_]) -> NDArray[np.float64]:
        """Hotspot i's |q| with the `partners`."""
        mine = slice(self.start[i], self.start[i + 1])
        return self.size_ns[mine][partners[self.other[mine]]]
