"""Time tells relays and wrong clocks apart from honest radios.

Every report carries the hotspot's own time: the beaconer's of its transmission, the witness's
of its reception. LoRa travels a few km in microseconds and honest clocks (GPS, NTP) agree to
tens of milliseconds, so the witnesses of one beacon report nearly the same reception −
transmission ("lag"). Where that lag sits depends on conventions (the beacon's time is taken
after the transmission; a radio stamps the start or the end of a reception; a beaconer's clock
may be off), so each witness is judged against the beacon's other witnesses: its lag less the
lower median of the beacon's plausible lags (within `replay_ms`). Honest: a sharp peak at 0.

- **Relay**: a witness with at least `min_timed` receptions, and `relay_share` of its
  receptions, `relay_ms` or more after the other witnesses': it reports what a partner heard
  (perhaps beside what it hears itself) and adds the internet in between. Honest clocks are
  never that late. Or a witness whose reports copy another's: the same RSSI and SNR, not at
  one instant, on `min_timed` or more beacons and `copy_share` of those the quieter of the
  two reported. That catches the relay whose partner hears little (a few copies among many
  receptions of its own) and the one whose partner's clock is off (no lag to compare).
- **Clock**: a report's own time against the oracle's receive time, over the reports the
  oracle received while they were timely (so upload delays do not count), off by a minute or
  more: the hotspot's clock, or its reports, are not what they claim.

Replays, judged by the same lag, are replay.py's.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from oracle.detect.grouped import group_count, group_lower_median, group_median
from oracle.detect.history import History
from oracle.detect.model import DetectParams, Finding
from oracle.detect.shared import identical_rows


def relative_lag(history: History, params: DetectParams,
                 exclude: np.ndarray | None = None) -> np.ndarray:
    """Each report's lag less its beacon's lower-median plausible lag (the network's, for a
    beacon with no plausible witness); `exclude` marks reports whose clocks are not trusted."""
    w = history.witnesses
    lag = w.witness_timestamp_ms - w.beacon_timestamp_ms
    plausible = np.abs(lag) < params.replay_ms
    if exclude is not None:
        plausible &= ~exclude
    if not plausible.any():
        return lag
    beacons = int(w.beacon.max()) + 1
    base = group_lower_median(w.beacon[plausible], lag[plausible], beacons)
    base = np.where(np.isnan(base), float(np.median(lag[plausible])), base)
    return lag - base[w.beacon]


def relay(history: History, params: DetectParams) -> list[Finding]:
    w = history.witnesses
    n = len(history.hotspots)
    raw = w.witness_timestamp_ms - w.beacon_timestamp_ms
    lag = relative_lag(history, params)
    prompt = np.abs(raw) < params.replay_ms
    late = prompt & (lag >= params.relay_ms) & (lag < params.replay_ms)
    count = group_count(w.witness[prompt], n)
    relayed = group_count(w.witness[late], n)
    median = group_median(w.witness[late], lag[late], n)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.nan_to_num(relayed / count)
    copied = copies(history, params)
    late_enough = (relayed >= params.min_timed) & (share >= params.relay_share)
    flagged = late_enough | (copied >= params.min_timed)
    return [
        Finding(
            detector="relay_latency",
            hotspots=(history.hotspots.keys[i],),
            score=float(max(share[i] / params.relay_share, copied[i] / params.min_timed)),
            evidence={"late_reports": int(relayed[i]), "reports": int(count[i]),
                      "median_ms_after_other_witnesses": round(float(median[i]), 1),
                      "copies_of_another_witness": int(copied[i])},
        )
        for i in np.flatnonzero(flagged)
    ]


def copies(history: History, params: DetectParams) -> NDArray[np.int64]:
    """Per hotspot, the beacons it reported as a copy of another witness's reception (0 for
    all but the copiers of pairs that copy on `copy_share` of the quieter one's beacons)."""
    w = history.witnesses
    n = len(history.hotspots)
    out = np.zeros(n, dtype=np.int64)
    ra, rb = identical_rows(w)
    apart = np.abs(w.witness_timestamp_ms[ra] - w.witness_timestamp_ms[rb]) > params.same_stamp_ms
    ra, rb = ra[apart], rb[apart]
    if ra.size == 0:
        return out
    # Order each pair (a < b), and count its beacons and each hotspot's beacons once.
    swap = w.witness[ra] > w.witness[rb]
    ra, rb = np.where(swap, rb, ra), np.where(swap, ra, rb)
    beacons = int(w.beacon.max()) + 1
    reported = group_count(np.unique(w.witness.astype(np.int64) * beacons + w.beacon) // beacons,
                           n)
    pair = w.witness[ra].astype(np.int64) * n + w.witness[rb]
    # Pairs that copy often enough, counted in beacons (vectorised: chance agreements are many
    # in a large network, one beacon each).
    pairs, count = np.unique(np.unique(pair * beacons + w.beacon[ra]) // beacons,
                             return_counts=True)
    enough = (count >= params.min_timed) & (
        count >= params.copy_share * np.minimum(reported[pairs // n], reported[pairs % n]))
    pairs, count = pairs[enough], count[enough]
    keep = np.isin(pair, pairs)
    ra, rb, pair = ra[keep], rb[keep], pair[keep]
    lag_a = w.witness_timestamp_ms[ra] - w.beacon_timestamp_ms[ra]
    lag_b = w.witness_timestamp_ms[rb] - w.beacon_timestamp_ms[rb]
    timed = (np.abs(lag_a) < params.replay_ms) & (np.abs(lag_b) < params.replay_ms)
    for p, copied in zip(pairs.tolist(), count.tolist(), strict=True):
        a, b = divmod(p, n)
        rows = pair == p
        if timed[rows].any():  # the copy is the later one, by the internet in between
            later = float(np.median(lag_a[rows & timed] - lag_b[rows & timed]))
            copier = (a if later > 0 else b) if abs(later) >= params.relay_ms else -1
        else:  # a clock too far off to compare: the copier reports its own receptions too
            copier = (a if reported[a] > reported[b] else b) if reported[a] != reported[b] else -1
        if copier >= 0:
            out[copier] += copied
    return out


def clock(history: History, params: DetectParams) -> list[Finding]:
    w = history.witnesses
    n = len(history.hotspots)
    timely = w.timely()
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
