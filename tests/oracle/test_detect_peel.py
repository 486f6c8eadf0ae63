"""Peeling (oracle/detect/peel.py) on hand-built graphs, with judges whose verdicts can be read
off the graph: who is found, in which round, and by what evidence."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from oracle.detect.history import History, HistoryBuilder
from oracle.detect.peel import Judge, as_found, peel, without_links
from tests.oracle.detect_world import add_reception, key


def _graph(n: int, edges: list[tuple[int, int]]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    a, b = zip(*edges, strict=True)
    return np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)


Measure = Callable[[NDArray[np.bool_]], tuple[NDArray[np.int64]]]


def _partners_left(n: int, links: tuple[NDArray[np.int64], NDArray[np.int64]]) -> Measure:
    a, b = links

    def measure(excluded: NDArray[np.bool_]) -> tuple[NDArray[np.int64]]:
        """Per hotspot, its partners not excluded."""
        ends, partners = np.concatenate((a, b)), np.concatenate((b, a))
        kept = ~excluded[partners]
        return (np.bincount(ends[kept], minlength=n),)

    return measure


def _judge(measure: Measure, need: int, score: list[float]) -> Judge:
    """Flagged with at least `need` partners not excluded; the score is fixed."""
    return lambda excluded: (measure(excluded)[0] >= need, np.array(score, dtype=np.float64))


def test_a_suspect_that_stands_alone_is_found_before_a_stronger_one_leaning_on_it() -> None:
    """0's partners are 1 and 2; 1's are 0, 3 and 4. With two partners needed both are
    flagged; without its link to the other suspect only 1 still is (3 and 4), so 1 is found
    first whatever the scores, and 0, judged again without 1, is not found."""
    links = _graph(5, [(0, 1), (0, 2), (1, 3), (1, 4)])
    judge = _judge(_partners_left(5, links), 2, [5.0, 1.0, 0.0, 0.0, 0.0])
    found = peel(judge, np.zeros(5, dtype=bool), links)
    assert found.tolist() == [-1, 0, -1, -1, -1]


def test_when_no_suspect_stands_alone_the_strongest_of_linked_suspects_goes_first() -> None:
    """A chain 0 – 1 – 2, one partner needed: all three are suspects and none is flagged
    without its suspect partners. Round 0 finds 0 (score 3 against its partner's 2), not 1
    (2 against 3) nor 2 (1 against 2); judged without 0, 1 and 2 lean on each other and 1
    (2 against 1) is found; without 1, 2 has no partner left."""
    links = _graph(3, [(0, 1), (1, 2)])
    judge = _judge(_partners_left(3, links), 1, [3.0, 2.0, 1.0])
    found = peel(judge, np.zeros(3, dtype=bool), links)
    assert found.tolist() == [0, 1, -1]


def test_equal_scores_are_found_together() -> None:
    links = _graph(2, [(0, 1)])
    judge = _judge(_partners_left(2, links), 1, [2.0, 2.0])
    assert peel(judge, np.zeros(2, dtype=bool), links).tolist() == [0, 0]


def test_no_one_is_judged_by_its_links_with_explained_hotspots() -> None:
    """As in the first test, with 1 already found by another detector: 0 keeps one partner
    (2) and is not flagged; 1 itself is judged by its other links (3 and 4) and found."""
    links = _graph(5, [(0, 1), (0, 2), (1, 3), (1, 4)])
    judge = _judge(_partners_left(5, links), 2, [5.0, 1.0, 0.0, 0.0, 0.0])
    explained = np.array([False, True, False, False, False])
    assert peel(judge, explained, links).tolist() == [-1, 0, -1, -1, -1]


def test_the_evidence_of_a_finding_is_the_judgement_it_was_found_by() -> None:
    """The chain again: 0 found in round 0 by its one partner; 1 in round 1 without 0, so by
    one partner (2), not the two it has; 2, not found, as judged with everything."""
    links = _graph(3, [(0, 1), (1, 2)])
    measure = _partners_left(3, links)
    found = peel(_judge(measure, 1, [3.0, 2.0, 1.0]), np.zeros(3, dtype=bool), links)
    (partners,) = as_found(found, np.zeros(3, dtype=bool), measure)
    assert partners.tolist() == [1, 1, 1]
    assert measure(np.zeros(3, dtype=bool))[0].tolist() == [1, 2, 1]


def test_suspects_whose_unsuspected_links_say_nothing_are_left_alone() -> None:
    """Two hotspots flagged only by their link with each other, each scoring below its
    threshold (0.5) on what is left: which one lies is not in the evidence."""
    links = _graph(2, [(0, 1)])
    judge = _judge(_partners_left(2, links), 1, [0.5, 0.5])
    assert peel(judge, np.zeros(2, dtype=bool), links).tolist() == [-1, -1]


def test_a_suspect_is_found_at_its_unsuspected_links_threshold() -> None:
    """As above, scores at exactly 1 (the threshold): the two are found, together."""
    links = _graph(2, [(0, 1)])
    judge = _judge(_partners_left(2, links), 1, [1.0, 1.0])
    assert peel(judge, np.zeros(2, dtype=bool), links).tolist() == [0, 0]


def test_without_links_either_way_or_as_witness_only() -> None:
    """Every beacon of a, b and c heard by the other two: without a's links either way, b and
    c's with each other remain; without c's as a witness, its beacons heard by a and b remain
    too (a relay's beacons go out from its own radio, its receptions are its partner's)."""
    b = HistoryBuilder(0, 86_400_000)
    for name in "abc":
        b.add_hotspot(key(name), 52.0, 5.0 + 0.01 * "abc".index(name))
    n = 0
    for beaconer in "abc":
        for hears in "abc".replace(beaconer, ""):
            add_reception(b, n, beaconer, hears, 1_000 + n)
            n += 1
    history = b.build()

    def links(h: History) -> list[tuple[str, str]]:
        """(beaconer, witness) of every report left, by name."""
        w = h.witnesses
        return sorted(("abc"[x], "abc"[y]) for x, y in zip(w.beaconer.tolist(),
                                                          w.witness.tolist(), strict=True))

    none = np.zeros(3, dtype=bool)
    assert links(without_links(history, np.array([True, False, False]))) == [
        ("b", "c"), ("c", "b")]
    assert links(without_links(history, none, np.array([False, False, True]))) == [
        ("a", "b"), ("b", "a"), ("c", "a"), ("c", "b")]
