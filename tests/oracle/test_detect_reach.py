"""The hotspots detection cannot judge (oracle/detect/reach.py), on one hand-built history: a
3 × 3 square of hotspots 600 m apart, each linked both ways with every other within 900 m
(side and diagonal), and about it each case written in by hand. Every linked pair is 600 m or
849 m apart and every unlinked one 1.2 km or more, so the network's link rate (hearing.py, by
bins of 250 m) is 1 out to 1 km and 0 past it."""

from __future__ import annotations

import numpy as np
import pytest
from detect_world import add_reception, key, offset, square_grid

from oracle.detect.history import History, HistoryBuilder
from oracle.detect.model import DEFAULT_PARAMS
from oracle.detect.reach import LONE_PAIR, NONE_IN_TIME, ONLY_DENIED, unjudged
from pocnet.keys import PublicKey

T0 = 1_760_000_000_000
CENTRE = (52.0, 5.0)
GRID = square_grid(3, 600.0)
PLACES = {
    **GRID,
    # 700 m north of the square's top middle: 700 m from g2_1, 922 m from g2_0 and g2_2
    # (rate 1), 1,300 m or more from the rest (rate 0).
    "x": (0.0, 1_300.0),
    "denied": (10_000.0, 0.0),  # x's only partner, denied
    "late": (0.0, -10_000.0),  # heard by d only as a late copy
    "d": (300.0, -10_000.0),
    "p": (20_000.0, 0.0),  # a lone pair
    "q": (20_600.0, 0.0),
    "r": (0.0, 20_000.0),  # a chain: r's one partner s has another, t
    "s": (600.0, 20_000.0),
    "t": (1_200.0, 20_000.0),
    "off": (-20_000.0, 0.0),  # named by no report
}


def world() -> tuple[History, set[bytes]]:
    b = HistoryBuilder(T0, T0 + 86_400_000)
    for name, (east, north) in PLACES.items():
        b.add_hotspot(key(name), *offset(*CENTRE, north, east))
    n = 0
    links = [(a, c) for a in GRID for c in GRID
             if a < c and np.hypot(*np.subtract(GRID[a], GRID[c])) <= 900.0]
    links += [("x", "denied"), ("p", "q"), ("r", "s"), ("s", "t")]
    for a, c in links:
        for beaconer, hears in ((a, c), (c, a)):
            n += 1
            add_reception(b, n, beaconer, hears, T0 + n * 60_000)
    # d reports a copy of late's beacon 10 s after it: named, not prompt.
    at = T0 + 3_600_000
    b.add_witness(b"late-copy", key("late"), key("d"), -110.0, 2.0, 14.0, at, at + 10_000,
                  float(at), float(at + 10_000))
    return b.build(), {key("denied")}


def address(name: str) -> str:
    return PublicKey.from_bytes(key(name)).address


@pytest.fixture(scope="module")
def listed() -> dict[tuple[str, ...], dict]:
    h, denied = world()
    return {tuple(u.as_dict()["subject"]): u.as_dict() for u in
            unjudged(h, denied, DEFAULT_PARAMS)}


def test_one_heard_only_by_denied_hotspots_with_its_silence(listed) -> None:
    # Silent with g2_1, g2_0 and g2_2, each a whole link at the network's rate; the rest of
    # the square is where no pair is linked.
    assert listed[(address("x"),)] == {"why": ONLY_DENIED, "subject": [address("x")],
                                       "partners": 1, "silent_links": 3.0}


def test_named_by_late_copies_alone(listed) -> None:
    for name in ("late", "d"):
        assert listed[(address(name),)] == {"why": NONE_IN_TIME, "subject": [address(name)],
                                            "partners": 0}


def test_a_lone_pair_once_with_both_keys(listed) -> None:
    subject = tuple(address(n) for n in sorted(("p", "q"), key=key))
    assert listed[subject] == {"why": LONE_PAIR, "subject": list(subject), "partners": 1}
    assert (address("p"),) not in listed and (address("q"),) not in listed


def test_the_judged_the_denied_and_the_unnamed_are_not_listed(listed) -> None:
    # The square (partners of their own), a chain whose middle hears two, the denied one, and
    # a hotspot no report names: nothing else is listed.
    assert len(listed) == 4
    named = {a for subject in listed for a in subject}
    for name in (*GRID, "r", "s", "t", "denied", "off"):
        assert address(name) not in named


def test_its_partner_left_undenied_it_is_judged() -> None:
    h, _ = world()
    whys = {tuple(u.hotspots): u.why for u in unjudged(h, set(), DEFAULT_PARAMS)}
    # x and its partner now hear only each other: a lone pair, not x alone.
    assert whys[tuple(sorted((key("x"), key("denied"))))] == LONE_PAIR
    assert (key("x"),) not in whys
