"""Signals that do not fit where the hotspots say they are.

**Excess**: the network's own distance law, fitted each epoch from every link (path loss =
tx power + both asserted gains − RSSI, against log10 of the asserted distance), predicts what
a link should lose. A hotspot whose links are, by their median, far stronger than that is not
where it asserts: a false location with a spoofed GPS hears its real neighbours, whose asserted
distance is wrong; a relay reports what a partner far away heard. The median over a hotspot's
links leaves its honest neighbours alone (one odd link among many). The fit is robust to the
cheaters it looks for: the slope is held to physical path-loss exponents (2 to 4), it is
fitted without the links of hotspots other detectors found, and refitted once without those of
hotspots the first pass flagged.
A hotspot is judged only with `min_partners` other hotspots on its links: a remote honest one
heard over one or two clear paths (across a valley) is far above the law on every reception
of those paths. Hotspots are judged by peeling (peel.py): a sparse honest hotspot whose
partners are mostly false-located is above the law on their links; judged again without the
links of those found first (strongest offender first), it is not.

**Constant**: RSSI that barely moves over many reports of different beacons — witness stuffing
at fixed values (real denylist cases report −140 dBm / −20 dB every time) or an attenuated rig.
Real links fade; quantised to 1 dB they still spread by several dB.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from oracle.detect.grouped import group_count, group_median, group_std
from oracle.detect.history import History, Hotspots, Witnesses
from oracle.detect.model import DetectParams, Finding
from oracle.detect.peel import as_found, partner_kept, peel

# Path-loss exponents physics allows between free space (2) and dense urban clutter (4).
MIN_EXPONENT, MAX_EXPONENT = 2.0, 4.0
_BIN_DECADES = 0.1  # distance bins of the fit, in decades
_MIN_PER_BIN = 3

Measure = Callable[[NDArray[np.bool_]], tuple[NDArray[np.float64], NDArray[np.int64],
                                               NDArray[np.int64]]]


def path_loss_db(w: Witnesses, h: Hotspots) -> NDArray[np.float64]:
    return w.tx_power_dbm + h.gain_db[w.beaconer] + h.gain_db[w.witness] - w.rssi_dbm


def fit_distance_law(
    log_d: NDArray[np.float64], loss: NDArray[np.float64]
) -> tuple[float, float] | None:
    """(intercept dB at 1 m, slope dB per decade) from binned medians, slope held to
    [20, 40] dB per decade. None with too little spread in distance to fit."""
    if log_d.size == 0:
        return None
    bins = np.floor(log_d / _BIN_DECADES).astype(np.int64)
    bins -= bins.min()
    count = group_count(bins, int(bins.max()) + 1)
    keep = count >= _MIN_PER_BIN
    if keep.sum() < 2:
        return None
    x = group_median(bins, log_d, count.size)[keep]
    y = group_median(bins, loss, count.size)[keep]
    weight = np.sqrt(count[keep].astype(np.float64))
    slope, intercept = np.polyfit(x, y, 1, w=weight)
    slope = float(np.clip(slope, 10 * MIN_EXPONENT, 10 * MAX_EXPONENT))
    # With the slope held, the intercept that best fits the bins is their weighted mean gap.
    intercept = float(np.average(y - slope * x, weights=weight))
    return intercept, slope


def excess(history: History, params: DetectParams,
           explained: NDArray[np.bool_] | None = None) -> list[Finding]:
    """`explained`: hotspots already found by other detectors; the law is fitted without
    their links, and no one is judged by its links with them."""
    w = history.witnesses.subset(history.witnesses.prompt(params.replay_ms))
    n = len(history.hotspots)
    usable = w.distance_m >= params.fit_min_distance_m
    if not usable.any():
        return []
    before = np.zeros(n, dtype=bool) if explained is None else explained
    log_d = np.log10(np.maximum(w.distance_m, 1.0))
    loss = path_loss_db(w, history.hotspots)
    # Each usable reception twice: once for each end, with the other end its partner.
    a, b = w.beaconer[usable].astype(np.int64), w.witness[usable].astype(np.int64)
    ends, partners = np.concatenate((a, b)), np.concatenate((b, a))
    found_round = np.full(n, -1, dtype=np.int64)
    law = None
    for _ in range(2):
        cheat = before | (found_round >= 0)
        clean = usable & ~cheat[w.beaconer] & ~cheat[w.witness]
        law = fit_distance_law(log_d[clean], loss[clean]) or law
        if law is None:
            return []
        residual = law[0] + law[1] * log_d - loss  # > 0: stronger than the law predicts
        both_ways = np.concatenate((residual[usable], residual[usable]))

        def measure(excluded: NDArray[np.bool_], residual: NDArray[np.float64] = both_ways
                    ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
            """Per hotspot, the median residual over its receptions both ways, their number,
            and its partners (the others it hears or is heard by), without its links with
            `excluded`."""
            kept = partner_kept(partners, excluded)
            e, p = ends[kept], partners[kept]
            return (group_median(e, residual[kept], n), group_count(e, n),
                    group_count(np.unique(e * n + p) // n, n))

        def judge(excluded: NDArray[np.bool_], measure: Measure = measure
                  ) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
            median, links, partners = measure(excluded)
            return ((links >= params.min_links) & (partners >= params.min_partners)
                    & (median >= params.excess_db)), median / params.excess_db

        found_round = peel(judge, before, (ends, partners))
    assert law is not None
    median, links, partner_count = as_found(found_round, before, measure)
    distance = group_median(ends, np.concatenate((w.distance_m[usable], w.distance_m[usable])),
                            n)
    return [
        Finding(
            detector="signal_excess",
            hotspots=(history.hotspots.keys[i],),
            score=float(median[i] / params.excess_db),
            evidence={
                "median_excess_db": round(float(median[i]), 1),
                "links": int(links[i]),
                "partners": int(partner_count[i]),
                "median_asserted_distance_m": round(float(distance[i])),
                "law_db_at_1m": round(law[0], 1),
                "law_db_per_decade": round(law[1], 1),
            },
        )
        for i in np.flatnonzero(found_round >= 0)
    ]


def constant(history: History, params: DetectParams) -> list[Finding]:
    """A hotspot whose RSSI does not vary over all its reports (witness stuffing), or over
    `constant_links` or more of its links, each steady both ways (radios on cables: each
    cabled link steady, the air not)."""
    w = history.witnesses.subset(history.witnesses.prompt(params.replay_ms))
    n = len(history.hotspots)
    reports = group_count(w.witness, n)
    rssi_std = group_std(w.witness, w.rssi_dbm, n)
    snr_std = group_std(w.witness, w.snr_db, n)
    rssi_median = group_median(w.witness, w.rssi_dbm, n)
    snr_median = group_median(w.witness, w.snr_db, n)
    link = w.witness.astype(np.int64) * n + w.beaconer
    links, inverse = np.unique(link, return_inverse=True)
    steady = ((group_count(inverse, links.size) >= params.constant_min)
              & (group_std(inverse, w.rssi_dbm, links.size) < params.constant_link_std_db))
    # Steady both ways: what a hears of b and what b hears of a (a cable works both ways; a
    # quiet link of the air that happens to vary little one way rarely does both).
    held = links[steady]
    mutual = np.isin(held, (held % n) * n + held // n)
    steady_links = group_count(held[mutual] // n, n)
    flagged = (((reports >= params.constant_min) & (rssi_std < params.constant_rssi_std_db))
               | (steady_links >= params.constant_links))
    return [
        Finding(
            detector="signal_constant",
            hotspots=(history.hotspots.keys[i],),
            score=float(max(params.constant_rssi_std_db / max(rssi_std[i], 1e-3),
                            steady_links[i] / params.constant_links)),
            evidence={
                "reports": int(reports[i]),
                "rssi_std_db": round(float(rssi_std[i]), 2),
                "snr_std_db": round(float(snr_std[i]), 2),
                "rssi_median_dbm": round(float(rssi_median[i]), 1),
                "snr_median_db": round(float(snr_median[i]), 1),
                "steady_links": int(steady_links[i]),
            },
        )
        for i in np.flatnonzero(flagged)
    ]
