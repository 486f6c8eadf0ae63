"""Who does not hear a hotspot: the active hotspots nearer its asserted place than any partner.

An attenuator lets a hotspot assert a place a few km from where it stands, its GPS spoofed to
match, and loses 20 dB both ways so that its true neighbours do not hear it too strongly for
the asserted distance (`position.py`, `arrival.py`). Where the network is sparse its beacons are
heard by one witness or two: no arrival times to compare, and one or two partners say little of
a place by where they stand (on the whole 2022 population with a fifth attenuators,
position.py's likelihood ratio of those it missed, most with 1–3 partners, was 3–3.5 at the
median, honest hotspots' 0.5–1.6: docs/benchmarks.md, issue 13). What it cannot hide is who
does *not* hear it: its partners stand around its true place, so the active hotspots around
the asserted place, nearer to it than any partner, are silent with it, both ways, over the
whole window.

An honest hotspot is heard first by its nearest neighbours: a loss on every link (a long cable,
walls, an attenuator where it says it stands) shortens its reach, but the partners it keeps are
still the nearest; a rooftop's gain lengthens its reach; a quiet rural hotspot has few hotspots
near it; one shadowed on one side (a valley) keeps its nearest on the open side. So, per
hotspot, the links it would have had with the active hotspots nearer its asserted place than
its nearest partner and linked neither way with it, each counted at the network's own rate for
its distance (the share of pairs of active hotspots that far apart that are linked, from a
sample of the active hotspots, made never to rise with distance), is small for an honest
hotspot and is the expected links of the neighbourhood of the asserted place for an
attenuator. A silent hotspot 300 m away counts
most of a link, one 8 km away almost none: an honest hotspot heard only by a far rooftop is
judged by the few that are near it.

Flagged past `hearing_silent` such links, with its partners' centre `hearing_far_m` or more
from the asserted place (they gather elsewhere: a hotspot heard only by far ones on every side
is not placed elsewhere by them) and `hearing_max_partners` partners at most: with more, where
they stand and when they hear it place it (`position.py`, `arrival.py`), and on the whole 2022
population the honest hotspots with more partners past 5 links had 5–7 (docs/benchmarks.md,
issue 13).

Counted twice, as `position.py` tests twice: the second time without the hotspots flagged the
first time among the silent ones (a hotspot not where it asserts is silent with its asserted
neighbours: it must not count against them). A hotspot that moved and re-asserted is judged on
the links after its assertion only (`History` keeps only those). Candidates are the hotspots
active in the window (in a prompt witness report, either way), so a hotspot off the air is not
counted as silent.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from oracle.detect.history import M_PER_DEG, History, Hotspots, fitted_place
from oracle.detect.model import DetectParams, Finding
from oracle.detect.neighbours import Neighbours

# The network's link rate by distance: in bins this wide, out to _LAW_M (further hotspots are
# not counted as silent: almost none are linked that far), from up to _SAMPLE active hotspots.
_BIN_M = 250.0
_LAW_M = 20_000.0
_SAMPLE = 2_000


def hearing(history: History, params: DetectParams) -> list[Finding]:
    judged = judge(history, params)
    if judged is None:
        return []
    flagged, silent, nearest, centre, partners = judged
    h = history.hotspots
    return [
        Finding(
            detector="unheard_near",
            hotspots=(h.keys[i],),
            score=float(min(silent[i] / params.hearing_silent,
                            np.hypot(*centre[i]) / params.hearing_far_m)),
            evidence={
                # Where its partners gather, and the links missing nearer the asserted place.
                **fitted_place(float(h.lat[i]), float(h.lon[i]), float(centre[i, 0]),
                               float(centre[i, 1])),
                "fitted_from_asserted_m": round(float(np.hypot(*centre[i]))),
                "nearest_partner_m": round(float(nearest[i])),
                "silent_links": round(float(silent[i]), 2),
                "partners": int(partners[i]),
            },
        )
        for i in np.flatnonzero(flagged)
    ]


def judge(history: History, params: DetectParams) -> tuple[
        NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
        NDArray[np.int64]] | None:
    """Per hotspot: (flagged, links missing with the active hotspots nearer its asserted place
    than its nearest partner, that partner's distance in m, its partners' centre in m east and
    north of the asserted place, its partners); None without prompt witness reports."""
    h = history.hotspots
    n = len(h)
    pairs = history.links(params.replay_ms)
    if pairs.size == 0:
        return None
    owner, partner = pairs // n, pairs % n
    active, cells, rate = _network(h, pairs)
    # Each hotspot's partners on a flat map about its asserted place.
    cos = np.cos(np.radians((h.lat[owner] + h.lat[partner]) / 2))
    east = (h.lon[partner] - h.lon[owner]) * M_PER_DEG * cos
    north = (h.lat[partner] - h.lat[owner]) * M_PER_DEG
    nearest = np.zeros(n)
    nearest[active] = np.inf
    np.minimum.at(nearest, owner, np.hypot(east, north))
    count = np.bincount(owner, minlength=n)
    centre = np.zeros((n, 2))
    centre[:, 0] = np.bincount(owner, weights=east, minlength=n) / np.maximum(count, 1)
    centre[:, 1] = np.bincount(owner, weights=north, minlength=n) / np.maximum(count, 1)
    away = np.flatnonzero(active & (count <= params.hearing_max_partners)
                          & (np.hypot(centre[:, 0], centre[:, 1]) >= params.hearing_far_m))
    silent = _silent(cells, away, np.minimum(nearest, _LAW_M), active, pairs, rate)
    flagged = np.zeros(n, dtype=bool)
    flagged[away] = silent[away] >= params.hearing_silent
    if flagged.any():
        silent = _silent(cells, away, np.minimum(nearest, _LAW_M), active & ~flagged, pairs,
                         rate)
        flagged[away] = silent[away] >= params.hearing_silent
    return flagged, silent, nearest, centre, count


def silence(history: History, judged: NDArray[np.int64], params: DetectParams
            ) -> NDArray[np.float64]:
    """Per hotspot of `judged`, the links it would have had, at the network's rate for their
    distances, with the active hotspots within _LAW_M of its asserted place and linked
    neither way with it (0 for the others): what `judge` counts nearer than its nearest
    partner, for a hotspot with no partner left (oracle/detect/reach.py)."""
    pairs = history.links(params.replay_ms)
    active, cells, rate = _network(history.hotspots, pairs)
    return _silent(cells, judged, np.full(len(history.hotspots), _LAW_M), active, pairs, rate)


def _network(h: Hotspots, pairs: NDArray[np.int64]
             ) -> tuple[NDArray[np.bool_], Neighbours, NDArray[np.float64]]:
    """The active hotspots (linked with any), the neighbour search over all, and the network's
    link rate by distance, from the linked `pairs` (codes i × n + k, both ways)."""
    n = len(h)
    active = np.zeros(n, dtype=bool)
    active[pairs // n] = True
    cells = Neighbours(h)
    return active, cells, _link_rate(cells, active, pairs, n)


def _link_rate(cells: Neighbours, active: NDArray[np.bool_], pairs: NDArray[np.int64],
               n: int) -> NDArray[np.float64]:
    """The share of pairs of active hotspots linked (either way), by distance bin of _BIN_M out
    to _LAW_M, over the pairs of up to _SAMPLE active hotspots spread through the index, made
    non-increasing with distance (bins without pairs take the nearer bin's share)."""
    act = np.flatnonzero(active)
    sample = act[:: max(1, -(-act.size // _SAMPLE))]
    bins = int(_LAW_M / _BIN_M)
    pairs_in, linked_in = np.zeros(bins), np.zeros(bins)
    for i in sample.tolist():
        near, d = cells.within(i, _LAW_M, active)
        linked = _linked(pairs, i * n + near)
        k = np.minimum((d / _BIN_M).astype(np.int64), bins - 1)
        pairs_in += np.bincount(k, minlength=bins)
        linked_in += np.bincount(k[linked], minlength=bins)
    known = np.flatnonzero(pairs_in > 0)
    if known.size == 0:
        return np.zeros(bins)
    # Never rising with distance: a radio's reach does not come back further out, but links at
    # a false distance do (hotspots asserting places far from where they stand, not found yet,
    # linked with their true neighbours). The likeliest such rates (each bin's pairs weighing),
    # a bin without pairs taking the nearer one's.
    fitted = _non_increasing(linked_in[known] / pairs_in[known], pairs_in[known])
    return fitted[np.maximum(np.searchsorted(known, np.arange(bins), side="right") - 1, 0)]


def _non_increasing(value: NDArray[np.float64], weight: NDArray[np.float64]
                    ) -> NDArray[np.float64]:
    """The weighted least-squares non-increasing sequence nearest `value` (pooling adjacent
    violators): for shares, the likeliest rates that do not rise."""
    means: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for v, w in zip(value.tolist(), weight.tolist(), strict=True):
        means.append(v)
        weights.append(w)
        sizes.append(1)
        while len(means) > 1 and means[-2] < means[-1]:
            w2, w1 = weights.pop(), weights[-1]
            m2, m1 = means.pop(), means[-1]
            means[-1] = (m1 * w1 + m2 * w2) / (w1 + w2)
            weights[-1] = w1 + w2
            size = sizes.pop()
            sizes[-1] += size
    return np.repeat(np.array(means), sizes)


def _linked(pairs: NDArray[np.int64], wanted: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which of the pair codes `wanted` (i × n + k) are in the sorted `pairs`."""
    at = np.searchsorted(pairs, wanted)
    return (at < pairs.size) & (pairs[np.minimum(at, pairs.size - 1)] == wanted)


def _silent(cells: Neighbours, judged: NDArray[np.int64], radius: NDArray[np.float64],
            candidate: NDArray[np.bool_], pairs: NDArray[np.int64],
            rate: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per hotspot of `judged`, the links it would have had, at the network's `rate` for
    their distances, with the `candidate` hotspots strictly within its `radius` and linked
    neither way with it (0 for the others)."""
    n = candidate.size
    out = np.zeros(n)
    for i in judged.tolist():
        near, d = cells.within(i, float(radius[i]), candidate)
        quiet = ~_linked(pairs, i * n + near)
        k = np.minimum((d[quiet] / _BIN_M).astype(np.int64), rate.size - 1)
        out[i] = float(rate[k].sum())
    return out
