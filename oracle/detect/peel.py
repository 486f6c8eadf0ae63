"""Peeling: judge a hotspot again without its links to hotspots already explained.

Some detectors judge a hotspot by its partners: the median of its pair offsets (asymmetry.py),
the median residual of its links against the distance law (signal.py), the closed group it
forms with those it hears (clusters.py). In a sparse network an honest hotspot has three or
four partners, and where a fifth of the network cheats, most of them may be cheaters: their
inflated receptions, their false distances become its statistics, and it is judged as one of
them (on the whole real 2022 population with a fifth inflating, 2.9 % of honest hotspots were;
with a fifth false-located, 5.0 %: docs/benchmarks.md, issue 13).

So a hotspot is judged without its links to hotspots already explained, two ways, one rule:
- by another detector: `detectors.detect` runs the detectors that read a hotspot's own
  evidence (its clock, its GPS, its lateness, its antenna) first, and each detector that
  judges by partners gets the hotspots found so far as `explained`;
- by its own detector, strongest offender first (`peel`): of the hotspots a detector flags,
  those still flagged when judged without their links to every other suspect are found
  first (an inflator among honest partners stays flagged; an honest hotspot whose partners
  are the inflators has nothing left to judge); then everyone is judged again without the
  links to those found. When no suspect stands alone, each group of suspects linked to each
  other gives up its strongest, if its links with those not suspected are past the threshold
  too (too few of them to flag it alone), and the rest are judged again without it: strongest
  by the score those links give, then by its score. Suspects whose links with the
  unsuspected say nothing are left alone: which of them lies is not in the evidence.
A cheater is still found by its own evidence: it is judged without its explained partners,
not with its own links removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from oracle.detect.history import History

# judge(excluded) -> (flagged, score) per hotspot, each judged without its links to the
# `excluded` hotspots (an excluded hotspot is itself judged by its other links).
Judge = Callable[[NDArray[np.bool_]], tuple[NDArray[np.bool_], NDArray[np.float64]]]


def partner_kept(partner: NDArray[np.integer], excluded: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Which of a hotspot's links (rows naming their other end `partner`) still count when the
    `excluded` hotspots are explained: those to a partner not excluded."""
    return ~excluded[partner]


def without_links(history: History, explained: NDArray[np.bool_],
                  as_witness: NDArray[np.bool_] | None = None) -> History:
    """The history without the witness reports of the `explained` hotspots, either way, and
    of the `as_witness` ones as witnesses: for a detector that judges by partners and knows
    nothing of `explained` (the explained are found already; they lose only a second
    finding)."""
    w = history.witnesses
    keep = ~explained[w.beaconer] & ~explained[w.witness]
    if as_witness is not None:
        keep &= ~as_witness[w.witness]
    return replace(history, witnesses=w.subset(keep))


def peel(judge: Judge, explained: NDArray[np.bool_],
         links: tuple[NDArray[np.integer], NDArray[np.integer]]) -> NDArray[np.int64]:
    """The round each hotspot is found in (−1: not found): the hotspots `judge` flags,
    strongest offender first, each judged without its links to those found in earlier rounds
    and to the `explained` ones. `links`: pairs of hotspots (either order) whose links a
    judgement reads, to tell which suspects lean on each other."""
    found_round = np.full(explained.size, -1, dtype=np.int64)
    a, b = (np.asarray(x, dtype=np.int64) for x in links)
    for r in range(explained.size + 1):  # each round finds one at least
        found = found_round >= 0
        flagged, score = judge(explained | found)
        fresh = flagged & ~found
        if not fresh.any():
            break
        # Flagged even without its links to any other suspect: its own offence.
        alone, alone_score = judge(explained | found | fresh)
        sure = fresh & alone
        if not sure.any():
            # The strongest of suspects linked to each other: by what its links with those
            # not suspected say (too few of them to flag it alone), then by its score.
            own = np.where(np.isnan(alone_score), -np.inf, alone_score)
            strength = np.unique(np.stack((own, np.nan_to_num(score, nan=-np.inf))), axis=1,
                                 return_inverse=True)[1].reshape(-1).astype(np.float64)
            sure = (fresh & (own >= 1)
                    & ~(strength < _strongest_suspect_partner(strength, fresh, a, b)))
            if not sure.any():
                break  # suspects that only lean on each other: no one is accused
        found_round[sure] = r
    return found_round


def as_found(found_round: NDArray[np.int64], explained: NDArray[np.bool_],
             measure: Callable[[NDArray[np.bool_]], tuple[NDArray[Any], ...]]
             ) -> tuple[NDArray[Any], ...]:
    """`measure(excluded)`'s per-hotspot columns, each found hotspot's as it was judged when
    found (without its links to the explained hotspots and to those found before it): the
    evidence a finding shows is the evidence it was found by."""
    out = measure(explained)
    for r in np.unique(found_round[found_round > 0]).tolist():
        values = measure(explained | ((found_round >= 0) & (found_round < r)))
        mine = found_round == r
        for column, value in zip(out, values, strict=True):
            column[mine] = value[mine]
    return out


def _strongest_suspect_partner(score: NDArray[np.float64], suspect: NDArray[np.bool_],
                               a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.float64]:
    """Per hotspot, the highest score among its suspect partners (−inf without one)."""
    best = np.full(score.size, -np.inf)
    both = suspect[a] & suspect[b] & (a != b)
    np.maximum.at(best, a[both], score[b[both]])
    np.maximum.at(best, b[both], score[a[both]])
    return best
