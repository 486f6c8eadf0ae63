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
"""

from __future__ import annotations

from typing import Any

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

    def measure(excluded: NDArray[np.bool_]) -> tuple[NDArray[Any], ...]:
        """Per hotspot, without its pairs with `excluded`: (median offset, two-way pairs,
        median offset over its pairs with reciprocal partners, how many of those)."""
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
        return (median, count, group_median(owner[vouched], offset[vouched], n),
                group_count(owner[vouched], n))

    def judge(excluded: NDArray[np.bool_]) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
        median, count, vouched_median, vouched = measure(excluded)
        by_all = ((pairs_in_all >= params.min_pairs) & (count >= params.min_pairs_left)
                  & (np.abs(median) >= params.asymmetry_db))
        by_vouched = (vouched >= 1) & (vouched_median >= params.asymmetry_vouched_db)
        with np.errstate(invalid="ignore"):
            score = np.fmax(np.abs(median) / params.asymmetry_db,
                            vouched_median / params.asymmetry_vouched_db)
        return by_all | by_vouched, score

    before = np.zeros(n, dtype=bool)
    found_round = peel(judge, before, (owner, partner))
    per_hotspot, count, vouched_median, vouched = as_found(found_round, before, measure)
    return [
        Finding(
            detector="signal_asymmetry",
            hotspots=(history.hotspots.keys[i],),
            score=float(abs(per_hotspot[i]) / params.asymmetry_db),
            evidence={
                "median_offset_db": round(float(per_hotspot[i]), 1),
                "two_way_pairs": int(count[i]),
                "median_offset_with_reciprocal_db": round(float(vouched_median[i]), 1),
                "reciprocal_pairs": int(vouched[i]),
                "meaning": "hears others stronger than they hear it"
                if per_hotspot[i] > 0 else "is heard stronger than it hears (power above "
                "what it reports)",
            },
        )
        for i in np.flatnonzero(found_round >= 0)
    ]
