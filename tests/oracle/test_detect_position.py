"""The position detector (oracle/detect/position.py) on the smallest history that shows each
rule: a square of hotspots 500 m apart, each linked both ways with every other within 1.6 km,
and one hotspot "x" whose partners are placed by hand. Its thresholds at their boundary, and
the honest look-alikes of an attenuated false location that must not be flagged."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from detect_world import add_reception, key, offset, square_grid

from oracle.detect import position
from oracle.detect.history import History, HistoryBuilder
from oracle.detect.model import DEFAULT_PARAMS
from pocnet.geo import haversine_m

T0 = 1_760_000_000_000
P = DEFAULT_PARAMS
CENTRE = (52.0, 5.0)
SPACING_M = 500.0
SIDE = 15  # 7 km across: "x" stands at its centre
LINK_M = 1_600.0





def history(links: list[tuple[tuple[float, float], int]], *, asserted: tuple[float, float] =
            (0.0, 0.0), asserted_at_ms: int = 0, rssi: float = -110.0) -> History:
    """The square, and "x" asserting `asserted` (m east, north of the centre) since
    `asserted_at_ms`, linked both ways with the `count` squares nearest each given place,
    each group at its own hour of the day (the first at 1 h, the next at 13 h)."""
    b = HistoryBuilder(T0, T0 + 86_400_000)
    grid = square_grid(SIDE, SPACING_M)
    for name, (east, north) in grid.items():
        b.add_hotspot(key(name), *offset(*CENTRE, north, east))
    b.add_hotspot(key("x"), *offset(*CENTRE, asserted[1], asserted[0]), 3.0, asserted_at_ms)
    names = sorted(grid)
    n = 0
    for i, a in enumerate(names):
        for other in names[i + 1:]:
            if math.dist(grid[a], grid[other]) <= LINK_M:
                n += 1
                add_reception(b, n, a, other, T0 + 600_000)
                add_reception(b, n, other, a, T0 + 600_000)
    for hour, (place, count) in zip((1, 13), links, strict=False):
        nearest = sorted(names, key=lambda g: (math.dist(grid[g], place), g))[:count]
        for partner in nearest:
            n += 1
            at = T0 + hour * 3_600_000
            add_reception(b, n, "x", partner, at, rssi)
            add_reception(b, n, partner, "x", at, rssi)
    return b.build()


def findings(h: History, **changes: float) -> dict[str, dict]:
    params = dataclasses.replace(P, **changes)
    return {f.hotspots[0].rstrip(b"_")[1:].decode(): f.evidence
            for f in position.position(h, params)}


ELSEWHERE = (2_500.0, 0.0)  # where "x" stands: 2.5 km east of the place it asserts


def test_partners_gathered_away_from_the_asserted_place_are_found() -> None:
    """Nine partners around a place 2.5 km east (the squares within 707 m of it): "x" is
    found, fitted within one grid step of where it stands, and nobody else is."""
    found = findings(history([(ELSEWHERE, 9)]))
    assert set(found) == {"x"}
    evidence = found["x"]
    true = offset(*CENTRE, 0.0, ELSEWHERE[0])
    assert haversine_m(evidence["fitted_lat"], evidence["fitted_lon"], *true) < SPACING_M
    assert evidence["partners"] == 9 and evidence["likelihood_ratio"] >= P.position_lr


@pytest.mark.parametrize(("partners", "found"), [(P.position_min_partners, True),
                                                 (P.position_min_partners - 1, False)])
def test_position_needs_min_partners(partners: int, found: bool) -> None:
    """A quiet hotspot with fewer partners gets no verdict, however they lie: with the
    threshold lowered to their number, the same history is flagged."""
    h = history([(ELSEWHERE, partners)])
    assert ("x" in findings(h)) is found
    assert "x" in findings(h, position_min_partners=partners)


def _judged(h: History) -> tuple[float, float]:
    """(likelihood ratio, fitted distance from the asserted place) of "x" in `h`."""
    judged = position.judge(h, P)
    assert judged is not None
    _, lr, fitted, _, _ = judged
    x = h.hotspots.keys.index(key("x"))
    return float(lr[x]), float(np.hypot(*fitted[x]))


def test_position_lr_at_its_boundary() -> None:
    h = history([(ELSEWHERE, 9)])
    lr, _ = _judged(h)
    assert "x" in findings(h, position_lr=lr)
    assert "x" not in findings(h, position_lr=float(np.nextafter(lr, np.inf)))


def test_position_far_m_at_its_boundary() -> None:
    h = history([(ELSEWHERE, 9)])
    _, far = _judged(h)
    assert far > 2_000
    assert "x" in findings(h, position_far_m=far)
    assert "x" not in findings(h, position_far_m=float(np.nextafter(far, np.inf)))


def test_the_same_partners_around_the_asserted_place_are_not_flagged() -> None:
    """A hotspot behind a long cable or an attenuator where it says it stands: its nine
    partners are the nearest squares, at whatever loss; nothing to flag."""
    for rssi in (-110.0, -130.0):
        assert findings(history([((0.0, 0.0), 9)], rssi=rssi)) == {}


def test_a_rooftop_at_the_edge_hearing_far_into_town_is_not_flagged() -> None:
    """A high-gain rooftop on the square's west edge, linked with every square within 3 km
    (twice the others' reach), all of them east of it: its partners lie to one side because
    the hotspots do, and its reach is its own."""
    edge = (-(SIDE // 2) * SPACING_M, 0.0)
    grid = square_grid(SIDE, SPACING_M)
    reached = sum(math.dist(edge, g) <= 3_000 for g in grid.values())
    assert reached >= 40
    assert findings(history([(edge, reached)], asserted=edge)) == {}


def test_a_hotspot_that_moved_and_re_asserted_is_judged_after_its_assertion() -> None:
    """Before noon "x" stood 2.5 km east and was linked there; it moved to the centre and
    re-asserted at noon, and its links since are around the centre. Judged on those only, it
    is not flagged; the morning's links, judged against the centre, would flag it."""
    links = [(ELSEWHERE, 9), ((0.0, 0.0), 9)]
    assert findings(history(links, asserted_at_ms=T0 + 12 * 3_600_000)) == {}
    assert "x" in findings(history(links[:1]))
