"""Hotspots near one: by asserted place, within a radius, with their distances.

Detectors that judge a hotspot by the hotspots about it (`hearing`: those that never hear it;
`layout`: the corners of squares; `position`: the candidates of its fit) ask this many times
over a network of 100,000; a grid of square cells, each a dict entry, keeps every question to
the few cells about the place.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from oracle.detect.history import M_PER_DEG, Hotspots

# Square cells this wide unless asked otherwise, those within a radius visited cell by cell.
CELL_M = 2_000.0


class Neighbours:
    """Hotspots in square cells `cell_m` wide, to find those within a radius of one, or
    those a few cells about it."""

    def __init__(self, h: Hotspots, cell_m: float = CELL_M) -> None:
        ref_lat = float(np.mean(h.lat)) if len(h) else 0.0
        self.cos = math.cos(math.radians(ref_lat))
        self.cell_m = cell_m
        self.lat, self.lon = h.lat, h.lon
        self.cx = np.floor(h.lon * M_PER_DEG * self.cos / cell_m).astype(np.int64)
        self.cy = np.floor(h.lat * M_PER_DEG / cell_m).astype(np.int64)
        order = np.lexsort((self.cy, self.cx))
        keys = self.cx[order] * (1 << 32) + self.cy[order]
        bounds = np.flatnonzero(np.diff(keys)) + 1
        self.cells = {(int(self.cx[part[0]]), int(self.cy[part[0]])): part
                      for part in np.split(order, bounds) if part.size}

    def within(self, i: int, radius: float, candidate: NDArray[np.bool_]
               ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """The `candidate` hotspots other than i strictly within `radius` m of i's asserted
        place, and their distances."""
        # The grid is flat at the mean latitude; a hotspot's own latitude stretches east–west
        # distances by cos(ref) / cos(lat): enough cells are visited either way.
        span_x = math.ceil(radius * self.cos / math.cos(math.radians(float(self.lat[i])))
                               / self.cell_m) + 1
        span_y = math.ceil(radius / self.cell_m) + 1
        near = self.around(i, span_x, span_y)
        near = near[candidate[near] & (near != i)]
        cos = np.cos(np.radians((self.lat[near] + self.lat[i]) / 2))
        d = np.hypot((self.lon[near] - self.lon[i]) * M_PER_DEG * cos,
                     (self.lat[near] - self.lat[i]) * M_PER_DEG)
        inside = d < radius
        return near[inside], d[inside]

    def around(self, i: int, span_x: int, span_y: int) -> NDArray[np.int64]:
        """The hotspots, i among them, in i's cell and `span_x` / `span_y` cells about it each
        way (east–west, north–south)."""
        x, y = int(self.cx[i]), int(self.cy[i])
        return np.concatenate([self.cells[c] for dx in range(-span_x, span_x + 1)
                               for dy in range(-span_y, span_y + 1)
                               if (c := (x + dx, y + dy)) in self.cells])

    def around_any(self, mask: NDArray[np.bool_], span: int) -> NDArray[np.bool_]:
        """The hotspots with one of `mask` in their own cell or `span` cells about it each
        way."""
        steps = range(-span, span + 1)
        hit = {(int(x) + dx, int(y) + dy) for x, y in zip(self.cx[mask], self.cy[mask],
                                                          strict=True)
               for dx in steps for dy in steps}
        out = np.zeros(self.cx.size, dtype=bool)
        for cell in hit & self.cells.keys():
            out[self.cells[cell]] = True
        return out
