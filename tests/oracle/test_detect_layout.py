"""Layouts no owners make (oracle/detect/layout.py): asserted places on an evenly spaced square
grid, and hotspots carried by one vector at once, against layouts and moves built by hand,
honest ones among them. The expected answers come from the geometry of each layout (its
squares, sides and corners' errors; each move's vector and time), not from the detector."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from detect_world import distance_m, offset

from oracle.detect import layout
from oracle.detect.history import History, HistoryBuilder
from oracle.detect.layout import grids
from oracle.detect.model import DEFAULT_PARAMS as P

T0 = 1_760_000_000_000
HOME = (45.0, 5.0)


def key(name: str) -> bytes:
    return b"\x01" + name.encode().ljust(32, b"_")


DAY_MS = 86_400_000


def history(places: dict[str, tuple[float, float]],
            asserted: dict[str, int] | None = None) -> History:
    """Hotspots at their asserted places, asserted at T0 (or at T0 + `asserted[name]`)."""
    b = HistoryBuilder(T0, T0 + DAY_MS)
    for name, (lat, lon) in places.items():
        b.add_hotspot(key(name), lat, lon, asserted_at_ms=T0 + (asserted or {}).get(name, 0))
    return b.build()


def grid(rows: int, cols: int, spacing_m: float, turn_deg: float = 0.0,
         origin: tuple[float, float] = HOME, prefix: str = "g"
         ) -> dict[str, tuple[float, float]]:
    """rows × cols places `spacing_m` apart, the grid turned `turn_deg` anticlockwise."""
    t = math.radians(turn_deg)
    out = {}
    for r in range(rows):
        for c in range(cols):
            east, north = c * spacing_m, r * spacing_m
            out[f"{prefix}{r}{c}"] = offset(*origin, east * math.sin(t) + north * math.cos(t),
                                            east * math.cos(t) - north * math.sin(t))
    return out


def flagged(places: dict[str, tuple[float, float]], asserted: dict[str, int] | None = None,
            **params: float) -> dict[str, dict]:
    names = {key(n): n for n in places}
    return {names[f.hotspots[0]]: f.evidence
            for f in grids(history(places, asserted), replace(P, **params))}


def town(n: int, seed: int = 3, radius_m: float = 6_000.0) -> dict[str, tuple[float, float]]:
    """Honest hotspots scattered uniformly over a disc, as owners place them."""
    rng = np.random.default_rng(seed)
    r = radius_m * np.sqrt(rng.random(n))
    a = rng.random(n) * 2 * math.pi
    return {f"h{i}": offset(*HOME, float(r[i] * math.cos(a[i])) + 20_000.0,
                            float(r[i] * math.sin(a[i]))) for i in range(n)}


def test_a_grid_of_two_squares_is_flagged_member_by_member() -> None:
    g = grid(2, 3, 1_000.0)
    found = flagged(g | town(200))
    assert set(found) == set(g)
    evidence = found["g00"]
    assert evidence["grid_places"] == 6
    assert evidence["hotspots_in_grid"] == 6
    assert abs(evidence["spacing_m"] - 1_000) <= 1
    assert evidence["grid"] == sorted(key(n).hex() for n in g)


@pytest.mark.parametrize(("members", "found"), [(6, True), (7, False)])
def test_a_grid_is_flagged_from_grid_members(members: int, found: bool) -> None:
    assert bool(flagged(grid(2, 3, 1_000.0), grid_members=members)) == found


def test_one_square_is_not_a_grid() -> None:
    # Four places at a square's corners happen by chance where hotspots are many: on the
    # whole 2022 population (6,904 located) one such square of 1.9 km stood among honest
    # hotspots (docs/benchmarks.md). A grid takes grid_members (6) in joined squares.
    assert P.grid_members == 6
    assert flagged(grid(2, 2, 1_000.0)) == {}
    assert set(flagged(grid(2, 2, 1_000.0), grid_members=4)) == set(grid(2, 2, 1_000.0))


def test_a_turned_grid_is_a_grid() -> None:
    g = grid(3, 3, 800.0, turn_deg=27.0)
    found = flagged(g)
    assert set(found) == set(g)
    assert found["g11"]["grid_places"] == 9


@pytest.mark.parametrize(("error_m", "found"), [(24.9, True), (25.1, False)])
def test_a_corner_off_its_place_by_grid_tolerance_m(error_m: float, found: bool) -> None:
    # One far corner of the 2 × 3 grid moved north: within 25 m it still closes its square.
    g = grid(2, 3, 1_000.0)
    g["g12"] = offset(*g["g12"], error_m, 0.0)
    assert P.grid_tolerance_m == 25.0
    assert ("g12" in flagged(g)) == found


@pytest.mark.parametrize(("spacing", "found"), [(300.5, True), (299.5, False),
                                                (4_999.5, True), (5_000.5, False)])
def test_the_spacing_from_grid_min_m_to_grid_max_m(spacing: float, found: bool) -> None:
    g = grid(2, 3, spacing)
    assert abs(distance_m(g["g00"], g["g01"]) - spacing) < 0.1
    assert (P.grid_min_m, P.grid_max_m) == (300.0, 5_000.0)
    assert bool(flagged(g)) == found


def test_squares_of_two_sizes_sharing_an_edge_are_two_grids() -> None:
    # A 1 km square and, on its east edge, a 1.1 km one that shares only a corner's worth of
    # it: not one grid's spacing, so neither grid reaches 6 members.
    small = grid(2, 2, 1_000.0)
    big = grid(2, 2, 1_100.0, origin=small["g01"], prefix="b")
    assert flagged(small | big) == {}


def test_honest_layouts_are_not_grids() -> None:
    # A town of 400 scattered hotspots; a street of hotspots evenly spaced in one row; two
    # neighbours across a street; a rooftop cluster of four within 20 m.
    street = {f"s{i}": offset(*HOME, -30_000.0, 500.0 * i) for i in range(12)}
    across = {"a0": offset(*HOME, 0.0, 40_000.0), "a1": offset(*HOME, 25.0, 40_000.0)}
    roof = {f"r{i}": offset(*HOME, 30_000.0 + 5.0 * (i // 2), 5.0 * (i % 2)) for i in range(4)}
    assert flagged(town(400) | street | across | roof) == {}


def test_keys_asserting_one_cell_count_as_one_place() -> None:
    # Keys behind one antenna may assert one cell: two at one corner are one corner, so a
    # square with two corners doubled is still four places; a grid's doubled keys are all
    # flagged with it.
    g = grid(2, 2, 1_000.0)
    g["twin"] = g["g00"]
    g["twin2"] = offset(*g["g11"], 5.0, 0.0)
    assert flagged(g) == {}
    g = grid(2, 3, 1_000.0)
    g["twin"] = g["g00"]
    found = flagged(g)
    assert set(found) == set(g)
    assert found["twin"]["grid_places"] == 6 and found["twin"]["hotspots_in_grid"] == 7


def moved(moves: dict[str, tuple[tuple[float, float], tuple[float, float], int]],
          others: dict[str, tuple[float, float]] | None = None,
          left: dict[str, int] | None = None) -> History:
    """Hotspots at their new places, each moved at a time (ms after T0) from an old place it
    asserted 30 days before T0 (or `left[name]` ms after T0)."""
    b = HistoryBuilder(T0, T0 + DAY_MS)
    for name, (_, new, at) in moves.items():
        b.add_hotspot(key(name), *new, asserted_at_ms=T0 + at)
    for name, place in (others or {}).items():
        b.add_hotspot(key(name), *place)
    for name, (old, _, at) in moves.items():
        b.add_move(key(name), T0 + at, *old,
                   from_at_ms=T0 + (left or {}).get(name, -30 * DAY_MS))
    return b.build()


def carried(names: list[str], north_m: float = 30_000.0, east_m: float = 0.0,
            spread_m: float = 3_000.0, at_ms: int = 0
            ) -> dict[str, tuple[tuple[float, float], tuple[float, float], int]]:
    """Hotspots spread_m apart in a row, each carried by one vector at one time."""
    out = {}
    for i, name in enumerate(names):
        old = offset(*HOME, 0.0, spread_m * i)
        out[name] = (old, offset(*old, north_m, east_m), at_ms)
    return out


def moved_flagged(history: History, **params: float) -> dict[str, dict]:
    names = {k: k[1:].rstrip(b"_").decode() for k in history.hotspots.keys}
    return {names[f.hotspots[0]]: f.evidence
            for f in layout.moved_together(history, replace(P, **params))}


def test_three_hotspots_carried_by_one_vector_at_once_are_flagged() -> None:
    found = moved_flagged(moved(carried(["m0", "m1", "m2"])))
    assert set(found) == {"m0", "m1", "m2"}
    evidence = found["m1"]
    assert evidence["moved_together"] == 3
    assert abs(evidence["moved_north_m"] - 30_000) <= 1 and abs(evidence["moved_east_m"]) <= 1
    assert evidence["within_ms"] == 0
    assert abs(evidence["apart_before_m"] - 6_000) <= 1


@pytest.mark.parametrize(("members", "found"), [(3, True), (4, False)])
def test_moved_together_from_moved_together_members(members: int, found: bool) -> None:
    h = moved(carried(["m0", "m1", "m2"]))
    assert bool(moved_flagged(h, moved_together_members=members)) == found


@pytest.mark.parametrize(("move_m", "gap_m", "found"), [
    (3_000.0, 49.0, True), (3_000.0, 51.0, False),  # moved_together_m (0.5 % is 15 m)
    (30_000.0, 149.0, True), (30_000.0, 151.1, False),  # moved_together_share (150 m)
])
def test_one_vector_within_moved_together_m_or_share(move_m: float, gap_m: float,
                                                      found: bool) -> None:
    # The third hotspot's move is gap_m longer than the others'.
    assert (P.moved_together_m, P.moved_together_share) == (50.0, 0.005)
    moves = carried(["m0", "m1"], north_m=move_m)
    moves |= carried(["m2"], north_m=move_m + gap_m, spread_m=0.0)
    assert bool(moved_flagged(moved(moves))) == found


@pytest.mark.parametrize(("late_ms", "found"), [(3_600_000, True), (3_600_001, False)])
def test_at_once_within_moved_together_ms(late_ms: int, found: bool) -> None:
    moves = carried(["m0", "m1"])
    moves["m2"] = (offset(*HOME, 0.0, 9_000.0), offset(*HOME, 30_000.0, 9_000.0), late_ms)
    assert bool(moved_flagged(moved(moves))) == found


@pytest.mark.parametrize(("north_m", "found"), [(300.5, True), (299.5, False)])
def test_a_move_counts_from_moved_min_m(north_m: float, found: bool) -> None:
    assert bool(moved_flagged(moved(carried(["m0", "m1", "m2"], north_m=north_m)))) == found


@pytest.mark.parametrize(("spread_m", "found"), [(150.5, True), (149.5, False)])
def test_hotspots_that_stood_together_move_together(spread_m: float, found: bool) -> None:
    # Three hotspots of one office (the farthest two 2 × spread_m apart) moving house
    # together are no layout carried whole: moved_apart_m (300 m) between two at least.
    assert bool(moved_flagged(moved(carried(["m0", "m1", "m2"], spread_m=spread_m)))) == found


def test_owners_moving_house_on_one_day_are_not_a_layout() -> None:
    # A hotspot that moved and re-asserted, and others that moved the same day, each its own
    # way: no two by one vector.
    rng = np.random.default_rng(5)
    moves = {}
    for i in range(40):
        old = offset(*HOME, float(rng.normal(0, 5_000)), float(rng.normal(0, 5_000)))
        new = offset(*old, float(rng.normal(0, 3_000)), float(rng.normal(0, 3_000)))
        moves[f"o{i}"] = (old, new, int(rng.integers(0, 86_400_000)))
    assert moved_flagged(moved(moves, town(100))) == {}


def test_a_framer_cannot_complete_a_grid_with_honest_hotspots() -> None:
    # Two honest hotspots 1 km apart, asserted 100 days ago; four fakes asserted now at the
    # places that make the six a 2 × 3 grid. The honest two were not asserted with the
    # fakes, and the fakes alone stand at four places: no one is flagged.
    g = grid(2, 3, 1_000.0)
    honest = {"g00": -100 * DAY_MS, "g01": -100 * DAY_MS}
    assert flagged(g, honest) == {}
    assert set(flagged(g)) == set(g)  # asserted together, the same six are a grid


@pytest.mark.parametrize(("apart_ms", "found"), [(DAY_MS, True), (DAY_MS + 1, False)])
def test_a_grid_counts_places_asserted_within_asserted_together_ms(apart_ms: int,
                                                                    found: bool) -> None:
    # The sixth place asserted apart_ms after the other five.
    assert P.asserted_together_ms == DAY_MS
    g = grid(2, 3, 1_000.0)
    assert set(flagged(g, {"g12": apart_ms})) == (set(g) if found else set())


def test_a_framer_cannot_carry_an_honest_hotspot_that_moved() -> None:
    # v moves 30 km north; two fakes, placed near where it stood 10 days ago, follow it by
    # the same vector within the minute. v asserted the place it left 100 days ago.
    moves = carried(["v", "f0", "f1"])
    left = {"v": -100 * DAY_MS, "f0": -10 * DAY_MS, "f1": -10 * DAY_MS}
    assert moved_flagged(moved(moves, left=left)) == {}


@pytest.mark.parametrize(("apart_ms", "found"), [(DAY_MS, True), (DAY_MS + 1, False)])
def test_moves_join_when_the_places_left_were_asserted_together(apart_ms: int,
                                                                 found: bool) -> None:
    moves = carried(["m0", "m1", "m2"])
    left = {"m0": -30 * DAY_MS, "m1": -30 * DAY_MS, "m2": -30 * DAY_MS + apart_ms}
    assert bool(moved_flagged(moved(moves, left=left))) == found


def destination(lat: float, lon: float, distance_m: float, bearing_deg: float
                ) -> tuple[float, float]:
    """The great-circle destination (the aviation formulary's direct formula)."""
    r = 6_371_007.2  # h3's sphere
    p1, l1, t, d = (math.radians(lat), math.radians(lon), math.radians(bearing_deg),
                    distance_m / r)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(t))
    l2 = l1 + math.atan2(math.sin(t) * math.sin(d) * math.cos(p1),
                         math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), math.degrees(l2)


def test_one_bearing_and_distance_from_far_apart_latitudes_is_one_move() -> None:
    # A cluster whose keys stand on three continents, each carried 30 km at bearing 75°: on a
    # sphere the three vectors differ by tens of metres, within moved_together_share.
    moves = {f"m{i}": ((lat, 10.0), destination(lat, 10.0, 30_000.0, 75.0), 0)
             for i, lat in enumerate((-27.0, 36.0, 57.0))}
    assert set(moved_flagged(moved(moves))) == set(moves)
    assert moved_flagged(moved(moves), moved_together_share=0.0) == {}


@pytest.mark.parametrize("first", [True, False])
def test_a_corner_is_the_hotspot_nearest_it_whatever_the_order(first: bool) -> None:
    # A seventh hotspot 20 m north of one corner of a 2 × 3 grid, within grid_tolerance_m of
    # it but not on it: the corner is the key standing on it, whether the other is listed
    # before the grid's keys or after (taken first, it joined the grid when listed first).
    g = grid(2, 3, 1_000.0)
    x = {"x": offset(*g["g12"], 20.0, 0.0)}
    assert set(flagged(x | g if first else g | x)) == set(g)
