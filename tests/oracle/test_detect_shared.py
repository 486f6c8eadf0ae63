"""oracle/detect/shared.py: the join of candidate pairs on their common beacons, a slice of
pairs at a time (JOIN_ROWS), gives what one join of every pair gives."""

from __future__ import annotations

import numpy as np
import pytest

from oracle.detect import shared
from oracle.detect.history import History
from oracle.detect.model import DEFAULT_PARAMS as P
from tests.oracle.detect_world import Node, World, offset


def _town(port_loss_db: float) -> History:
    """An 8 × 8 town, and two keys behind the antenna of one of its hotspots, asserted 4 km
    east and west, each a splitter port `port_loss_db` down."""
    world = World(seed=3)
    world.town()
    radio = world.nodes["h44"]
    for i, east in enumerate((4_000, -4_000)):
        world.add(Node(f"key{i}", radio.true, offset(*radio.true, 0, east), antenna_of="h44",
                       port_loss_db=port_loss_db * (i + 1)))
    world.epochs = 2
    return world.history()


def test_common_rows_sliced_equal_one_join() -> None:
    """Every slice size, down to one pair a slice, joins the same (pair, row, row) triples in
    the same order as a join of all pairs at once."""
    history = _town(0.0)
    w = history.witnesses.subset(history.witnesses.prompt(P.replay_ms))
    pairs = np.array(sorted(shared._candidate_pairs(w, P)), dtype=np.int64)
    assert len(pairs) > 10  # the town stamps many receptions within same_stamp_ms
    whole = shared._common_rows(w, pairs, join_rows=10**12)
    assert whole[0].size > 0
    for join_rows in (1, 7, 100, 1_000):
        sliced = shared._common_rows(w, pairs, join_rows=join_rows)
        for got, want in zip(sliced, whole, strict=True):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("join_rows", [1, 50])
def test_findings_do_not_depend_on_the_slice(monkeypatch: pytest.MonkeyPatch,
                                             join_rows: int) -> None:
    """The shared antenna of the hand-built town is found, with the same evidence, however
    small the slices."""
    history = _town(2.0)
    want = shared.shared_reception(history, P)
    assert want
    monkeypatch.setattr(shared, "JOIN_ROWS", join_rows)
    assert shared.shared_reception(history, P) == want
