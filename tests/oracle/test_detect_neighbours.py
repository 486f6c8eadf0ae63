"""Hotspots near one (oracle/detect/neighbours.py), against distances worked out by hand: on a
line north of a place, and east of it at a high latitude, where a degree of longitude is short."""

from __future__ import annotations

import numpy as np
from detect_world import offset

from oracle.detect.history import M_PER_DEG, HistoryBuilder, Hotspots
from oracle.detect.neighbours import Neighbours


def hotspots(places: list[tuple[float, float]]):  # type: ignore[no-untyped-def]
    b = HistoryBuilder(0, 1)
    for i, place in enumerate(places):
        b.add_hotspot(bytes([1, i]) + bytes(31), *place)
    return b.build().hotspots


def test_those_strictly_within_the_radius_with_their_distances() -> None:
    # 0 at the origin; 1, 2, 3 at 999, 1,000 and 5,000 m north of it; 4 at 30 km.
    home = (45.0, 5.0)
    h = hotspots([home] + [offset(*home, d, 0.0) for d in (999.0, 1_000.0, 5_000.0, 30_000.0)])
    near, d = Neighbours(h).within(0, 1_000.0, np.ones(5, dtype=bool))
    assert near.tolist() == [1]
    assert abs(float(d[0]) - 999.0) < 0.5
    near, d = Neighbours(h).within(0, 6_000.0, np.ones(5, dtype=bool))
    assert sorted(near.tolist()) == [1, 2, 3]


def test_only_candidates_and_never_itself() -> None:
    home = (45.0, 5.0)
    h = hotspots([home, offset(*home, 100.0, 0.0), offset(*home, 200.0, 0.0)])
    near, _ = Neighbours(h).within(0, 1_000.0, np.array([True, False, True]))
    assert near.tolist() == [2]


def test_east_of_a_place_far_north_of_the_network_s_middle() -> None:
    # The cells are laid out at the network's mean latitude (here ~35°); a hotspot at 70° N
    # still finds one 4 km east of it (a degree of longitude there is a third as long).
    places = [(0.0, 0.0), (70.0, 20.0), offset(70.0, 20.0, 0.0, 4_000.0)]
    near, d = Neighbours(hotspots(places)).within(1, 5_000.0, np.ones(3, dtype=bool))
    assert near.tolist() == [2]
    assert abs(float(d[0]) - 4_000.0) < 5.0


def _on_a_line_north(cell_m: float) -> tuple[Hotspots, int]:
    """A hotspot in the middle of a cell `cell_m` wide and one in the middle of each of the
    three cells north of it."""
    lat = (1_000 + 0.5) * cell_m / M_PER_DEG
    return hotspots([(lat, 5.0)] + [offset(lat, 5.0, k * cell_m, 0.0) for k in (1, 2, 3)]), 4


def test_the_cells_about_one_a_cell_size_asked_for() -> None:
    h, _ = _on_a_line_north(1_000.0)
    cells = Neighbours(h, 1_000.0)
    assert sorted(cells.around(0, 0, 2).tolist()) == [0, 1, 2]
    assert sorted(cells.around(0, 0, 3).tolist()) == [0, 1, 2, 3]
    assert cells.around(0, 2, 0).tolist() == [0]  # nobody east or west


def test_those_with_one_of_a_mask_in_the_cells_about_them() -> None:
    h, n = _on_a_line_north(1_000.0)
    mask = np.zeros(n, dtype=bool)
    mask[3] = True
    assert np.flatnonzero(Neighbours(h, 1_000.0).around_any(mask, 2)).tolist() == [1, 2, 3]
    assert np.flatnonzero(Neighbours(h, 1_000.0).around_any(mask, 1)).tolist() == [2, 3]
