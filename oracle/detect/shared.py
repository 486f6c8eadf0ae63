"""Keys behind one antenna: the same receptions, beacon after beacon, up to a fixed offset.

Radios behind one antenna (a splitter, or one radio and several keys) receive every beacon
through the same path and fading, at the same instant. What each reports differs by a constant
(each radio's own cable, splitter port and noise figure move its RSSI and SNR), not by a draw
per reception. Independent antennas — even two honest hotspots on one roof — fade
independently, so the difference of their RSSIs wanders by several dB from beacon to beacon.

Pairs are first found by a reception both report identically (same beacon, RSSI and SNR) or
at the same instant (their own timestamps within `same_stamp_ms`, far below any two clocks'
disagreement); each such pair is then judged over every beacon both heard: the share whose
RSSI difference lies within `steady_db` of the pair's median difference, both reported within
`relay_ms` of each other. A pair is flagged when that share reaches `same_share` and its
steady receptions come from `min_beaconers` beaconers or more: one beaconer's beacons reach two
antennas over two fixed paths, whose RSSI difference (the paths' shadowing) stays put beacon
after beacon whenever fading is mild; only behind one antenna does it stay put from every
direction. With fewer beaconers (one) the pair is flagged only when its difference takes at
most two adjacent whole-dBm values on every beacon both reported within `relay_ms`
(`one_antenna_db`): behind one antenna the radios measure one signal at one instant and differ
only by their fixed ports, cables and rounding, while two antennas, however fixed their paths,
fade independently beacon by beacon (a steady median, a spread of several dB). That finds a
shared antenna that hears one neighbour only (the proving ground's city has such groups).
Neither flags a pair whose own stamps, on GPS time, put its two receptions at two instants on
half the beacons that can tell (`two_instants_share`; a beacon at one instant that the places
give too, on an isochrone of the beaconer, cannot): apart by more than one instant's errors
and by no more than light crosses between the asserted places, two radios standing apart,
however steady their paths.

With fewer beacons both heard than that (a key whose antenna hears a few beacons a week), a
pair is flagged when each of them (`one_place_beacons` or more) was stamped by both at one
instant that their asserted places cannot give — the asserted distances to the beaconer differ
by `one_place_ns` of light or more — and the RSSI difference spreads by `one_antenna_db` at
most, over beacons of `min_beaconers` beaconers or more (a hotspot asserting a false place
beside honest ones is stamped with them at one instant too, and over one beaconer's fixed
paths, when fading is mild, their RSSI difference can stay put), or of one beaconer on
`one_source_beacons` beacons or more, each stamped identically by both: keys behind one
antenna take one reception's stamp, while two radios a few hundred metres apart stamp the
same microsecond only now and then (their arrivals differ by a fraction of a µs, each stamp
has its own error before it is rounded), and each more beacon is one more draw of two
antennas' fading. Honest hotspots stamp a beacon apart by what their places put between the
arrivals; keys behind one antenna, asserted kilometres apart to earn as several, stamp one
instant. Two honest neighbours across a street are stamped at one instant too, but their
places say so.

(A relay that copies a partner's reception reports the same values, but late: that is
timing.py's finding, and the partner is not accused of sharing an antenna.)
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from numpy.typing import NDArray

from oracle.detect.arrival_fit import C_M_PER_NS
from oracle.detect.grouped import group_count, group_median, group_spread
from oracle.detect.history import History, Witnesses, haversine_m
from oracle.detect.model import DetectParams, Finding

# RSSI and SNR arrive in deci-units; compare them at that resolution.
_RESOLUTION = 10
# Receptions a slice of candidate pairs expands to when joined on their common beacons. Every
# pair expands to all receptions of both its members: joined at once, the candidate pairs of a
# week of the whole 2022 population with a fifth of hotspots cheating (1.75 million witness
# reports) made the join hold 11.5 GB and the kernel killed the command (docs/benchmarks.md,
# issue 13). A slice of this size holds ~200 MB.
JOIN_ROWS = 4_000_000


def shared_reception(history: History, params: DetectParams) -> list[Finding]:
    # Timely receptions, the beaconer's own stamp unread: keys behind one antenna hearing a
    # beaconer whose clock is hours off still stamp its beacons at one instant.
    w = history.witnesses.subset(history.witnesses.timely())
    if len(w) == 0:
        return []
    keys = history.hotspots.keys
    candidates = _candidate_pairs(w, params)
    if not candidates:
        return []
    # Every beacon both members of a candidate pair heard: one row per (pair, beacon).
    pairs = np.array(sorted(candidates), dtype=np.int64)
    p, ra, rb = _common_rows(w, pairs, JOIN_ROWS)
    d = w.rssi_dbm[ra] - w.rssi_dbm[rb]
    t = np.abs(w.witness_timestamp_ms[ra] - w.witness_timestamp_ms[rb]) < params.relay_ms
    median = group_median(p[t], d[t], len(pairs))
    steady = t & (np.abs(d - median[p]) <= params.steady_db)
    common = group_count(p, len(pairs))
    same = group_count(p[steady], len(pairs))
    # Distinct (pair, beaconer) among the steady rows, counted per pair.
    n = len(history.hotspots)
    sources = np.unique(p[steady] * n + w.beaconer[ra][steady]) // n
    beaconers = group_count(sources, len(pairs))
    spread = group_spread(p[t], d[t], len(pairs))
    timed = group_count(p[t], len(pairs))
    timed_from = group_count(np.unique(p[t] * n + w.beaconer[ra][t]) // n, len(pairs))
    one_signal = (timed >= params.min_common_beacons) & (spread <= params.one_antenna_db)
    stamps_ms = w.witness_timestamp_ms[ra] - w.witness_timestamp_ms[rb]
    places_ns = (w.distance_m[ra] - w.distance_m[rb]) / C_M_PER_NS
    # Two instants: stamps one_place_ns apart or more, and no further apart than light crosses
    # between the asserted places (give or take one_place_ns): two radios on GPS time standing
    # apart. One antenna gives one instant (or two clocks' ms apart, past the light time).
    # Counted among the beacons whose stamps or places put the two arrivals apart: at one
    # instant on a beacon whose places give one (two hotspots on one isochrone of the
    # beaconer) they say nothing either way.
    apart_ns = np.abs(stamps_ms) * 1e6
    reach_ns = _pair_distance_m(history, pairs)[p] / C_M_PER_NS + params.one_place_ns
    apart = t & (apart_ns >= params.one_place_ns)
    two_instants = group_count(p[apart & (apart_ns <= reach_ns)], len(pairs))
    telling = group_count(p[apart | (t & (np.abs(places_ns) >= params.one_place_ns))],
                          len(pairs))
    stand_apart = (two_instants > 0) & (two_instants >= params.two_instants_share * telling)
    steady_pairs = ((common >= params.min_common_beacons) & (same >= params.same_share * common)
                    & ((beaconers >= params.min_beaconers) | one_signal) & ~stand_apart)
    # One instant where the asserted places put the two arrivals apart: the stamps' difference
    # against the difference of the asserted distances to the beaconer over c.
    contradicted = group_count(
        p[t & (np.abs(stamps_ms) <= params.same_stamp_ms)
          & (np.abs(stamps_ms * 1e6 - places_ns) >= params.one_place_ns)], len(pairs))
    identical = group_count(p[t & (stamps_ms == 0)], len(pairs))
    one_place = ((timed >= params.one_place_beacons) & (contradicted == timed)
                 & (spread <= params.one_antenna_db)
                 & ((timed_from >= params.min_beaconers)
                    | ((timed >= params.one_source_beacons) & (identical == timed))))
    findings = []
    for i, (a, b) in enumerate(pairs.tolist()):
        if not (steady_pairs[i] or one_place[i]):
            continue
        findings.append(Finding(
            detector="shared_reception",
            hotspots=(keys[a], keys[b]),
            score=float(same[i] / common[i] / params.same_share),
            evidence={"steady_receptions": int(same[i]), "beacons_both_heard": int(common[i]),
                      "steady_from_beaconers": int(beaconers[i]),
                      "rssi_difference_spread_db": round(float(spread[i]), 1),
                      "one_instant_against_places": int(contradicted[i]),
                      "identical_stamps": int(identical[i]),
                      "two_instants": int(two_instants[i]),
                      "telling_beacons": int(telling[i]),
                      "rssi_offset_db": round(float(median[i]), 1),
                      "asserted_distance_m": round(history.hotspots.distance_m(a, b))},
        ))
    return findings


def _pair_distance_m(history: History, pairs: NDArray[np.int64]) -> NDArray[np.float64]:
    """Metres between the asserted places of each pair's two hotspots."""
    h = history.hotspots
    a, b = pairs[:, 0], pairs[:, 1]
    return haversine_m(h.lat[a], h.lon[a], h.lat[b], h.lon[b])


def _common_rows(w: Witnesses, pairs: NDArray[np.int64], join_rows: int
                 ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(pair index, row of its first member, row of its second) for each beacon both heard,
    in pair order. The pairs are joined a slice at a time, each slice expanding to at most
    about `join_rows` receptions (a pair bigger than that alone)."""
    by = np.argsort(w.witness, kind="stable")
    who = w.witness[by]
    start = np.searchsorted(who, pairs, "left")
    count = np.searchsorted(who, pairs, "right") - start
    beacons = int(w.beacon.max()) + 1

    def rows_of(first: int, last: int, column: int
                ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        s, c = start[first:last, column], count[first:last, column]
        pair = np.repeat(np.arange(first, last), c)
        offset = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c)
        return pair, by[np.repeat(s, c) + offset]

    out = []
    cost = np.cumsum(count.sum(axis=1))
    first = 0
    while first < len(pairs):
        done = cost[first - 1] if first else 0
        last = max(first + 1, int(np.searchsorted(cost, done + join_rows, "right")))
        pa, rows_a = rows_of(first, last, 0)
        pb, rows_b = rows_of(first, last, 1)
        _, ia, ib = np.intersect1d(pa * beacons + w.beacon[rows_a],
                                   pb * beacons + w.beacon[rows_b],
                                   assume_unique=False, return_indices=True)
        out.append((pa[ia], rows_a[ia], rows_b[ib]))
        first = last
    if not out:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    p, a, b = (np.concatenate(parts) for parts in zip(*out, strict=True))
    return p, a, b


def identical_rows(w: Witnesses) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Pairs of rows (a, b): one beacon, two witnesses, the same RSSI and SNR to the
    deci-unit reports carry. Usually few (independent radios rarely agree on both), so the
    runs of matching rows are paired in Python."""
    rssi = np.rint(w.rssi_dbm * _RESOLUTION).astype(np.int64)
    snr = np.rint(w.snr_db * _RESOLUTION).astype(np.int64)
    order = np.lexsort((w.witness, snr, rssi, w.beacon))
    same = ((w.beacon[order][1:] == w.beacon[order][:-1])
            & (rssi[order][1:] == rssi[order][:-1]) & (snr[order][1:] == snr[order][:-1]))
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    ends = np.concatenate((starts[1:], [len(order)]))
    pairs = [(a, b)
             for start, end in zip(starts[ends - starts >= 2], ends[ends - starts >= 2],
                                   strict=True)
             for a, b in combinations(order[start:end].tolist(), 2)
             if w.witness[a] != w.witness[b]]
    rows = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return rows[:, 0], rows[:, 1]


def _candidate_pairs(w: Witnesses, params: DetectParams) -> set[tuple[int, int]]:
    """Pairs with a reception reported identically (within relay_ms of each other), or
    stamped at the same instant."""
    at = w.witness_timestamp_ms
    ra, rb = identical_rows(w)
    close = np.abs(at[ra] - at[rb]) <= params.relay_ms
    a, b = w.witness[ra[close]], w.witness[rb[close]]
    out: set[tuple[int, int]] = set(
        zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist(), strict=True))
    # Same instant: rows of one beacon in time order, each paired with the following rows
    # as long as they are within same_stamp_ms (a dense town stamps many receptions within
    # microseconds of each other; only those pairs are made).
    order = np.lexsort((at, w.beacon))
    beacon, who, when = w.beacon[order], w.witness[order], at[order]
    for k in range(1, len(order)):
        close = (beacon[k:] == beacon[:-k]) & (when[k:] - when[:-k] <= params.same_stamp_ms)
        if not close.any():
            break
        a, b = who[:-k][close], who[k:][close]
        out.update(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist(), strict=True))
    return {(a, b) for a, b in out if a != b}
