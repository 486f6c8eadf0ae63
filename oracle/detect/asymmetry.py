"""Reciprocity: a radio path loses the same both ways.

What X hears from Y, less Y's transmit power, equals what Y hears from X, less X's, up to
fading: the antennas and the path are the same. A hotspot that inflates the RSSI it reports, or
that transmits more than the power it reports (a hidden amplifier), shows a constant offset
over all its two-way pairs; its honest partners each see that offset on one pair among many,
so a median over a hotspot's pairs names the one that lies. Unless most of its partners lie:
a sparse honest hotspot with two inflators among its three partners has their offset as its
median. So the hotspots are judged by peeling (peel.py): the liars found first, everyone again
without the pairs with them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from oracle.detect.grouped import group_count, group_mean, group_median
from oracle.detect.history import History
from oracle.detect.model import DetectParams, Finding
from oracle.detect.peel import as_found, partner_kept, peel


def asymmetry(history: History, params: DetectParams) -> list[Finding]:
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

    def measure(excluded: NDArray[np.bool_]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """(median offset, two-way pairs) per hotspot, without its pairs with `excluded`."""
        kept = partner_kept(partner, excluded)
        return group_median(owner[kept], offset[kept], n), group_count(owner[kept], n)

    def judge(excluded: NDArray[np.bool_]) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
        median, count = measure(excluded)
        return ((pairs_in_all >= params.min_pairs) & (count >= params.min_pairs_left)
                & (np.abs(median) >= params.asymmetry_db), np.abs(median) / params.asymmetry_db)

    before = np.zeros(n, dtype=bool)
    found_round = peel(judge, before, (owner, partner))
    per_hotspot, count = as_found(found_round, before, measure)
    return [
        Finding(
            detector="signal_asymmetry",
            hotspots=(history.hotspots.keys[i],),
            score=float(abs(per_hotspot[i]) / params.asymmetry_db),
            evidence={
                "median_offset_db": round(float(per_hotspot[i]), 1),
                "two_way_pairs": int(count[i]),
                "meaning": "hears others stronger than they hear it"
                if per_hotspot[i] > 0 else "is heard stronger than it hears (power above "
                "what it reports)",
            },
        )
        for i in np.flatnonzero(found_round >= 0)
    ]
