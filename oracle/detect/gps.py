"""A hotspot's GPS fixes over time, against what a real receiver does.

A real receiver standing still scatters around its position by about its own accuracy estimate
(h_acc): never by nothing, and not by kilometres. Fixes replayed from a recording or made up by
a spoofer give themselves away:

- **Frozen**: many fixes that never move by a tenth of a microdegree (about a centimetre).
- **Too clean**: a scatter far below the accuracy the fixes claim (synthetic jitter).
- **Far**: the fixes' median position stands more than 400 m from the asserted cell (the
  distance past which docs/protocol.md §5 gives a fix no location trust).
- **Jumps**: consecutive fixes a kilometre or more apart while the assertion stays put.
"""

from __future__ import annotations

import numpy as np

from oracle.detect.history import History, haversine_m
from oracle.detect.model import DetectParams, Finding

# One tenth of a microdegree: the wire's resolution (lat_e7); about 1.1 cm of latitude.
FROZEN_DEG = 1e-7


def gps(history: History, params: DetectParams) -> list[Finding]:
    f = history.fixes
    h = history.hotspots
    if len(f) == 0:
        return []
    order = np.lexsort((f.received_ms, f.hotspot))
    who = f.hotspot[order]
    lat, lon, acc = f.lat[order], f.lon[order], f.h_acc_m[order]
    starts = np.flatnonzero(np.concatenate(([True], who[1:] != who[:-1])))
    ends = np.concatenate((starts[1:], [who.size]))
    findings = []
    for start, end in zip(starts, ends, strict=True):
        i = int(who[start])
        key = h.keys[i]
        la, lo, ac = lat[start:end], lon[start:end], acc[start:end]
        centre_lat, centre_lon = float(np.median(la)), float(np.median(lo))
        far = float(haversine_m(np.array([centre_lat]), np.array([centre_lon]),
                                h.lat[i:i + 1], h.lon[i:i + 1])[0])
        if far > params.far_m:
            findings.append(Finding("gps_far", (key,), far / params.far_m,
                                    {"median_fix_from_asserted_m": round(far),
                                     "fixes": int(end - start)}))
        steps = haversine_m(la[:-1], lo[:-1], la[1:], lo[1:])
        jumps = int((steps >= params.jump_m).sum())
        if jumps >= params.min_jumps:
            findings.append(Finding("gps_jumps", (key,), jumps / params.min_jumps,
                                    {"jumps": jumps, "largest_m": round(float(steps.max()))}))
        if end - start < params.min_fixes:
            continue
        if np.ptp(la) < FROZEN_DEG and np.ptp(lo) < FROZEN_DEG:
            findings.append(Finding("gps_frozen", (key,), float(end - start) / params.min_fixes,
                                    {"fixes": int(end - start), "spread_m": 0.0}))
            continue
        scatter = haversine_m(la, lo, np.full(la.size, centre_lat), np.full(lo.size, centre_lon))
        rms = float(np.sqrt(np.mean(scatter**2)))
        claimed = float(np.median(ac))
        if claimed > 0 and rms < params.clean_ratio * claimed:
            findings.append(Finding("gps_too_clean", (key,),
                                    params.clean_ratio * claimed / max(rms, 1e-3),
                                    {"fixes": int(end - start), "scatter_rms_m": round(rms, 3),
                                     "median_h_acc_m": round(claimed, 2)}))
    return findings
