"""The hearing detector (oracle/detect/hearing.py) on the smallest history that shows each rule:
a square of hotspots 500 m apart, each linked both ways with every other within 1.6 km (so the
network's link rate is 1 out to 1.6 km and 0 beyond), and one hotspot "x" asserting the
square's centre, whose links are placed by hand. Its thresholds at their boundary, and the
honest look-alikes of an attenuated false location that must not be flagged."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from detect_world import add_reception, key, offset, square_grid

from oracle.detect import hearing
from oracle.detect.history import History, HistoryBuilder
from oracle.detect.model import DEFAULT_PARAMS
from pocnet.geo import haversine_m

T0 = 1_760_000_000_000
P = DEFAULT_PARAMS
CENTRE = (52.0, 5.0)
SPACING_M = 500.0
SIDE = 15  # 7 km across: "x" asserts its centre
LINK_M = 1_600.0
ELSEWHERE = (3_000.0, 0.0)  # where an attenuator stands: 3 km east of the place it asserts





def history(partners: list[str], *, asserted: tuple[float, float] = (0.0, 0.0),
            asserted_at_ms: int = 0, before: list[str] = (),  # type: ignore[assignment]
            extra: dict[str, tuple[tuple[float, float], list[str]]] | None = None,
            drop: set[str] = frozenset()) -> History:  # type: ignore[assignment]
    """The square (without the squares of `drop`), and "x" asserting `asserted` (m east, north
    of the centre) since `asserted_at_ms`, linked both ways with `partners` from 13 h on and
    with `before` at 1 h; `extra` hotspots each asserting a place and linked with its own list
    of squares."""
    b = HistoryBuilder(T0, T0 + 86_400_000)
    grid = {name: place for name, place in square_grid(SIDE, SPACING_M).items() if name not in drop}
    for name, (east, north) in grid.items():
        b.add_hotspot(key(name), *offset(*CENTRE, north, east))
    b.add_hotspot(key("x"), *offset(*CENTRE, asserted[1], asserted[0]), 3.0, asserted_at_ms)
    for name, (place, _) in (extra or {}).items():
        b.add_hotspot(key(name), *offset(*CENTRE, place[1], place[0]))
    names = sorted(grid)
    n = 0
    for i, a in enumerate(names):
        for other in names[i + 1:]:
            if math.dist(grid[a], grid[other]) <= LINK_M:
                n += 1
                add_reception(b, n, a, other, T0 + 600_000)
                add_reception(b, n, other, a, T0 + 600_000)
    links = [("x", p, 1) for p in before] + [("x", p, 13) for p in partners]
    links += [(name, p, 13) for name, (_, heard) in (extra or {}).items() for p in heard]
    for who, partner, hour in links:
        n += 1
        add_reception(b, n, who, partner, T0 + hour * 3_600_000)
        add_reception(b, n, partner, who, T0 + hour * 3_600_000)
    return b.build()


def nearest(place: tuple[float, float], count: int) -> list[str]:
    grid = square_grid(SIDE, SPACING_M)
    return sorted(grid, key=lambda g: (math.dist(grid[g], place), g))[:count]


def findings(h: History, **changes: float) -> dict[str, dict]:
    params = dataclasses.replace(P, **changes)
    return {f.hotspots[0].rstrip(b"_")[1:].decode(): f.evidence
            for f in hearing.hearing(h, params)}


def _judged(h: History, name: str = "x", **changes: float) -> tuple[float, float, int]:
    """(silent links, partners' centre from the asserted place, partners) of `name`."""
    judged = hearing.judge(h, dataclasses.replace(P, **changes))
    assert judged is not None
    _, silent, _, centre, partners = judged
    i = h.hotspots.keys.index(key(name))
    return float(silent[i]), float(np.hypot(*centre[i])), int(partners[i])


def _squares_within(place: tuple[float, float], radius: float) -> int:
    return sum(math.dist(place, g) < radius for g in square_grid(SIDE, SPACING_M).values())


def test_an_attenuator_heard_by_one_hotspot_3_km_away_is_found() -> None:
    """"x" is heard by, and hears, one square 3 km east, where it stands: every square nearer
    its asserted centre is silent with it. Those within 1.6 km would have been linked (the
    network's rate there is 1, less x's own silence among the pairs it is measured on), those
    beyond not: the silent links are about their count. It is found, placed at its partner,
    and no square is."""
    h = history(nearest(ELSEWHERE, 1))
    silent, _, partners = _judged(h)
    assert silent == pytest.approx(_squares_within((0.0, 0.0), LINK_M), abs=2.0)
    found = findings(h)
    assert set(found) == {"x"}
    evidence = found["x"]
    assert evidence["partners"] == partners == 1
    assert haversine_m(evidence["fitted_lat"], evidence["fitted_lon"],
                       *offset(*CENTRE, 0.0, ELSEWHERE[0])) < 10
    assert evidence["nearest_partner_m"] == pytest.approx(3_000, abs=5)


def test_hearing_silent_at_its_boundary() -> None:
    h = history(nearest(ELSEWHERE, 1))
    silent, _, _ = _judged(h)
    assert "x" in findings(h, hearing_silent=silent)
    assert "x" not in findings(h, hearing_silent=float(np.nextafter(silent, np.inf)))


def test_hearing_far_m_at_its_boundary() -> None:
    h = history(nearest(ELSEWHERE, 2))
    _, far, _ = _judged(h)
    assert far > P.hearing_far_m
    assert "x" in findings(h, hearing_far_m=far)
    assert "x" not in findings(h, hearing_far_m=float(np.nextafter(far, np.inf)))


@pytest.mark.parametrize(("partners", "found"), [(P.hearing_max_partners, True),
                                                 (P.hearing_max_partners + 1, False)])
def test_hearing_max_partners_at_its_boundary(partners: int, found: bool) -> None:
    """With more partners than that, the place fits judge it: this one leaves it alone."""
    h = history(nearest(ELSEWHERE, partners))
    assert ("x" in findings(h)) is found


def test_a_long_cable_where_it_stands_is_not_flagged() -> None:
    """A hotspot behind a long cable (or an attenuator where it says it stands): its loss
    keeps only its two nearest squares, but they are the nearest. Nothing nearer is silent."""
    h = history(nearest((0.0, 0.0), 2))
    assert _judged(h)[0] == 0.0
    assert findings(h) == {}


def test_a_quiet_rural_hotspot_with_one_far_partner_is_not_flagged() -> None:
    """A rural hotspot 6 km west of the square's edge, heard by the edge's nearest square
    only: no active hotspot stands nearer, so none is silent with it."""
    place = (-(SIDE // 2) * SPACING_M - 6_000.0, 0.0)
    h = history(nearest(place, 1), asserted=place)
    assert _judged(h)[0] == 0.0
    assert findings(h) == {}


def test_a_rooftop_hearing_far_is_not_flagged() -> None:
    """A high-gain rooftop at the centre linked with every square within 3 km: its nearest
    partner is the nearest square."""
    h = history(nearest((0.0, 0.0), _squares_within((0.0, 0.0), 3_000)))
    assert findings(h) == {}


def test_a_hotspot_in_a_valley_heard_on_one_side_is_not_flagged() -> None:
    """Shadowed by a ridge on its west: linked only with the squares east of it within 1.6 km,
    none west. Its nearest partner is 500 m east; only the squares no farther (at its own place,
    500 m north, south and west) can count, though the whole west side is silent: judged
    whatever its partners' count and centre, it is not flagged."""
    grid = square_grid(SIDE, SPACING_M)
    east = [g for g, (e, n) in grid.items() if e > 0 and math.dist((e, n), (0.0, 0.0)) <= LINK_M]
    anyhow = {"hearing_max_partners": len(east), "hearing_far_m": 0.0}
    h = history(east)
    silent, _, _ = _judged(h, **anyhow)
    assert silent <= 4.0
    assert findings(h, **anyhow) == {}


def test_a_hotspot_that_moved_and_re_asserted_is_judged_after_its_assertion() -> None:
    """Before noon "x" stood 3 km east and was linked there; it moved to the centre and
    re-asserted at noon, and is linked since with its nearest squares. Judged on those only,
    it is not flagged; the morning's links, judged against the centre, flag it."""
    morning = nearest(ELSEWHERE, 1)
    assert findings(history(nearest((0.0, 0.0), 2), before=morning,
                            asserted_at_ms=T0 + 12 * 3_600_000)) == {}
    assert "x" in findings(history(morning))


def test_a_hotspot_off_the_air_is_not_silent() -> None:
    """The squares within 1.6 km of the centre switched off for the day (no reports at all):
    "x", heard 3 km east, has no active hotspot nearer that would have heard it."""
    drop = {g for g, place in square_grid(SIDE, SPACING_M).items()
            if math.dist(place, (0.0, 0.0)) < 2_500}
    h = history(nearest(ELSEWHERE, 1), drop=drop)
    assert findings(h) == {}


HOLE_M = 2_500.0  # no squares within this of the centre: a village among fields
AROUND = {"aN": (0.0, 1_500.0), "aS": (0.0, -1_500.0), "aW": (-1_500.0, 0.0)}


def test_the_flagged_do_not_count_against_their_asserted_neighbours() -> None:
    """No squares within 2.5 km of the centre; "q", an honest quiet hotspot there, is heard by
    one square 2.5 km east only. Three attenuators assert places 1.5 km north, south and west of
    it, each heard by one square 2 km beyond its place. Counted with the attenuators, q's
    silent links pass the bar; the attenuators are flagged (the squares near them are silent
    too), and without them q is not."""
    drop = {g for g, place in square_grid(SIDE, SPACING_M).items()
            if math.dist(place, (0.0, 0.0)) < HOLE_M}
    extra = {name: (place, nearest((place[0] * 3, place[1] * 3), 1))
             for name, place in AROUND.items()}
    extra["q"] = ((0.0, 0.0), nearest((HOLE_M, 0.0), 1))
    h = history([], drop=drop, extra=extra)
    bar = 2.5
    first = hearing.judge(h, dataclasses.replace(P, hearing_silent=float("inf")))
    assert first is not None
    q = h.hotspots.keys.index(key("q"))
    assert first[1][q] >= bar  # counted with the attenuators, q would be flagged
    found = findings(h, hearing_silent=bar)
    assert set(found) == set(AROUND), found


def test_links_at_a_false_distance_do_not_raise_the_law() -> None:
    """Ten hotspots assert places 10 km east of the square's centre but stand in it, each
    linked with the squares within 1.6 km of where it stands (false locations not found yet):
    pairs 7–13 km apart look linked, 16 % of them. "r", a quiet hotspot 11 km west of the
    centre, is heard by the centre's square only (a clear path across a valley): the squares
    nearer it are silent, but at 7.5–11 km, beyond the network's reach (no square links past
    1.6 km), they count under 2 links; at the false links' share they would count 23."""
    stands = [(-3_000.0 + 600.0 * j, 0.0) for j in range(10)]
    extra = {f"f{j}": ((place[0] + 10_000.0, place[1]),
                       [g for g, q in square_grid(SIDE, SPACING_M).items()
                        if math.dist(q, place) <= LINK_M])
             for j, place in enumerate(stands)}
    r = (-11_000.0, 0.0)
    extra["r"] = (r, nearest((0.0, 0.0), 1))
    h = history([], extra=extra)
    silent, far, partners = _judged(h, "r")
    assert partners == 1 and far > P.hearing_far_m
    assert _squares_within(r, 11_000.0) > 50
    assert silent < 2.0, silent
    assert "r" not in findings(h)
