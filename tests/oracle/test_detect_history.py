"""The history's links (oracle/detect/history.py): which pairs of hotspots a detector reads as
hearing each other, on three hotspots written in by hand."""

from __future__ import annotations

from detect_world import add_reception, key

from oracle.detect.history import HistoryBuilder
from oracle.detect.model import DEFAULT_PARAMS

T0 = 1_760_000_000_000


def test_a_prompt_reception_links_a_pair_both_ways_a_late_one_not() -> None:
    b = HistoryBuilder(T0, T0 + 86_400_000)
    for i, name in enumerate("abc"):
        b.add_hotspot(key(name), 52.0 + i / 100, 5.0)
    add_reception(b, 1, "a", "b", T0 + 60_000)  # b heard a: one way is a link
    at = T0 + 3_600_000
    # c reports a's beacon 10 s after it, by the oracle's clock and its own: a copy.
    b.add_witness(b"a-c-2", key("a"), key("c"), -110.0, 2.0, 14.0, at, at + 10_000,
                  float(at), float(at + 10_000))
    h = b.build()
    a, bb = (h.hotspots.keys.index(key(x)) for x in "ab")
    assert h.links(DEFAULT_PARAMS.replay_ms).tolist() == sorted([a * 3 + bb, bb * 3 + a])
