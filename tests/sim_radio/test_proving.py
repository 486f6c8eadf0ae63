"""The proving ground's bookkeeping (sim_radio/proving.py): epoch alignment, the payout check
and the comparison of honest verdicts, on values worked out by hand. The whole run is
tests/integration/test_proving_ground.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from sim_radio.proving import (
    ProvingError,
    compare_honest,
    epoch_aligned,
    payout_matches_manifest,
)
from sim_radio.scenario import load_scenario

SMALL_TOWN = Path(__file__).resolve().parents[2] / "sim_radio" / "scenarios" / "small_town.toml"
DAY_NS = 86_400 * 10**9


def test_epochs_start_at_midnight_utc_with_four_windows_each() -> None:
    scenario = load_scenario(SMALL_TOWN)  # starts 2026-01-05T00:00Z
    later = replace(scenario, start_ns=scenario.start_ns + 7 * 3600 * 10**9)
    aligned = epoch_aligned(later, 3)
    assert aligned.start_ns == scenario.start_ns and aligned.start_ns % DAY_NS == 0
    assert aligned.rounds == 12
    with pytest.raises(ProvingError, match="in the past"):
        epoch_aligned(replace(scenario, start_ns=2**62), 1)


def _manifest(wallets: dict[str, int]) -> dict:
    return {"wallets": [{"wallet": w, "amount": a} for w, a in wallets.items()]}


def _status(paid: dict[str, int], states: tuple[str, ...] = ("confirmed",)) -> dict:
    return {"wallets": [{"wallet": w, "epoch_amount": a} for w, a in paid.items()],
            "batches": [{"state": s} for s in states]}


def test_the_payout_must_equal_the_manifest_in_confirmed_batches() -> None:
    m = _manifest({"A": 5, "B": 7, "Z": 0})
    assert payout_matches_manifest([m], [_status({"A": 5, "B": 7})])
    assert not payout_matches_manifest([m], [_status({"A": 5, "B": 6})])
    assert not payout_matches_manifest([m], [_status({"A": 5, "B": 7, "C": 1})])
    assert not payout_matches_manifest([m], [_status({"A": 5, "B": 7}, ("confirmed", "sent"))])
    assert payout_matches_manifest([_manifest({})], [_status({}, ())])  # nobody earned


def test_honest_verdicts_are_compared_and_differences_explained() -> None:
    # hotspots 0, 1 honest; 2 cheats. Reports: id -> owner; witnesses name their beaconer.
    owner = {b"same": 0, b"cheat-beacon": 1, b"recip": 1, b"odd": 0, b"mine": 2,
             b"alone": 0}
    beaconer = {b"same": 1, b"cheat-beacon": 2, b"recip": 0, b"odd": 1, b"mine": 0,
                b"alone": 1}
    run = SimpleNamespace(report_owner=owner, beaconer_of=beaconer, verdicts={
        b"same": (True, ""), b"cheat-beacon": (False, "bad_rssi"),
        b"recip": (False, "gateway_no_valid_beacons"), b"odd": (False, "too_late"),
        b"mine": (False, "bad_rssi"), b"alone": (True, "")})
    clean = SimpleNamespace(verdicts={
        b"same": (True, ""), b"cheat-beacon": (True, ""), b"recip": (True, ""),
        b"odd": (True, ""), b"mine": (True, "")})
    assert compare_honest(run, clean, {0, 1}) == {  # type: ignore[arg-type]
        "compared": 4, "same": 1, "beaconer_cheats": 1, "reciprocity": 1, "unexplained": 1}
