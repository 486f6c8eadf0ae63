"""Reciprocity: a radio path loses the same both ways.

What X hears from Y, less Y's transmit power, equals what Y hears from X, less X's, up to
fading: the antennas and the path are the same. A hotspot that inflates the RSSI it reports, or
that transmits more than the power it reports (a hidden amplifier), shows a constant offset
over all its two-way pairs; its honest partners each see that offset on one pair among many,
so a median over a hotspot's pairs names the one that lies. Unless most of its partners lie:
a sparse honest hotspot with two inflators among its three partners has their offset as its
median. So the hotspots are judged by peeling (peel.py): the liars found first, everyone again
without the pairs with them.

A median needs pairs, and at a sparse network's edge a hotspot has one or two. There an
offset is judged against partners whose word holds: a partner most of whose other pairs are
reciprocal hears as it is heard, so an offset with it is the hotspot's own. Only hearing
stronger than it is heard is judged so (what a witness inflates); heard stronger, a sparse
hotspot may be the honest partner of an inflator no one has found.

Some hotspots have no such pair at all: they hear hotspots that do not hear them, and are heard
by others. There each direction is judged against the network's distance law (signal.py's
fit), and a hotspot whose receptions beat the law by far more than its own beacons' do hears
stronger than it is heard. A noisy site looks the same (it hears only the receptions strong
enough to get through its noise, those above the law), so two more things must hold: the noise
floor it reports (RSSI − SNR) is raised, as an inflated RSSI raises it, and it hears about as
many partners as hear it — the noisy site hears fewer of its neighbours than hear it, an
inflator's radio hears as well as theirs. A long cable or a rooftop loses or gains both ways.

A median over a hotspot's own pairs, or its pairs with reciprocal partners, fails where
inflators pair mostly with each other: both directions inflated, their pairs cancel, and an
honest hotspot among them reads, by its median, as heard stronger than it hears. Each pair's
offset is the difference of its two ends' own offsets, so all the pairs together say each
hotspot's own offset up to one constant per group of hotspots linked by pairs
(`_network_offsets`): two inflators' pair says nothing of either, but each one's pairs with
the others of the group do. An RSSI inflated without its SNR raises the noise floor the
hotspot reports (RSSI − SNR) as much: the hotspots whose floor is not raised set the
constant (their own offsets are about 0), and those whose floor is raised are judged by
their own offset so measured, past asymmetry_vouched_db. On the whole 2022 population with a
fifth inflating (7 epochs), honest hotspots' offsets so measured stayed under 6.2 dB,
inflators' were 12 dB or more with a raised floor for 1,134 of the 1,175 with a pair (35 of
them missed by the rules above; docs/benchmarks.md, issue 13). With them found, an honest
hotspot among them, heard stronger than it hears by its median over its pairs with them, is
judged again without those pairs (peel.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from oracle.detect.grouped import group_count, group_mean, group_median
from oracle.detect.history import History, Witnesses
from oracle.detect.model import DetectParams, Finding
from oracle.detect.peel import as_found, partner_kept, peel
from oracle.detect.signal import fit_distance_law, path_loss_db


def asymmetry(history: History, params: DetectParams,
              fabricated: NDArray[np.bool_] | None = None) -> list[Finding]:
    """`fabricated`: hotspots whose reported signals are not measurements (witness stuffing
    at fixed values, found by `signal.constant`), left out of the all-pairs fit."""
    w = history.witnesses.subset(history.witnesses.prompt(params.replay_ms))
    n = len(history.hotspots)
    if len(w) == 0:
        return []
    # Mean link gain (RSSI − transmitter's power) per directed pair: witness hears beaconer.
    directed = w.witness.astype(np.int64) * n + w.beaconer
    pairs, inverse = np.unique(directed, return_inverse=True)
    gain = group_mean(inverse, w.rssi_dbm - w.tx_power_dbm, pairs.size)
    hearer, speaker = pairs // n, pairs % n
    # The same pair the other way round, where it was heard.
    reverse = speaker * n + hearer
    where = np.searchsorted(pairs, reverse)
    where = np.minimum(where, pairs.size - 1)
    two_way = pairs[where] == reverse
    # X's offset on a pair: what X hears minus what the partner hears from X.
    offset = gain[two_way] - gain[where[two_way]]
    owner, partner = hearer[two_way], speaker[two_way]

    pairs_in_all = group_count(owner, n)
    one_way = _OneWay(history, w, params)
    # Hotspots whose reported noise floor is raised, as an RSSI inflated without its SNR
    # raises it, are judged by all pairs at once; those whose floor is not set its constant.
    with np.errstate(invalid="ignore"):
        quiet = one_way.floor < params.asymmetry_floor_db
        raised = one_way.floor >= params.asymmetry_floor_db
    # A stuffer's pairs say nothing of its partners: it reports −140 dBm of everyone, its
    # floor is not raised, and as a quiet anchor it lent an honest noisy partner its +40 dB
    # (8 honest hotspots on the whole 2022 population with 5 % stuffing, 7 epochs).
    fabricated = np.zeros(n, dtype=bool) if fabricated is None else fabricated
    fit = ~(fabricated[owner] | fabricated[partner])
    network = _network_offsets(owner[fit], partner[fit], offset[fit], quiet & ~fabricated, n)

    def measure(excluded: NDArray[np.bool_]) -> tuple[NDArray[Any], ...]:
        """Per hotspot, without its pairs with `excluded`: (median offset, two-way pairs,
        median offset over its pairs with reciprocal partners, how many of those, the same
        over its pairs with liars found, each less the liar's own offset, and
        _OneWay.measure's columns)."""
        kept = partner_kept(partner, excluded)
        median = group_median(owner[kept], offset[kept], n)
        count = group_count(owner[kept], n)
        # A reciprocal partner: most of its other pairs (one at least) within asymmetry_db,
        # it hears as it is heard; an offset with it is the hotspot's own.
        near = np.abs(offset) < params.asymmetry_db
        back = ~excluded[owner]  # the partner's pair with this hotspot counts for it
        others = count[partner] - back
        near_others = group_count(owner[kept & near], n)[partner] - (back & near)
        vouched = kept & (others >= 1) & (2 * near_others > others)
        # A pair with a liar already found, less the liar's own offset (its median over the
        # pairs it keeps): what is left is the hotspot's own. (A liar whose only kept pair is
        # this one gives 0: its offset is this pair's, reversed.)
        known = ~kept & (count[partner] >= 1)
        corrected = offset[known] + median[partner[known]]
        return (median, count, group_median(owner[vouched], offset[vouched], n),
                group_count(owner[vouched], n), group_median(owner[known], corrected, n),
                group_count(owner[known], n), *one_way.measure(excluded))

    def rules(median: NDArray[np.float64], count: NDArray[np.int64],
              vouched_median: NDArray[np.float64], vouched: NDArray[np.int64],
              known_median: NDArray[np.float64], known: NDArray[np.int64],
              excess: NDArray[np.float64], hears: NDArray[np.int64], heard: NDArray[np.int64]
              ) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
        """Per hotspot, from `measure`'s columns: flagged by the median over its pairs, by its
        reciprocal partners or its found liars' corrected pairs, by the law."""
        with np.errstate(invalid="ignore"):
            by_all = ((pairs_in_all >= params.min_pairs) & (count >= params.min_pairs_left)
                      & (np.abs(median) >= params.asymmetry_db))
            # The pairs with found liars, each one pair's word, only where the hotspot has
            # too few pairs of its own for a median (min_pairs): on a 100,000-hotspot lattice
            # whose links fade by σ 7 dB (tests/bench/bench_detect.py), one such pair put 338
            # honest hotspots past the bar whose ten other pairs said 0 dB.
            by_vouched = (((vouched >= 1) & (vouched_median >= params.asymmetry_vouched_db))
                          | ((count < params.min_pairs) & (known >= 1)
                             & (known_median >= params.asymmetry_vouched_db))
                          | (raised & (network >= params.asymmetry_vouched_db)))
        # No pairs to read (too few for a median, no reciprocal partner): the law both ways.
        by_law = ((count < params.min_pairs) & (vouched == 0)
                  & one_way.flagged(excess, hears, heard))
        return by_all, by_vouched, by_law

    def by_pairs_score(median: NDArray[np.float64], vouched_median: NDArray[np.float64],
                       known_median: NDArray[np.float64]) -> NDArray[np.float64]:
        """Per hotspot, how far past its bar the strongest reading of its pairs is."""
        with np.errstate(invalid="ignore"):
            return np.fmax(np.abs(median) / params.asymmetry_db,
                           np.fmax(np.fmax(vouched_median, known_median),
                                   np.where(raised, network, np.nan))
                           / params.asymmetry_vouched_db)

    def judge(excluded: NDArray[np.bool_]) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
        median, _, vouched_median, _, known_median, _, excess, _, _ = columns = measure(excluded)
        by_all, by_vouched, by_law = rules(*columns)
        score = np.where(by_law & ~by_all & ~by_vouched, excess / params.asymmetry_vouched_db,
                         by_pairs_score(median, vouched_median, known_median))
        return by_all | by_vouched | by_law, score

    before = np.zeros(n, dtype=bool)
    found_round = peel(judge, before, (owner, partner))
    columns = as_found(found_round, before, measure)
    per_hotspot, count, vouched_median, vouched, known_median, known, excess, hears, heard = (
        columns)
    # Found by its pairs (the median over them or its reciprocal partners), or by the law.
    by_all, by_vouched, _ = rules(*columns)
    by_pairs = by_all | by_vouched
    score = np.where(by_pairs, by_pairs_score(per_hotspot, vouched_median, known_median),
                     excess / params.asymmetry_vouched_db)
    return [
        Finding(
            detector="signal_asymmetry",
            hotspots=(history.hotspots.keys[i],),
            score=float(score[i]),
            evidence={
                "median_offset_db": round(float(per_hotspot[i]), 1),
                "two_way_pairs": int(count[i]),
                "median_offset_with_reciprocal_db": round(float(vouched_median[i]), 1),
                "reciprocal_pairs": int(vouched[i]),
                "median_offset_with_found_liars_db": round(float(known_median[i]), 1),
                "pairs_with_found_liars": int(known[i]),
                "offset_by_all_pairs_db": round(float(network[i]), 1),
                "one_way_excess_db": round(float(excess[i]), 1),
                "hears_partners": int(hears[i]),
                "heard_by_partners": int(heard[i]),
                "noise_floor_above_median_db": round(float(one_way.floor[i]), 1),
                "meaning": "is heard stronger than it hears (power above what it reports)"
                if by_pairs[i] and per_hotspot[i] < 0 and not by_vouched[i]
                else "hears others stronger than they hear it",
            },
        )
        for i in np.flatnonzero(found_round >= 0)
    ]


def _network_offsets(owner: NDArray[np.int64], partner: NDArray[np.int64],
                     offset: NDArray[np.float64], quiet: NDArray[np.bool_], n: int
                     ) -> NDArray[np.float64]:
    """Each hotspot's own offset (what it hears less what hears it, its partners' own offsets
    aside), NaN without a two-way pair: the offsets that best explain every pair at once
    (`offset` = owner's own − partner's own; least squares), with each `quiet` hotspot's own
    offset 0, weighed as one pair. Least squares, not medians: a group of inflators agreeing
    with each other outvotes, by a median, the one pair that ties it to the rest, and floats
    where it started; by least squares every pair counts. Where no hotspot is quiet, the
    group's offsets average 0."""
    has = group_count(owner, n) > 0
    weight = group_count(owner, n) + np.where(quiet, 1.0, _UNANCHORED)

    def times(x: NDArray[np.float64]) -> NDArray[np.float64]:
        """The normal equations' matrix times x: Σ over x's pairs of (own − partner's)."""
        return weight * x - np.bincount(owner, weights=x[partner], minlength=n)

    # Conjugate gradients: the matrix is symmetric, positive definite.
    own = np.zeros(n)
    residual = np.bincount(owner, weights=offset, minlength=n)
    direction = residual.copy()
    size = float(residual @ residual)
    for _ in range(_MAX_ROUNDS):
        if size < _SETTLED ** 2:
            break
        moved = times(direction)
        step = size / float(direction @ moved)
        own += step * direction
        residual -= step * moved
        size, before = float(residual @ residual), size
        direction = residual + size / before * direction
    # To a thousandth of a dB: signals come in tenths of a dB.
    return np.where(has, np.round(own, 3), np.nan)


class _OneWay:
    """Each direction of a hotspot's links against the distance law: what it hears and how
    its beacons are heard, judged without the links of excluded hotspots. Receptions are
    sorted once by hotspot and residual, so a median without some partners is a count."""

    def __init__(self, history: History, w: Witnesses, params: DetectParams) -> None:
        n = len(history.hotspots)
        self.params = params
        usable = w.distance_m >= params.fit_min_distance_m
        loss = path_loss_db(w, history.hotspots)
        log_d = np.log10(np.maximum(w.distance_m, 1.0))
        law = fit_distance_law(log_d[usable], loss[usable])
        if law is None:
            usable[:] = False
            law = (0.0, 0.0)
        residual = (law[0] + law[1] * log_d - loss)[usable]  # > 0: stronger than the law
        hearer, speaker = w.witness[usable], w.beaconer[usable]
        self.rx = _Sorted(hearer, speaker, residual, n)  # what each hotspot hears
        self.tx = _Sorted(speaker, hearer, residual, n)  # how each hotspot's beacons are heard
        # The noise floor each hotspot reports (RSSI − SNR, below the SNR's ceiling: a strong
        # reception's SNR is capped), against the network's median.
        floor = w.rssi_dbm - w.snr_db
        below_cap = w.snr_db < _SNR_CEILING_DB
        own = group_median(w.witness[below_cap], floor[below_cap], n)
        self.floor = own - (float(np.median(floor[below_cap])) if below_cap.any() else 0.0)

    def measure(self, excluded: NDArray[np.bool_]) -> tuple[NDArray[Any], ...]:
        """(median residual heard less median residual of being heard, partners it hears,
        partners that hear it), without the links of `excluded` hotspots."""
        hears_median, _, hears = self.rx.median(excluded)
        heard_median, _, heard = self.tx.median(excluded)
        # To a µdB: signals come in tenths of a dB; the law's floating point is no evidence.
        return np.round(hears_median - heard_median, 6), hears, heard

    def flagged(self, excess: NDArray[np.float64], hears: NDArray[np.int64],
                heard: NDArray[np.int64]) -> NDArray[np.bool_]:
        p = self.params
        with np.errstate(invalid="ignore"):
            return ((excess >= p.asymmetry_vouched_db) & (self.floor >= p.asymmetry_floor_db)
                    & (heard >= 1) & (hears >= p.asymmetry_hears_share * heard))


class _Sorted:
    """Rows (a hotspot, its partner, a value) sorted by hotspot then value: per hotspot, the
    median value and the count of rows and of partners over the rows whose partner is kept."""

    def __init__(self, group: NDArray[np.integer], partner: NDArray[np.integer],
                 value: NDArray[np.float64], n: int) -> None:
        order = np.lexsort((value, group))
        self.group = group[order].astype(np.int64)
        self.partner = partner[order].astype(np.int64)
        self.value = value[order]
        self.n = n
        self.start = np.concatenate(([0], np.cumsum(group_count(self.group, n))))[:-1]
        # A partner counted once per hotspot: the first of its rows in the hotspot's slice.
        link = self.group * n + self.partner
        _, first = np.unique(link, return_index=True)
        self.first = np.zeros(link.size, dtype=bool)
        self.first[first] = True

    def median(self, excluded: NDArray[np.bool_]
               ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
        kept = ~excluded[self.partner]
        count = group_count(self.group[kept], self.n)
        partners = group_count(self.group[kept & self.first], self.n)
        # Rank of each kept row within its hotspot's kept rows, from 1.
        running = np.cumsum(kept)
        before = np.concatenate(([0], running))[self.start]
        rank = running - before[self.group]
        lower_rank, upper_rank = (count + 1) // 2, count // 2 + 1
        lower = np.full(self.n, np.nan)
        upper = np.full(self.n, np.nan)
        at = kept & (rank == lower_rank[self.group])
        lower[self.group[at]] = self.value[at]
        at = kept & (rank == upper_rank[self.group])
        upper[self.group[at]] = self.value[at]
        return (lower + upper) / 2, count, partners


# _network_offsets: a group with no quiet hotspot is held by this much of a pair at 0 dB per
# hotspot (no more than to make one solution of many); its rounds stop when the equations hold
# to a nano-dB, or after this many (the whole 2022 population at 20 %, 7 epochs: 343 rounds).
_UNANCHORED = 1e-6
_SETTLED = 1e-9
_MAX_ROUNDS = 10_000

# A radio's reported SNR saturates on strong signals (14 dB was the largest of 38,537 real
# Helium receptions, sim_radio/reception.py): near the ceiling RSSI − SNR is no noise floor.
_SNR_CEILING_DB = 10.0
