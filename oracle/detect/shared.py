"""Two keys behind one radio: the same RSSI and SNR for the same beacons, again and again.

Every witness report of a beacon is grouped by (beacon, RSSI, SNR); two witnesses in one group
whose reception times agree received it identically. (A relay that copies a partner's
reception also reports the same values, but late: that is timing.py's finding, and the
partner is not accused of sharing an antenna.) Independent antennas — even two honest
hotspots on one roof — fade independently and rarely agree to the dB and the tenth of a dB
twice; keys sharing one antenna agree every time. A pair is flagged when it agrees on most
of the beacons both heard.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import numpy as np

from oracle.detect.history import History
from oracle.detect.model import DetectParams, Finding

# RSSI and SNR arrive in deci-units; compare them at that resolution.
_RESOLUTION = 10


def shared_reception(history: History, params: DetectParams) -> list[Finding]:
    w = history.witnesses.subset(history.witnesses.prompt(params.replay_ms))
    if len(w) == 0:
        return []
    keys = history.hotspots.keys
    rssi = np.rint(w.rssi_dbm * _RESOLUTION).astype(np.int64)
    snr = np.rint(w.snr_db * _RESOLUTION).astype(np.int64)
    order = np.lexsort((w.witness, snr, rssi, w.beacon))
    beacon, r, s, who = w.beacon[order], rssi[order], snr[order], w.witness[order]
    at = w.witness_timestamp_ms[order]
    same_as_next = (beacon[1:] == beacon[:-1]) & (r[1:] == r[:-1]) & (s[1:] == s[:-1])
    agree: Counter[tuple[int, int]] = Counter()
    # Runs of identical receptions: usually none, and short when they happen.
    starts = np.flatnonzero(np.concatenate(([True], ~same_as_next)))
    ends = np.concatenate((starts[1:], [len(order)]))
    for start, end in zip(starts[ends - starts >= 2], ends[ends - starts >= 2], strict=True):
        run = sorted(zip(who[start:end].tolist(), at[start:end].tolist(), strict=True))
        for (a, at_a), (b, at_b) in combinations(run, 2):
            # One radio stamps one time; a relay copying a partner's reception is late.
            if a != b and abs(at_a - at_b) < params.relay_ms:
                agree[(a, b)] += 1
    if not agree:
        return []
    candidates = np.array(sorted({x for pair in agree for x in pair}), dtype=np.int64)
    mask = np.isin(w.witness, candidates)
    rows = np.argsort(w.witness[mask], kind="stable")
    by_witness, beacons = w.witness[mask][rows], w.beacon[mask][rows]
    cuts = np.searchsorted(by_witness, candidates, side="left")
    stops = np.searchsorted(by_witness, candidates, side="right")
    heard = {int(h): set(beacons[c:e].tolist())
             for h, c, e in zip(candidates, cuts, stops, strict=True)}
    findings = []
    for (a, b), same in sorted(agree.items()):
        common = len(heard[a] & heard[b])
        if common < params.min_common_beacons or same < params.same_share * common:
            continue
        findings.append(Finding(
            detector="shared_reception",
            hotspots=(keys[a], keys[b]),
            score=float(same / common / params.same_share),
            evidence={"identical_receptions": same, "beacons_both_heard": common,
                      "asserted_distance_m": round(history.hotspots.distance_m(a, b))},
        ))
    return findings

