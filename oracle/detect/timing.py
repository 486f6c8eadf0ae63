"""Time tells relays, replays and wrong clocks apart from honest radios.

Every report carries the hotspot's own time: the beaconer's of its transmission, the witness's
of its reception. LoRa travels a few km in microseconds and honest clocks (GPS, NTP) agree to
tens of milliseconds, so on an honest link reception − transmission is a sharp peak near 0.

- **Relay**: a witness whose receptions are, by their median, `relay_ms` or more after the
  transmissions: it reports what a partner heard and adds the internet in between.
- **Replay**: a reception `replay_ms` or more after the transmission is a copy someone sent
  again. Whoever sent it must have heard the original in time, and its copies are heard by the
  hotspots that hear its own beacons: of the timely witnesses of that beacon, the one whose
  usual audience best matches the late witnesses is the likely replayer. A hotspot named so
  for several beacons, and for most of the replayed beacons it heard, is flagged.
- **Clock**: a report's own time against the oracle's receive time, over the reports the
  oracle received while they were timely (so upload delays do not count), off by a minute or
  more: the hotspot's clock, or its reports, are not what they claim.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from oracle.detect.grouped import group_count, group_median
from oracle.detect.history import TIMELY_MS, History
from oracle.detect.model import DetectParams, Finding

MIN_REPLAYS = 2


def relay(history: History, params: DetectParams) -> list[Finding]:
    w = history.witnesses
    n = len(history.hotspots)
    lag = w.witness_timestamp_ms - w.beacon_timestamp_ms
    prompt = np.abs(lag) < params.replay_ms
    median = group_median(w.witness[prompt], lag[prompt], n)
    count = group_count(w.witness[prompt], n)
    flagged = (count >= params.min_timed) & (median >= params.relay_ms) & (
        median < params.clock_offset_ms)
    return [
        Finding(
            detector="relay_latency",
            hotspots=(history.hotspots.keys[i],),
            score=float(median[i] / params.relay_ms),
            evidence={"median_reception_after_transmission_ms": round(float(median[i]), 1),
                      "reports": int(count[i])},
        )
        for i in np.flatnonzero(flagged)
    ]


def clock(history: History, params: DetectParams) -> list[Finding]:
    w = history.witnesses
    n = len(history.hotspots)
    timely = (w.witness_received_ms - w.beacon_received_ms) <= TIMELY_MS
    # Witness reports: the witness's time against the oracle's; beacon reports likewise (one
    # row per beacon is enough: rows of one beacon repeat its times).
    _, first = np.unique(w.beacon, return_index=True)
    who = np.concatenate((w.witness[timely], w.beaconer[first]))
    offset = np.concatenate((
        w.witness_timestamp_ms[timely] - w.witness_received_ms[timely],
        w.beacon_timestamp_ms[first] - w.beacon_received_ms[first],
    ))
    median = group_median(who, offset, n)
    count = group_count(who, n)
    flagged = (count >= params.min_timed) & (np.abs(median) >= params.clock_offset_ms)
    return [
        Finding(
            detector="clock_offset",
            hotspots=(history.hotspots.keys[i],),
            score=float(abs(median[i]) / params.clock_offset_ms),
            evidence={"median_offset_s": round(float(median[i]) / 1000, 1),
                      "reports": int(count[i])},
        )
        for i in np.flatnonzero(flagged)
    ]


def replay(history: History, params: DetectParams) -> list[Finding]:
    w = history.witnesses
    h = history.hotspots
    lag = w.witness_timestamp_ms - w.beacon_timestamp_ms
    index = {key: i for i, key in enumerate(h.keys)}
    wrong_clock = {index[f.hotspots[0]] for f in clock(history, params)}
    honest_clock = ~np.isin(w.witness, np.array(sorted(wrong_clock), dtype=np.int64))
    late = (lag >= params.replay_ms) & honest_clock
    if not late.any():
        return []
    # Who normally hears each hotspot's own beacons: a replayer's copies are heard by the
    # same neighbours that hear its beacons.
    prompt = w.prompt(params.relay_ms)
    audience: dict[int, set[int]] = {}
    for b, x in set(zip(w.beaconer[prompt].tolist(), w.witness[prompt].tolist(), strict=True)):
        audience.setdefault(b, set()).add(x)
    order = np.argsort(w.beacon, kind="stable")
    by_beacon = w.beacon[order]
    named: Counter[int] = Counter()
    candidates_of: Counter[int] = Counter()
    for beacon in np.unique(w.beacon[late]):
        rows = order[np.searchsorted(by_beacon, beacon):np.searchsorted(by_beacon, beacon, "right")]
        late_witnesses = set(w.witness[rows[late[rows]]].tolist())
        timely = set(w.witness[rows[np.abs(lag[rows]) < params.relay_ms]].tolist())
        timely -= late_witnesses
        if not timely:
            continue
        score = {c: _jaccard(audience.get(c, set()), late_witnesses) for c in sorted(timely)}
        best = max(score, key=score.__getitem__)
        if score[best] > 0:
            named[best] += 1
        candidates_of.update(timely)
    return [
        Finding(
            detector="replay",
            hotspots=(h.keys[i],),
            score=float(count / MIN_REPLAYS),
            evidence={"replayed_beacons_explained": count,
                      "beacons_it_heard_in_time_that_were_replayed": candidates_of[i]},
        )
        for i, count in sorted(named.items())
        if count >= MIN_REPLAYS and count >= 0.5 * candidates_of[i]
    ]


def _jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0
