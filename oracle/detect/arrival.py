"""Where a hotspot stands, by when its beacons and the beacons it hears arrive.

An attenuator lets a hotspot assert a place a few km from where it stands, its GPS spoofed to
match: the loss hides the strength of its links, and who hears whom moves little
(`position.py`). Arrival times it cannot hide. Every witness stamps when it received a beacon,
on GPS time to about a µs (a concentrator's `tmst` counter; `sim_radio/reception.py` says
what real hotspots stamp); the signal crossed the distance at c, 3.34 µs a km. The beacon's
own emission time is not known, but for one beacon every witness i reports

    t_i = T + |x_b − x_i| / c + e_i        (T the emission, e_i the stamp's error)

so r_i = t_i − |a_b − a_i| / c, computed with the *asserted* places a, is the same T for every
witness when everyone is where they say (up to e_i). A beaconer 3 km off spreads the r_i of
its beacons by up to 2 × 3 km / c = 20 µs; a witness 3 km off has an r of its own, off the
others' by the change in its distance to the beaconer. Each reception's residual is its r less
the median r of its beacon's other receptions (the robust estimate of T; its own r left out,
or one of three residuals would be 0 by construction): a few lying witnesses move a median
little, and their own residuals are theirs.

Per hotspot, its residuals as beaconer (the witnesses' r of its beacons: time differences of
arrival) and as witness (its r against the other witnesses': a range to each beaconer) are
pooled. Their median absolute value is a quarter of a µs for an honest hotspot on GPS time
(stamps rounded to the µs plus 100 ns of error: σ ≈ 0.3 µs a stamp), several µs for one
asserted a km or more away. Those past `tdoa_residual_ns` are fitted: the place p (a grid
within `tdoa_search_m` of the asserted one, then a finer one around the best) that minimises
the median absolute residual, its beacons' r recomputed with p for it, its own r as witness
with p. Flagged when the fit is `tdoa_far_m` or more from the asserted place and explains the
arrivals as an honest hotspot's are (its median absolute residual ≤ `tdoa_fitted_ns`, and at
most `tdoa_explained` of the asserted place's), with
`tdoa_min_obs` residuals from `tdoa_min_partners` other hotspots spread `tdoa_spread_m` or
more about their centre (witnesses all in one spot cannot place anyone: a cluster of liars
could frame a beaconer).

A hotspot with too few residuals or partners for that (a beacon or two heard by one or two
others: most of the attenuators on the whole real 2022 population, docs/benchmarks.md, issue
13) gets a second look, on the receptions whose other hotspots (the beaconer of a beacon it
heard, the witnesses it is compared with) are all *vouched for*: each has ≥ `tdoa_vouch_obs`
residuals of its own with a median |residual| under `tdoa_residual_ns`. A reception's
residual lies about whoever in its beacon is not where it says (with two witnesses, one liar
puts both residuals off), so against unproven partners an offset may be theirs; against
vouched ones it is the hotspot's own. It is flagged ("sparse") from `tdoa_sparse_obs` such
residuals whose median |residual| is `tdoa_sparse_ns` or more (900 m of light, 3 × the first
test's) and that a place `tdoa_far_m` away explains as above, however few its partners: from
one or two the fitted place is not where it stands (two ranges meet twice, one range anywhere
on a circle), but its asserted distances are refuted. A single-channel radio's stamps (σ 1 µs)
pass that from 2 residuals ~3 times in 10⁵ (drawn), a concentrator's never. The hotspot judged
needs no voucher, and its own residuals count in its partners' medians (a liar only makes its
partners look less reliable); the vouchers are counted without the hotspots flagged by the
first test.

A beacon heard by one witness has no time difference, and most of the attenuators the first
two tests miss on the whole 2022 population have only such beacons (docs/benchmarks.md, issue
13). What it has is a range: the beacon report's own `timestamp` is taken at its emission, so
a witness's stamp less it is the time of flight, up to an offset every beacon of a datarate
shares (a report stamped at the end of the emission, a reception at its start: the time on
air). The third look ("ranged") reads, for each reception,

    q = t_w − t_b − |a_b − a_w| / c − u(datarate)     (u: the network's median of the rest)

which is a stamp's error for honest hotspots and (|x_b − x_w| − |a_b − a_w|) / c for a pair
of which one is not where it says: −6.5 µs at the median for an attenuator 3 km off, from a
single reception. Each hotspot not flagged is judged on its q with the partners that vouch
for it (as the sparse test's bars: `tdoa_vouch_obs` of their own, median |q| under
`tdoa_residual_ns`, but counted without their ranges with the hotspot judged: an attenuator
whose only voucher hears little else would otherwise spoil that voucher's median with its own
offset), both as beaconer and as witness, and flagged from `range_obs` whose median |q| is
`range_ns` or more, from one past `range_one_ns`, or from `range_some_obs` past
`range_some_ns` or `range_many_obs` past `range_many_ns` (more ranges a little off: a partner
on a bearing across the lie), and that a place ≥ `tdoa_far_m` away explains as above (every
place that explains one range is on a circle at least |q| × c from the asserted place: the
asserted distance is refuted). It is judged again, while it finds more, without the
receptions of those it found: a partner whose other ranges were with them vouches then.

A pair whose ranges with each other pass one of those bars, neither flagged, one of the two
ranging with no one else, refutes its asserted distance, and which of the two is off is not
in it: the link is denied (`range_refuted`), not either hotspot. But when
`range_crossed_partners` such lone partners or more each refute the same hotspot, and one
place explains its ranges with every partner it ranged with (each partner's median |q|
within `tdoa_fitted_ns` there: a median over them all would follow the partner with most
ranges), the lie is that hotspot's, not each partner's: the fourth look ("crossed"). Two
liars each hearing only one honest hotspot agree on a place for it by chance only, and a
partner that vouches where it asserts must be explained too.

That needs the beaconer's emission stamp on GPS time to the µs. The simulator stamps it so
(the end of the emission, exactly), and so does a hotspot whose concentrator has a GPS time
reference: it sends its beacon at a GPS millisecond (`tmms`) and reports that instant plus the
frame's time on air (hotspot/beaconer.py, firmware_bridge/semtech_udp/radio.py). A radio
without one sends at once and the report is stamped by the host's clock when the radio
confirms, milliseconds late. Such stamps fall outside the light time of `tdoa_search_m` and
are left out: only a hotspot with `range_timed_share` of its receptions in a role (as
beaconer, as witness) within it is read in that role, so an unlucky host clock with a few
stamps inside is not judged on them. On those hotspots the test is blind, not wrong.

Clocks that are not on GPS time carry no such information: stamps more than
`tdoa_outlier_ns` from their beacon's median (a relay's copy, 150 ms late; an NTP clock,
milliseconds off) are left out before anything is judged. Noisier clocks make the detector
blind, not wrong: their residuals are large at every place, so no place explains them.

As `position.py`, the test runs twice: the second time without the receptions of the hotspots
the first one flagged (their asserted places are wrong, and so would be the medians they join),
except each flagged hotspot's own.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from oracle.detect.arrival_fit import (
    C_M_PER_NS,
    Fit,
    best_place,
    flagged_mask,
    local_m,
    spread_m,
)
from oracle.detect.grouped import group_count, group_median
from oracle.detect.history import History, fitted_place
from oracle.detect.model import DetectParams, Finding
from oracle.detect.ranges import Ranges, ranged, refuted_edges


def arrival(history: History, params: DetectParams) -> list[Finding]:
    h = history.hotspots
    ranges = Ranges(history, params)
    fits = judge(history, params, ranges)
    flagged = flagged_mask(fits, len(h))
    return [
        Finding(
            detector="arrival_fit",
            hotspots=(h.keys[i],),
            score=float(min(fit.asserted_ns / params.tdoa_residual_ns,
                            fit.far_m / params.tdoa_far_m)),
            evidence={
                # Where the arrival times say it stands, and how well each place explains them.
                **fitted_place(float(h.lat[i]), float(h.lon[i]), fit.east_m, fit.north_m),
                "fitted_from_asserted_m": round(fit.far_m),
                "median_residual_ns_at_asserted": round(fit.asserted_ns),
                "median_residual_ns_at_fitted": round(fit.fitted_ns),
                "residuals_as_beaconer": fit.as_beaconer,
                "residuals_as_witness": fit.as_witness,
                "partners": fit.partners,
                # "placed": from all its receptions, by ≥ tdoa_min_partners spread about;
                # "sparse": from those whose other hotspots are vouched for (module docstring).
                # "ranged": from one-way ranges to vouched partners (module docstring).
                # "crossed": from ranges to lone partners that each refute it alike.
                "tier": fit.tier,
            },
        )
        for i, fit in fits.items() if fit.flagged
    ] + [
        # A pair's own ranges refute its asserted distance, and nothing says which of the
        # two is off: the link is denied, not either hotspot (oracle/detect/policy.py).
        Finding(
            detector="range_refuted",
            hotspots=tuple(sorted((h.keys[a], h.keys[b]))),
            score=size_ns / params.range_ns,
            evidence={
                "ranges": count,
                "median_abs_range_offset_ns": round(size_ns),
                # Less than 0: they stand nearer each other than they assert.
                "median_range_offset_m": round(offset_ns * C_M_PER_NS),
                "asserted_distance_m": round(h.distance_m(a, b)),
            },
        )
        for a, b, count, size_ns, offset_ns in refuted_edges(ranges, flagged)
    ]


def judge(history: History, params: DetectParams, ranges: Ranges | None = None
          ) -> dict[int, Fit]:
    """The hotspots fitted (those whose arrivals at the asserted place are off), by index;
    `ranges`: the history's, when the caller reads them too."""
    rows = _Rows(history, params)
    if rows.size == 0:
        return {}
    if ranges is None:
        ranges = Ranges(history, params)
    none = np.zeros(len(history.hotspots), dtype=bool)
    fits = {i: rows.fit(i, none) for i in rows.suspects(none)}
    flagged = flagged_mask(fits, len(history.hotspots))
    if not flagged.any():
        _sparse(rows, fits)
        ranged(ranges, fits)
        return fits
    # Again without the receptions of the flagged (each keeps its own), for every hotspot
    # that is off without them, and for the flagged themselves.
    again = set(rows.suspects(flagged)) | set(np.flatnonzero(flagged).tolist())
    for i in sorted(again):
        others = flagged.copy()
        others[i] = False
        before = fits.get(i)
        if before is not None:  # near its first fit, and everywhere if not found there
            fits[i] = rows.fit(i, others, (before.east_m, before.north_m))
        if before is None or not fits[i].flagged:
            fits[i] = rows.fit(i, others)
    _sturdy(rows, fits, flagged, none)
    _sparse(rows, fits)
    ranged(ranges, fits)
    return fits


def _sparse(rows: _Rows, fits: dict[int, Fit]) -> None:
    """The second look (module docstring): each hotspot off at its asserted place and not
    flagged, judged on its receptions with vouched partners only, without the receptions of
    the flagged (each keeps its own)."""
    flagged = flagged_mask(fits, len(rows.history.hotspots))
    median, count = rows.pooled(flagged)
    median = np.nan_to_num(median)
    p = rows.params
    unvouched = flagged | (count < p.tdoa_vouch_obs) | (median >= p.tdoa_residual_ns)
    most = 2 * p.tdoa_search_m / C_M_PER_NS
    off = ~flagged & (count >= p.tdoa_sparse_obs) & (median >= p.tdoa_residual_ns) & (
        median <= most)
    for i in np.flatnonzero(off).tolist():
        others = unvouched.copy()
        others[i] = False
        fit = rows.fit(i, others, tier="sparse")
        if fit.flagged:
            fits[i] = fit


def _sturdy(rows: _Rows, fits: dict[int, Fit], excluded: NDArray[np.bool_],
            none: NDArray[np.bool_]) -> None:
    """Unflag the verdicts on fewer than tdoa_sturdy_partners partners that fall with one
    of the partners that are off themselves left out. A partner asserting a wrong place (a
    false location, an attenuator, keys behind one antenna) is off in every beacon it shares
    with the hotspot, and of three or four stamps a beacon it moves the others' median: with
    few partners, a place kilometres off then explains an honest hotspot's arrivals (three
    witnesses of a beaconer always meet somewhere: T and a place are three unknowns). Such
    a partner is off with all its partners (its pooled median |residual| past
    tdoa_residual_ns, however few its residuals); an honest partner with others of its own
    is not, and is kept."""
    median, _ = rows.pooled(none)
    off = np.nan_to_num(median) >= rows.params.tdoa_residual_ns
    for i, fit in fits.items():
        if not fit.flagged or fit.partners >= rows.params.tdoa_sturdy_partners:
            continue
        others = excluded.copy()
        others[i] = False
        for partner in (p for p in fit.partner_ids if off[p]):
            without = others.copy()
            without[partner] = True
            again = rows.fit(i, without, (fit.east_m, fit.north_m))
            if not again.flagged and not (again := rows.fit(i, without)).flagged:
                fit.flagged = False
                break


class _Rows:
    """The prompt receptions with their beacon, both hotspots and r at the asserted places,
    in ns from the first stamp of their beacon (float ms keep ~0.24 µs at today's times)."""

    def __init__(self, history: History, params: DetectParams) -> None:
        self.history, self.params = history, params
        w = history.witnesses
        keep = np.flatnonzero(w.prompt(params.replay_ms))
        self.size = keep.size
        if self.size == 0:
            return
        self.beacon = w.beacon[keep].astype(np.int64)  # numbered densely by the History
        self.beaconer = w.beaconer[keep].astype(np.int64)
        self.witness = w.witness[keep].astype(np.int64)
        stamp = w.witness_timestamp_ms[keep]
        first = np.full(int(self.beacon.max()) + 1, np.inf)
        np.minimum.at(first, self.beacon, stamp)
        self.t_ns = (stamp - first[self.beacon]) * 1e6
        self.r_ns = self.t_ns - w.distance_m[keep] / C_M_PER_NS
        order = np.argsort(self.beacon, kind="stable")
        self._order = order
        self._starts = np.searchsorted(self.beacon[order], np.arange(first.size + 1))

    def _beacons_of(self, i: int) -> NDArray[np.int64]:
        """The beacons hotspot i sent or heard (found when it is fitted: few are)."""
        return np.unique(self.beacon[(self.beaconer == i) | (self.witness == i)])

    def _residuals(self, usable: NDArray[np.bool_]) -> tuple[NDArray[np.float64],
                                                               NDArray[np.bool_]]:
        """(r less the median r of the other rows of its beacon, the rows judged): rows
        within tdoa_outlier_ns of their beacon's median, of beacons with tdoa_min_witnesses
        such rows."""
        beacons = int(self.beacon.max()) + 1
        b, r = self.beacon[usable], self.r_ns[usable]
        centre = group_median(b, r, beacons)
        near = np.abs(r - centre[b]) <= self.params.tdoa_outlier_ns
        enough = group_count(b[near], beacons) >= self.params.tdoa_min_witnesses
        judged = np.zeros(self.size, dtype=bool)
        judged[np.flatnonzero(usable)[near & enough[b]]] = True
        rows = np.flatnonzero(judged)
        out = np.full(self.size, np.nan)
        out[rows] = self.r_ns[rows] - _others_median(self.beacon[rows], self.r_ns[rows])
        return out, judged

    def pooled(self, excluded: NDArray[np.bool_]) -> tuple[NDArray[np.float64],
                                                          NDArray[np.int64]]:
        """Per hotspot, (median |residual| at the asserted places, residuals), without the
        receptions of the excluded (NaN and 0 for a hotspot with none)."""
        usable = ~excluded[self.beaconer] & ~excluded[self.witness]
        residual, judged = self._residuals(usable)
        n = len(self.history.hotspots)
        who = np.concatenate((self.beaconer[judged], self.witness[judged]))
        size = np.abs(np.concatenate((residual[judged], residual[judged])))
        return group_median(who, size, n), group_count(who, n)

    def suspects(self, excluded: NDArray[np.bool_]) -> list[int]:
        """Hotspots (not excluded) whose pooled median |residual| at the asserted places,
        without the receptions of the excluded, is past tdoa_residual_ns."""
        median, count = self.pooled(excluded)
        # No place within tdoa_search_m moves a stamp by more than 2 × tdoa_search_m / c:
        # residuals larger than that are clocks, not places, and are not fitted.
        most = 2 * self.params.tdoa_search_m / C_M_PER_NS
        off = ((count >= self.params.tdoa_min_obs) & ~excluded
               & (np.nan_to_num(median) >= self.params.tdoa_residual_ns) & (median <= most))
        return np.flatnonzero(off).tolist()

    def fit(self, i: int, excluded: NDArray[np.bool_],
            around: tuple[float, float] | None = None, tier: str = "placed") -> Fit:
        """Hotspot i's place by its arrivals, without the receptions of the excluded; with
        `around` (m east and north of the asserted place), searched near there only."""
        h = self.history.hotspots
        beacons = self._beacons_of(i)
        rows = np.concatenate([self._order[self._starts[b]:self._starts[b + 1]]
                               for b in beacons.tolist()])
        rows = rows[~excluded[self.beaconer[rows]] & ~excluded[self.witness[rows]]]
        usable = np.zeros(self.size, dtype=bool)
        usable[rows] = True
        _, judged = self._residuals(usable)
        rows = rows[judged[rows]]
        mine_b = rows[self.beaconer[rows] == i]  # its beacons' receptions
        mine_w = rows[self.witness[rows] == i]  # its receptions of others' beacons
        wx, wy = local_m(h, i, self.witness[mine_b])
        bx, by = local_m(h, i, self.beaconer[mine_w])
        # As witness: T from the other witnesses of the beacon (their median r).
        t0 = _others_median(self.beacon[rows], self.r_ns[rows])[self.witness[rows] == i]
        # Its beacons' receptions as a (beacons × witnesses) table per count of witnesses, so
        # that each count's beacons are judged in one pass.
        _, groups = np.unique(self.beacon[mine_b], return_inverse=True)
        sizes = np.bincount(groups)
        by_size = [np.flatnonzero(sizes[groups] == size)[np.argsort(
            groups[sizes[groups] == size], kind="stable")].reshape(-1, size)
            for size in np.unique(sizes).tolist()]
        t_b, t_w = self.t_ns[mine_b], self.t_ns[mine_w]

        def loss(px: NDArray[np.float64], py: NDArray[np.float64]) -> NDArray[np.float64]:
            """Median |residual| with i at each place (px[j], py[j])."""
            parts = []
            if mine_b.size:
                r = t_b[None, :] - np.hypot(px[:, None] - wx, py[:, None] - wy) / C_M_PER_NS
                for table in by_size:
                    block = r[:, table]  # places × beacons × witnesses
                    parts.append((block - _others_median_last(block)).reshape(px.size, -1))
            if mine_w.size:
                parts.append(t_w[None, :] - t0[None, :]
                             - np.hypot(px[:, None] - bx, py[:, None] - by) / C_M_PER_NS)
            return np.median(np.abs(np.concatenate(parts, axis=1)), axis=1)

        partners = np.concatenate((self.witness[mine_b], self.beaconer[mine_w]))
        spread = spread_m(*local_m(h, i, np.unique(partners)))
        if mine_b.size + mine_w.size == 0:
            return Fit(0.0, 0.0, 0.0, 0.0, 0, 0, 0, 0.0, self.params, (), tier)
        at_asserted, best, best_value = best_place(loss, self.params.tdoa_search_m, around)
        ids = tuple(np.unique(partners).tolist())
        return Fit(at_asserted, best_value, best[0], best[1],
                   int(mine_b.size), int(mine_w.size), len(ids), spread, self.params, ids,
                   tier)


def _loo(ordered: NDArray[np.float64], rank: NDArray[np.int64], size: NDArray[np.int64],
         start: NDArray[np.int64]) -> NDArray[np.float64]:
    """The median of a group without one of its values: `ordered` holds each group sorted
    from `start`, `rank` is the value's place in its group of `size`. Leaving the value out
    keeps a residual from being 0 by construction (the median of three is one of them), so a
    fitted place cannot explain a beacon's stamps for free."""
    lo, hi = (size - 2) // 2, (size - 1) // 2  # the middle of the size - 1 others
    lo = lo + (lo >= rank)
    hi = hi + (hi >= rank)
    return (ordered[start + lo] + ordered[start + hi]) / 2


def _others_median(groups: NDArray[np.int64], values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per value, the median of the other values of its group (groups of ≥ 2)."""
    order = np.lexsort((values, groups))
    ordered, sorted_groups = values[order], groups[order]
    start_of = np.searchsorted(sorted_groups, sorted_groups)
    size = np.searchsorted(sorted_groups, sorted_groups, side="right") - start_of
    out = np.empty(values.size)
    out[order] = _loo(ordered, np.arange(values.size) - start_of, size, start_of)
    return out


def _others_median_last(block: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per value of `block`, the median of the other values along its last axis."""
    k = block.shape[-1]
    flat = block.reshape(-1, k)
    order = np.argsort(flat, axis=1)
    ordered = np.take_along_axis(flat, order, axis=1).ravel()
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(k), order.shape), axis=1)
    start = (np.arange(flat.shape[0]) * k)[:, None]
    return _loo(ordered, rank, np.full(flat.shape, k), start).reshape(block.shape)
