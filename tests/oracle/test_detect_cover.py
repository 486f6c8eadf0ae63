"""The cover of copies no rule attributes (oracle/detect/cover.py), on sets built by hand:
per replayed beacon, the hotspots that could have sent its copies. Expected values follow the
module docstring and its thresholds (MIN_COVERED, COVERED_SHARE), not its output."""

from __future__ import annotations

from collections import Counter

import pytest

from oracle.detect.cover import COVERED_SHARE, MIN_COVERED, covered

S, N, H, F = 1, 2, 3, 4  # a replayer, its honest neighbours, a replayer found by other rules


def beacons(*senders: tuple[int, ...]) -> list[frozenset[int]]:
    return [frozenset(s) for s in senders]


def stood_by(could_send: list[frozenset[int]]) -> Counter[int]:
    """Each hotspot's chances: here, the replayed beacons it could have sent."""
    return Counter(h for senders in could_send for h in senders)


@pytest.mark.parametrize(("copies", "found"), [(MIN_COVERED, True), (MIN_COVERED - 1, False)])
def test_the_one_that_could_have_sent_every_copy_takes_them(copies: int, found: bool) -> None:
    """Each copy could be the replayer's or one of two neighbours' (each heard some of the
    beacons, heard as the replayer is): only the replayer could have sent them all. It takes
    MIN_COVERED copies and is flagged; one fewer is not enough. The neighbours take none."""
    could = beacons(*[(S, N) if b % 2 else (S, H) for b in range(copies)])
    assert covered(could, set(), stood_by(could)) == ({S: copies} if found else {})


def test_two_that_could_have_sent_the_same_copies_are_neither_named() -> None:
    """A neighbour heard every beacon the replayer copied, and is heard as it is: nothing
    tells the two apart, however many copies."""
    could = beacons(*[(S, N)] * (4 * MIN_COVERED))
    assert covered(could, set(), stood_by(could)) == {}


def test_the_one_that_could_have_sent_more_takes_the_copies_it_shares() -> None:
    """N could have sent every copy S could, and as many again that no one else could: N
    takes them all (as a replayer sending both kinds would) and S, left none, is not named.
    N is named: no one else could have sent all of N's."""
    could = beacons(*[(S, N)] * MIN_COVERED, *[(N,)] * MIN_COVERED)
    took = covered(could, set(), stood_by(could))
    assert S not in took
    assert took == {N: 2 * MIN_COVERED}


def test_the_copies_a_found_replayer_could_have_sent_are_its() -> None:
    """An honest hotspot between two replayers, heard as both are: it could have sent every
    copy of either, more than each. With F found by other rules, F's copies are F's, and
    the rest are as much S's as N's: no one is named. With no one found, N takes them all."""
    could = beacons(*[(F, N)] * MIN_COVERED, *[(S, N)] * MIN_COVERED)
    assert covered(could, {F}, stood_by(could)) == {}
    assert covered(could, set(), stood_by(could)) == {N: 2 * MIN_COVERED}


@pytest.mark.parametrize(("stood", "found"), [
    (round(MIN_COVERED / COVERED_SHARE), True),  # took exactly COVERED_SHARE of them
    (round(MIN_COVERED / COVERED_SHARE) + 1, False),
])
def test_a_share_of_the_replayed_beacons_it_stood_by(stood: int, found: bool) -> None:
    """S took MIN_COVERED copies and stood by `stood` replayed beacons: taking
    COVERED_SHARE of them flags it; standing by one more does not."""
    could = beacons(*[(S, N) if b % 2 else (S, H) for b in range(MIN_COVERED)])
    chances = stood_by(could)
    chances[S] = stood
    assert (S in covered(could, set(), chances)) is found
