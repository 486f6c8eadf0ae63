"""Where keys say they stand, and how they move: layouts no owners make, only a desk.

Owners put hotspots where they live and work: their asserted places scatter, and when one
moves house it moves alone. Keys one operator places to collect coverage it does not give
(keys behind one antenna, or no radio at all) are often placed by a rule, and real denylist
cases showed two (issue 13):

- **A grid** (`grids`): asserted places on an evenly spaced square grid (sim_radio's
  `shared_antenna` can assert one, `grid_km`). Four places at the corners of one square, to
  the resolution of an asserted cell, happen by chance too where hotspots are many, so a
  square alone is not a grid: squares of one side that share an edge are joined, and a grid
  is flagged when its corners stand at `grid_members` places or more (keys asserting one
  cell count once). A square is p, p + a, p + b, p + a + b, with b a turned a quarter: each
  corner within `grid_tolerance_m` of where the first two put it, `grid_min_m` ≤ |a| ≤
  `grid_max_m`. Shorter sides are left out, where the cells' own rounding is a large share of
  the side (two honest neighbours across a street); longer ones are not a neighbourhood.
  Vectors are taken in metres east and north of each corner, east at each pair's middle
  latitude: over a few km the earth's curve then moves a corner by centimetres.
- **Moved together** (`moved_together`): hotspots that re-assert at one time, each moved by
  one vector (sim_radio's `cluster_move`): a layout carried across the map whole, which no
  owners moving house do together. Read from the assertion log (History.moves): a move is
  seen by the histories whose window holds the new assertions, and its entry lasts the
  policy's 7 epochs; after that the moved keys are judged on their links like anyone.

FRAMING. A layout is made of other keys' assertions, and anyone with a maker's quota can add
keys: four fakes asserted beside any two honest hotspots 300 m–5 km apart complete a 2 × 3
grid with them, and two fakes standing near an honest hotspot that moves, re-asserted by its
vector within the hour (assertions are public), carry it "together". What a framer cannot
change is when the honest hotspots asserted. A desk places its keys in one sitting, so a
layout counts only places asserted within `asserted_together_ms` of each other: a grid member
is flagged when grid_members places of its grid, its own among them, were asserted within
that of its own assertion; two moves join only when the places they left were asserted
within it of each other too. A framer must then have asserted its keys within a day of its
victims' own assertions, before knowing how they would move (tests/oracle/
test_detect_layout.py). An operator who spreads its grid over days is not found by its
layout: the radio evidence is left to find it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from oracle.detect.history import M_PER_DEG, History, Hotspots, haversine_m
from oracle.detect.model import DetectParams, Finding
from oracle.detect.neighbours import Neighbours


def grids(history: History, params: DetectParams) -> list[Finding]:
    h = history.hotspots
    if len(h) < 4:
        return []
    findings = []
    for members, spacing in _joined(_squares(h, params)):
        group = np.array(members)
        together = haversine_m(h.lat[group, None], h.lon[group, None], h.lat[group],
                               h.lon[group]) < params.grid_tolerance_m
        if _places(together) < params.grid_members:
            continue
        at = h.asserted_at_ms[group]
        for k, i in enumerate(members):
            # The grid's places asserted together with this one (FRAMING).
            near_in_time = np.flatnonzero(np.abs(at - at[k]) <= params.asserted_together_ms)
            places = _places(together[np.ix_(near_in_time, near_in_time)])
            if places < params.grid_members:
                continue
            with_it = group[near_in_time]
            findings.append(Finding(
                detector="grid_layout",
                hotspots=(h.keys[i],),
                score=places / params.grid_members,
                evidence={
                    "grid_places": places,
                    "hotspots_in_grid": len(members),
                    "spacing_m": round(spacing),
                    "asserted_within_ms": int(np.ptp(h.asserted_at_ms[with_it])),
                    "grid": sorted(h.keys[j].hex() for j in members),
                },
            ))
    return findings


def _squares(h: Hotspots, params: DetectParams
             ) -> list[tuple[tuple[int, int, int, int], float]]:
    """Every square of asserted places (its corners in turn, and its side in metres), once."""
    n = len(h)
    reach = params.grid_max_m * math.sqrt(2) + params.grid_tolerance_m
    cells, everyone = Neighbours(h), np.ones(n, dtype=bool)
    found: dict[frozenset[int], tuple[tuple[int, int, int, int], float]] = {}
    for p in range(n):
        near, side = cells.within(p, reach, everyone)
        sides = np.flatnonzero((side >= params.grid_min_m) & (side <= params.grid_max_m))
        if sides.size < 2:
            continue
        # East and north of p, in metres (east at each pair's middle latitude).
        east = (h.lon[near] - h.lon[p]) * M_PER_DEG * np.cos(np.radians((h.lat[near]
                                                                        + h.lat[p]) / 2))
        north = (h.lat[near] - h.lat[p]) * M_PER_DEG
        # Per side a = (ae, an): b is a turned a quarter anticlockwise, (−an, ae), and the
        # square p, p + a, p + a + b, p + b; its two far corners looked for among all near,
        # each the hotspot nearest where it should stand (another may stand within the
        # tolerance too: the answer must not hang on the order they are listed in).
        ae, an = east[sides, None], north[sides, None]
        tol2 = params.grid_tolerance_m ** 2
        far = (east - (ae - an)) ** 2 + (north - (an + ae)) ** 2
        beside = (east + an) ** 2 + (north - ae) ** 2
        for k in np.flatnonzero((far.min(axis=1) < tol2) & (beside.min(axis=1) < tol2)):
            q = int(near[sides[k]])
            r = int(near[int(far[k].argmin())])
            s = int(near[int(beside[k].argmin())])
            corners = frozenset((p, q, r, s))
            if len(corners) == 4 and corners not in found:
                found[corners] = ((p, q, r, s), float(side[sides[k]]))
    return list(found.values())


def _joined(squares: list[tuple[tuple[int, int, int, int], float]]
            ) -> list[tuple[list[int], float]]:
    """Squares of one side (within _SAME_SIDE) sharing an edge, joined: (the hotspots at
    their corners, the median side)."""
    by_edge: dict[frozenset[int], list[int]] = {}
    for s, (corners, _) in enumerate(squares):
        for e in range(4):
            by_edge.setdefault(frozenset((corners[e], corners[(e + 1) % 4])), []).append(s)
    links = [(shared[0], other) for shared in by_edge.values() for other in shared[1:]
             if abs(squares[shared[0]][1] - squares[other][1])
             <= _SAME_SIDE * max(squares[shared[0]][1], squares[other][1])]
    return [(sorted({c for s in members for c in squares[s][0]}),
             float(np.median([squares[s][1] for s in members])))
            for members in _components(range(len(squares)), links)]


def _places(together: NDArray[np.bool_]) -> int:
    """How many places some hotspots stand at, given which pairs stand within the tolerance
    of each other: each counted once with those beside it (keys behind one antenna may assert
    one cell: two at one corner are one corner)."""
    counted: list[int] = []
    for i in range(together.shape[0]):
        if not together[i, counted].any():
            counted.append(i)
    return len(counted)


def _components(items: Iterable[int], links: Iterable[tuple[int, int]]) -> list[list[int]]:
    """The items joined by links, each group in the items' order (union–find)."""
    parent = {i: i for i in items}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        parent[root(b)] = root(a)
    groups: dict[int, list[int]] = {}
    for i in parent:
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


# Two squares of one grid: sides within this share of each other (a cell's rounding, ~10 m,
# is 1 % of a 1 km side).
_SAME_SIDE = 0.02


def moved_together(history: History, params: DetectParams) -> list[Finding]:
    m, h = history.moves, history.hotspots
    if len(m) < params.moved_together_members:
        return []
    # East at the move's middle latitude. One bearing and distance from places far apart is
    # still not one vector on a sphere (30 km from 36° N and from 57° N: 56 m apart), hence
    # moved_together_share.
    to_lat = h.lat[m.hotspot]
    east = (h.lon[m.hotspot] - m.from_lon) * M_PER_DEG * np.cos(np.radians((m.from_lat + to_lat)
                                                                          / 2))
    north = (to_lat - m.from_lat) * M_PER_DEG
    length = np.hypot(east, north)
    far = np.flatnonzero(length >= params.moved_min_m)
    far = far[np.argsort(m.at_ms[far], kind="stable")]
    # Moves in time order: each linked to the later ones within the window and the vector.
    links = []
    for k, a in enumerate(far):
        for b in far[k + 1:]:
            if m.at_ms[b] - m.at_ms[a] > params.moved_together_ms:
                break
            gap = math.hypot(east[a] - east[b], north[a] - north[b])
            if (gap <= max(params.moved_together_m,
                           params.moved_together_share * max(length[a], length[b]))
                    and abs(int(m.from_at_ms[a]) - int(m.from_at_ms[b]))
                    <= params.asserted_together_ms):
                links.append((int(a), int(b)))
    findings = []
    for rows in _components([int(i) for i in far], links):
        members = sorted({int(m.hotspot[r]) for r in rows})
        if len(members) < params.moved_together_members:
            continue
        lat, lon = m.from_lat[rows], m.from_lon[rows]
        apart = max(float(haversine_m(lat[i:i + 1], lon[i:i + 1], lat, lon).max())
                    for i in range(len(rows)))
        if apart < params.moved_apart_m:
            continue
        for i in members:
            findings.append(Finding(
                detector="moved_together",
                hotspots=(h.keys[i],),
                score=len(members) / params.moved_together_members,
                evidence={
                    "moved_together": len(members),
                    "moved_east_m": round(float(np.median(east[rows]))),
                    "moved_north_m": round(float(np.median(north[rows]))),
                    "within_ms": int(m.at_ms[rows].max() - m.at_ms[rows].min()),
                    "apart_before_m": round(apart),
                    "group": sorted(h.keys[j].hex() for j in members),
                },
            ))
    return findings
