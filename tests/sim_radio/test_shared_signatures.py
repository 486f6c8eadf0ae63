"""The run's two passes sign each report both send once (sim_radio/shared_signatures.py): the
records stay byte for byte those of a pass alone, the follower signs only what the leader did
not send, and a leader that is gone or far ahead never leaves a follower waiting or memory
growing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pocnet import signing
from pocnet.keys import Keypair, PublicKey
from pocnet.report_file import parse_line
from pocnet.wire import reports_pb2
from sim_radio.adversaries import witness_reports
from sim_radio.scenario import build, load_scenario
from sim_radio.shared_signatures import SignatureShare
from sim_radio.wire_reports import WireWriter

SMALL_TOWN = Path(__file__).resolve().parents[2] / "sim_radio" / "scenarios" / "small_town.toml"
ORACLE = Keypair.from_seed(bytes(range(32)))
ROUNDS = 2


def _passes() -> tuple:  # type: ignore[type-arg]
    scenario = replace(load_scenario(SMALL_TOWN), rounds=ROUNDS)
    assert scenario.adversaries  # the two passes differ
    return scenario, replace(scenario, adversaries=())


def _run(writers: list[WireWriter], worlds: list[tuple]) -> list[list]:  # type: ignore[type-arg]
    """Each writer's rounds, the writers taking turns round by round (as two passes in lock
    step do): per writer, its records and report ids of every round."""
    out: list[list] = [[] for _ in writers]  # type: ignore[type-arg]
    for r in range(ROUNDS):
        for k, (writer, (mesh, assignment)) in enumerate(zip(writers, worlds, strict=True)):
            result = mesh.beacon_round(r)
            rr = writer.round_reports(result, witness_reports(mesh, result, assignment))
            out[k].append((rr.lines, rr.beacon_id, rr.witness_id))
    return out


def test_a_shared_run_writes_the_bytes_of_two_lone_passes_and_signs_common_reports_once(
) -> None:
    scenarios = _passes()
    alone = []
    for scenario in scenarios:  # each pass on its own writer, no share
        world = build(scenario)
        with WireWriter(world[1], scenario.seed, ORACLE, workers=0) as writer:
            alone += _run([writer], [world])
    worlds = [build(s) for s in scenarios]
    share = SignatureShare()
    writers = [WireWriter(w[1], s.seed, ORACLE, workers=0, share=share)
               for s, w in zip(scenarios, worlds, strict=True)]
    shared = _run(writers, worlds)
    for writer in writers:
        writer.close()
    assert shared == alone
    # What the two lone passes have in common, round by round: the follower's reuse.
    common = sum(len({i for i in lead[1] + lead[2] if i} & {i for i in follow[1] + follow[2] if i})
                 for lead, follow in zip(alone[0], alone[1], strict=True))
    assert common > 0
    assert (writers[0].signatures_reused, writers[1].signatures_reused) == (0, common)
    assert share.rounds_followed == ROUNDS and share.rounds_waiting == 0
    for lines, *_ in shared[1]:  # the follower's reports carry valid signatures of their own
        for n, line in enumerate(lines, 1):
            _, kind, raw = parse_line(line.encode(), n)
            if kind in ("beacon", "witness"):
                cls = reports_pb2.BeaconReport if kind == "beacon" else reports_pb2.WitnessReport
                msg = cls.FromString(raw)
                signing.verify(msg, PublicKey.from_bytes(msg.pub_key))


def test_first_at_a_round_leads_the_second_follows_and_the_leaders_signatures_are_its_own(
) -> None:
    share = SignatureShare()
    leads, first = share.meet(7)
    follows, second = share.meet(7)
    assert (leads, follows) == (True, False) and first is second
    assert second is not None and not second.published
    first.publish({b"id": b"sig"})  # type: ignore[union-attr]
    first.publish({b"id": b"other"})  # type: ignore[union-attr]  # only the first counts
    assert second.wait(0) == {b"id": b"sig"}
    assert share.meet(7)[0]  # a third writer at the round leads alone


def test_a_leader_more_than_keep_rounds_ahead_lets_its_oldest_round_go() -> None:
    share = SignatureShare(keep=2)
    for r in range(3):  # rounds 0, 1, 2 led: three waiting, one more than kept
        share.meet(r)
    assert share.rounds_waiting == 2
    assert share.meet(0) == (True, None)  # round 0 was let go: its follower signs alone
    assert share.meet(1)[0] is False and share.meet(2)[0] is False
    assert share.rounds_waiting == 0


def test_a_round_that_fails_publishes_nothing_so_its_follower_does_not_wait(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    scenario, _ = _passes()
    mesh, assignment = build(scenario)
    share = SignatureShare()
    writer = WireWriter(assignment, scenario.seed, ORACLE, workers=0, share=share)

    def fails(*_args: object) -> None:
        raise RuntimeError("the leader's round failed")

    monkeypatch.setattr(writer, "_round_reports", fails)
    result = mesh.beacon_round(0)
    with pytest.raises(RuntimeError):
        writer.round_reports(result, witness_reports(mesh, result, assignment))
    follows, signatures = share.meet(0)
    assert not follows and signatures is not None
    assert signatures.published and signatures.wait(0) == {}
    writer.close()
