"""Whether a hotspot's partners gather where it asserts it stands, whatever loss it adds.

An attenuator between radio and antenna lets a hotspot assert a false place a few km from where
it stands, its GPS spoofed to match: the loss keeps its real neighbours from hearing it too
strongly for the asserted distances, so neither the per-report bound (docs/protocol.md §5 rule
11) nor the network's distance law (`signal.py`, a median residual) sees it. But a loss on every
link only shortens its reach; it cannot change *whom* it reaches. Near hotspots are linked more
often than far ones (a path is more likely open, the loss smaller), so a hotspot's partners
gather around where it stands. The RSSI of its links is no guide on this network: received
frames look alike from a few hundred metres to a few km (docs/simulator-models.md), and a
fit of its links' loss to a distance law with a free offset strayed from honest hotspots'
places by 2.8 km at the median (docs/benchmarks.md, issue 13). Who hears whom does not.

The model, per hotspot: each of its m partners is a draw among the active hotspots (those that
beaconed or witnessed in the window) within 2 × reach of its asserted place, hotspot k drawn
with weight exp(−d_k / s), d_k its distance from the hotspot's place p. How many partners it
has is its own affair (an attenuator, a long cable, walls, a rooftop's gain raise or lower it:
the draws are counted as they are), and so is its reach s (a few multiples of the network's
scale: an attenuator or walls shorten it, a rooftop lengthens it). Where the hotspots stand is
in the weights: one at a town's edge expects its partners towards town.

1. A first look: the partners' centre against the one expected at the asserted place with the
   network's scale (Σ w_k q_k / Σ w_k), over the weighted spread S of the candidates' places:
   z² = m Δᵀ S⁻¹ Δ, a score test of the place. Below position_prefilter_z2, no more is done.
2. The fit: p on a grid within reach of the asserted place and s among _REACH_FACTORS × scale,
   by likelihood, against the asserted place with its best s. Twice the log-likelihood ratio
   is χ² with 2 degrees of freedom when the asserted place is right.
3. Flagged: ≥ position_min_partners partners (a quiet rural hotspot with a few gets no
   verdict), a ratio ≥ position_lr, and a fitted place ≥ position_far_m from the asserted one.

The scale is the network's own: the median distance between linked hotspots over 1.678, the
median of a Gamma(2) distance (what partners drawn by exp(−d / scale) among evenly spread
hotspots show); reach is position_reach scales. A hotspot that moved and re-asserted is judged
on the links after its assertion only (`History` keeps only those). The test runs twice: the
second time without the hotspots the first one flagged (their asserted places are wrong), as
partners or as candidates.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from oracle.detect.history import M_PER_DEG, History, fitted_place
from oracle.detect.model import DetectParams, Finding
from oracle.detect.neighbours import Neighbours

# Median of a Gamma(shape 2) variable in units of its scale: the partners' distances from a
# hotspot among evenly spread ones, linked with probability exp(−d / scale).
_GAMMA2_MEDIAN = 1.678
_GRID = 25  # places per side of the fit's grid
# Cells `reach` wide: the hotspots within 2 × reach of one are in its own or two about it each way.
_AROUND = 2
_REACH_FACTORS = (0.35, 0.5, 0.7, 1.0, 1.4, 2.0)


def position(history: History, params: DetectParams) -> list[Finding]:
    judged = judge(history, params)
    if judged is None:
        return []
    flagged, lr, fitted, partners, scale = judged
    h = history.hotspots
    return [
        Finding(
            detector="position_fit",
            hotspots=(h.keys[i],),
            score=float(min(lr[i] / params.position_lr,
                            np.hypot(*fitted[i]) / params.position_far_m)),
            evidence={
                # Where its partners say it stands, and how much better that explains them.
                **fitted_place(float(h.lat[i]), float(h.lon[i]), float(fitted[i, 0]),
                               float(fitted[i, 1])),
                "fitted_from_asserted_m": round(float(np.hypot(*fitted[i]))),
                "likelihood_ratio": round(float(lr[i]), 1),
                "partners": int(partners[i]),
                "scale_m": round(scale),
            },
        )
        for i in np.flatnonzero(flagged)
    ]


def judge(history: History, params: DetectParams) -> tuple[
        NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], float
] | None:
    """Per hotspot: (flagged, likelihood ratio, fitted place in m east and north of the
    asserted one, partners within 2 × reach), and the network's scale in m; None without
    prompt witness reports to read."""
    w = history.witnesses.subset(history.witnesses.prompt(params.replay_ms))
    n = len(history.hotspots)
    if len(w) == 0:
        return None
    pairs = history.links(params.replay_ms)
    owner, partner = pairs // n, pairs % n
    scale = float(np.median(w.distance_m)) / _GAMMA2_MEDIAN
    if scale <= 0:
        return None
    active = np.zeros(n, dtype=bool)
    active[owner] = True
    grid = Neighbours(history.hotspots, params.position_reach * scale)
    flagged, lr, fitted, partners = _test(history, owner, partner, active, scale, params,
                                          grid, active)
    if flagged.any():
        # Again without the flagged, for the hotspots that have one among their candidates:
        # the others' candidates and partners are the same as before.
        again = grid.around_any(flagged, _AROUND)
        second = _test(history, owner, partner, active & ~flagged, scale, params, grid, again)
        flagged = np.where(again, second[0], flagged)
        lr = np.where(again, second[1], lr)
        fitted = np.where(again[:, None], second[2], fitted)
        partners = np.where(again, second[3], partners)
    return flagged, lr, fitted, partners, scale


def _test(history: History, owner: NDArray[np.int64], partner: NDArray[np.int64],
          candidate: NDArray[np.bool_], scale: float, params: DetectParams, grid: Neighbours,
          todo: NDArray[np.bool_]
          ) -> tuple[NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64],
                     NDArray[np.int64]]:
    """(flagged, likelihood ratio, fitted place east/north of the asserted one in m, partners
    within 2 × reach) per hotspot, for the hotspots of `todo` (zeros for the others)."""
    h = history.hotspots
    n = len(h)
    reach = params.position_reach * scale
    lr, fitted = np.zeros(n), np.zeros((n, 2))
    count = np.zeros(n, dtype=np.int64)
    keep = candidate[partner]
    owner, partner = owner[keep], partner[keep]
    judged = todo & (np.bincount(owner, minlength=n) >= params.position_min_partners)
    order = np.argsort(owner, kind="stable")
    owner, partner = owner[order], partner[order]
    start = np.searchsorted(owner, np.arange(n + 1))
    for i in np.flatnonzero(judged):
        near = grid.around(i, _AROUND, _AROUND)
        near = near[candidate[near] & (near != i)]
        cos = math.cos(math.radians(float(h.lat[i])))
        qx = (h.lon[near] - h.lon[i]) * M_PER_DEG * cos
        qy = (h.lat[near] - h.lat[i]) * M_PER_DEG
        inside = np.hypot(qx, qy) <= 2 * reach
        near, qx, qy = near[inside], qx[inside], qy[inside]
        linked = np.isin(near, partner[start[i]:start[i + 1]])
        count[i] = m = int(linked.sum())
        if m < params.position_min_partners or _score(qx, qy, linked, scale) < (
                params.position_prefilter_z2):
            continue
        lr[i], fitted[i] = _fit(qx, qy, linked, scale, reach)
    flagged = ((count >= params.position_min_partners) & (lr >= params.position_lr)
               & (np.hypot(fitted[:, 0], fitted[:, 1]) >= params.position_far_m))
    return flagged, lr, fitted, count


def _score(qx: NDArray[np.float64], qy: NDArray[np.float64], linked: NDArray[np.bool_],
           scale: float) -> float:
    """z² of the partners' centre against the one expected around the asserted place (the
    module's docstring): a cheap first look, so that only the hotspots it finds off are fitted."""
    weight = np.exp(-np.hypot(qx, qy) / scale)
    total = weight.sum()
    ex, ey = float(weight @ qx / total), float(weight @ qy / total)
    sxx = float(weight @ (qx - ex) ** 2 / total)
    syy = float(weight @ (qy - ey) ** 2 / total)
    sxy = float(weight @ ((qx - ex) * (qy - ey)) / total)
    det = sxx * syy - sxy * sxy
    if det <= 0:
        return 0.0
    dx, dy = float(qx[linked].mean()) - ex, float(qy[linked].mean()) - ey
    return int(linked.sum()) * (syy * dx * dx - 2 * sxy * dx * dy + sxx * dy * dy) / det


def _fit(qx: NDArray[np.float64], qy: NDArray[np.float64], linked: NDArray[np.bool_],
         scale: float, reach: float) -> tuple[float, tuple[float, float]]:
    """(likelihood ratio, fitted place) of the hotspot's own place and reach against the
    asserted place with its best reach: each partner a draw among the candidates (those within
    2 × reach of the asserted place) with weight exp(−d / s), the place on a grid within reach
    of the asserted one, s a few multiples of the network's scale (an attenuator or walls
    shorten a reach, a rooftop lengthens it)."""
    steps = np.linspace(-reach, reach, _GRID)
    gx, gy = np.meshgrid(steps, steps)
    px = np.concatenate(([0.0], gx.ravel()))
    py = np.concatenate(([0.0], gy.ravel()))
    d = np.hypot(px[:, None] - qx[None, :], py[:, None] - qy[None, :])
    best = np.full(px.size, -np.inf)
    for factor in _REACH_FACTORS:
        s = scale * factor
        nearest = d.min(axis=1)  # log Σ exp(−d / s), without underflow far from everyone
        log_total = -nearest / s + np.log(np.exp(-(d - nearest[:, None]) / s).sum(axis=1))
        best = np.maximum(best, -(d[:, linked] / s).sum(axis=1) - linked.sum() * log_total)
    k = int(np.argmax(best))
    return float(2 * (best[k] - best[0])), (float(px[k]), float(py[k]))
