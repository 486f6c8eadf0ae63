"""A hotspot's GPS fixes over time, against what a real receiver does.

A real receiver standing still scatters around its position by about its own accuracy estimate
(h_acc): never by nothing, and not by kilometres. Fixes replayed from a recording or made up by
a spoofer give themselves away:

- **Frozen**: many fixes that never move by a tenth of a microdegree (about a centimetre).
- **Too clean**: a scatter far below the accuracy the fixes claim (synthetic jitter).
- **Ring**: a scatter of the right size but the wrong shape: every fix about the same distance
  from the centre, only the bearing wandering (a spoofer adding a fixed-radius wobble).
- **Far**: the fixes' median position stands more than 400 m from the asserted cell (the
  distance past which docs/protocol.md §5 gives a fix no location trust).
- **Jumps**: consecutive fixes a kilometre or more apart while the assertion stays put.
"""

from __future__ import annotations

import math

import numpy as np

from oracle.detect.history import History, haversine_m
from oracle.detect.model import DetectParams, Finding

# One tenth of a microdegree: the wire's resolution (lat_e7); about 1.1 cm of latitude.
FROZEN_DEG = 1e-7

# A still receiver's error is, to first order, a zero-mean circular Gaussian in the horizontal
# plane, so its fixes' distances from their centre follow a Rayleigh distribution, whose spread
# is fixed relative to its mean whatever the receiver's accuracy: with σ = 1, E[r] = √(π/2),
# E[r²] = 2, so std/mean = √(4/π − 1) ≈ 0.523. Anything that makes a real scatter less regular
# only raises it: an elliptical error (DOP unequal by axis) goes towards the half-normal's 0.756,
# an accuracy that changes over the day mixes scales. A fixed-radius circle has ~0, a uniform
# disc 0.354.
RAYLEIGH_CV = math.sqrt(4 / math.pi - 1)


def _rayleigh_cv_sd1() -> float:
    """√n × the standard deviation of the std/mean of n Rayleigh radii (delta method on the
    first two sample moments; E[r³] = 3√(π/2), E[r⁴] = 8 for σ = 1): ≈ 0.371."""
    m1, m2, m3, m4 = math.sqrt(math.pi / 2), 2.0, 3 * math.sqrt(math.pi / 2), 8.0
    var1, var2, cov = m2 - m1**2, m4 - m2**2, m3 - m1 * m2
    d1, d2 = -2 * m2 / m1**3, 1 / m1**2  # of h = m2/m1² − 1, with cv = √h
    var_h = d1**2 * var1 + d2**2 * var2 + 2 * d1 * d2 * cov
    return math.sqrt(var_h) / (2 * RAYLEIGH_CV)


RAYLEIGH_CV_SD1 = _rayleigh_cv_sd1()


def ring_threshold(fixes: int, z: float) -> float:
    """The radius spread (std/mean) below which `fixes` fixes are too regular for a real
    receiver: `z` standard deviations under the Rayleigh value."""
    return RAYLEIGH_CV - z * RAYLEIGH_CV_SD1 / math.sqrt(fixes)


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
            continue
        ring = _ring(la, lo, params)
        if ring is not None:
            findings.append(Finding("gps_ring", (key,), ring[0], ring[1]))
    return findings


def _ring(lat: np.ndarray, lon: np.ndarray, params: DetectParams) -> tuple[float, dict] | None:
    """Score and evidence when the fixes' distances from their centroid spread too little for
    a real receiver (see RAYLEIGH_CV), else None. The centroid is the mean: the Rayleigh law is
    of distances from the true position, which the mean estimates."""
    n = lat.size
    centre_lat, centre_lon = float(lat.mean()), float(lon.mean())
    radius = haversine_m(lat, lon, np.full(n, centre_lat), np.full(n, centre_lon))
    mean = float(radius.mean())
    if mean <= 0.0:
        return None
    cv = float(radius.std()) / mean
    limit = ring_threshold(n, params.ring_z)
    if cv >= limit:
        return None
    return ((RAYLEIGH_CV - cv) / (RAYLEIGH_CV - limit),
            {"fixes": int(n), "radius_mean_m": round(mean, 3), "radius_cv": round(cv, 4),
             "rayleigh_cv": round(RAYLEIGH_CV, 4), "threshold_cv": round(limit, 4)})
