"""From findings to denylist entries: the policy table decides what each finding denies, for
how long, and keeps the evidence."""

from __future__ import annotations

from oracle.detect.detectors import DETECTORS
from oracle.detect.model import Finding
from oracle.detect.policy import POLICY, decide, denied_hotspots

A, B, C = (b"\x01" + bytes([i]) * 32 for i in (1, 2, 3))


def test_every_finding_a_detector_raises_has_a_policy() -> None:
    import inspect

    raised = set()
    for _, run in DETECTORS.values():
        source = inspect.getsource(inspect.getmodule(run))  # type: ignore[arg-type]
        raised |= {name for name in POLICY if f'"{name}"' in source}
    assert raised == set(POLICY)


def test_a_hotspot_finding_denies_it_until_its_expiry() -> None:
    decisions, watch = decide([Finding("signal_excess", (A,), 1.5, {"links": 9})], epoch=100)
    assert watch == []
    assert [(d.subject, d.reasons, d.expires_epoch) for d in decisions] == [
        ((A,), ["signal_excess"], 100 + 1 + 7)]
    assert decisions[0].evidence == [{"detector": "signal_excess", "score": 1.5, "links": 9}]


def test_shared_reception_denies_both_keys_and_their_edge() -> None:
    decisions, _ = decide([Finding("shared_reception", (B, A), 1.0, {})], epoch=5)
    assert sorted(d.subject for d in decisions) == sorted([(A,), (B,), (A, B)])


def test_a_refuted_range_denies_the_edge_alone() -> None:
    """Which of the two is off is not in the evidence: the link pays neither, each keeps the
    rest of its links."""
    decisions, watch = decide([Finding("range_refuted", (B, A), 2.0, {"ranges": 6})], epoch=5)
    assert watch == []
    assert [(d.subject, d.reasons, d.expires_epoch) for d in decisions] == [
        ((A, B), ["range_refuted"], 5 + 1 + 3)]


def test_the_hotspots_denied_whole_not_the_ends_of_a_denied_edge() -> None:
    decisions, _ = decide([Finding("range_refuted", (B, A), 2.0, {}),
                           Finding("signal_excess", (A,), 1.5, {})], epoch=5)
    assert denied_hotspots(decisions) == {A}


def test_findings_of_one_hotspot_merge_and_the_longest_expiry_wins() -> None:
    decisions, _ = decide([Finding("clock_offset", (C,), 2.0, {}),
                           Finding("replay", (C,), 1.0, {})], epoch=10)
    assert len(decisions) == 1
    assert decisions[0].reasons == ["clock_offset", "replay"]
    assert decisions[0].expires_epoch == 10 + 1 + 7


def test_jumps_are_watched_not_denied() -> None:
    decisions, watch = decide([Finding("gps_jumps", (A,), 1.0, {"jumps": 2})], epoch=1)
    assert decisions == [] and [f.detector for f in watch] == ["gps_jumps"]
