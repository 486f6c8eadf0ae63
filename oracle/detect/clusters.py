"""Closed clusters: groups that witness almost only each other while their neighbours are
right there.

From the directed witness graph (X witnessed a beacon of Y), a hotspot and the beaconers it
witnessed form a candidate group. The group is closed when every member's witnessing stays
inside it (at least `closed_share`). Closed alone is innocent — a rural trio hears only itself
— so the group is judged against the graph around it: it is flagged only when at least
`min_outsiders` active hotspots stand within the group's own reach (the longest link its members
report among themselves) and the members witnessed none of them. Outsiders that did witness the
members' beacons (the ring is audible, it just never listens) are counted as evidence.
The graph is of prompt receptions only: a late report of a replayed copy is not its witness
listening to that beaconer (a ring member that hears a replayer's copy of an outsider's
beacon has still never listened to the outsider).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from oracle.detect.history import History, haversine_m
from oracle.detect.model import DetectParams, Finding

MAX_GROUP = 64  # larger "groups" are neighbourhoods, not rings


def closed_clusters(history: History, params: DetectParams,
                    explained: NDArray[np.bool_] | None = None,
                    misplaced: NDArray[np.bool_] | None = None) -> list[Finding]:
    """`explained`: hotspots already found by other detectors; `misplaced`: those of them
    found for their asserted place (false location). A group is judged without them: its
    reach is measured without the misplaced, its outsiders are not among the explained, and
    the explained are not accused again; they still belong to it (their links are receptions:
    listening to one outside the group is listening out, and a ring member found otherwise is
    still the ring's)."""
    w = history.witnesses.subset(history.witnesses.prompt(params.replay_ms))
    n = len(history.hotspots)
    trusted = np.ones(n, dtype=bool) if explained is None else ~explained
    placed = np.ones(n, dtype=bool) if misplaced is None else ~misplaced
    if len(w) == 0:
        return []
    heard: list[set[int]] = [set() for _ in range(n)]  # beaconers each hotspot witnessed
    heard_by: list[set[int]] = [set() for _ in range(n)]
    for b, x in set(zip(w.beaconer.tolist(), w.witness.tolist(), strict=True)):
        if b != x:
            heard[x].add(b)
            heard_by[b].add(x)
    active = np.array([bool(heard[i] or heard_by[i]) for i in range(n)]) & trusted
    h = history.hotspots
    seen: set[frozenset[int]] = set()
    findings = []
    for m in range(n):
        if len(heard[m]) < params.min_cluster - 1:
            continue
        group = frozenset({m} | heard[m])
        if group in seen or len(group) > MAX_GROUP:
            continue
        seen.add(group)
        if not all(heard[x] and len(heard[x] & group) >= params.closed_share * len(heard[x])
                   for x in group):
            continue
        members = np.array(sorted(x for x in group if trusted[x]))
        where = {x for x in group if placed[x]}  # members whose asserted place holds
        reach = max((h.distance_m(a, b) for a in where for b in heard[a] & where), default=0.0)
        near = np.zeros(n, dtype=bool)
        for x in members:
            near |= haversine_m(h.lat, h.lon, np.full(n, h.lat[x]), np.full(n, h.lon[x])) <= reach
        near[sorted(group)] = False
        outsiders = np.flatnonzero(near & active)
        if outsiders.size < params.min_outsiders:
            continue
        listened = {o for x in group for o in heard[x]} - group
        if any(o in listened for o in outsiders.tolist()):
            continue
        audible = sorted({o for x in group for o in heard_by[x]} - group)
        for x in members:
            findings.append(Finding(
                detector="closed_cluster",
                hotspots=(h.keys[x],),
                score=float(outsiders.size / params.min_outsiders),
                evidence={
                    "cluster_size": len(group),
                    "outsiders_within_reach": int(outsiders.size),
                    "reach_m": round(reach),
                    "outsiders_that_heard_the_cluster": len(audible),
                    "cluster": sorted(h.keys[y].hex() for y in group),
                },
            ))
    return findings

