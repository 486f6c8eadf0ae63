"""The one airtime rule (docs/protocol.md §3), at its boundaries: the hotspot daemon and the
simulator both decide with it (tests/hotspot/test_hotspot_airtime.py,
tests/sim_radio/test_reception.py check their adapters)."""

from __future__ import annotations

import pytest

from pocnet import link
from pocnet.airtime import NEVER, AirtimeLedger, dwell_limit_ms, frame_airtime_s
from pocnet.regions import get_plan

S = 1_000_000_000


def test_eu868_duty_cycle_silence_ends_exactly_at_airtime_over_duty_cycle() -> None:
    plan = get_plan("EU868")
    air = frame_airtime_s(52, "SF12BW125")
    assert air == pytest.approx(link.time_on_air_s(52, 12, 125_000))
    ledger = AirtimeLedger()
    ledger.record(plan, 868_100_000, air, 0)
    free = round(round(air * S) / 0.01)  # docs/protocol.md §3: T/δ from the start, T(1/δ − 1) after
    assert ledger.free_at_ns(plan, 868_300_000) == free
    refused = ledger.decide(plan, 868_300_000, air, free - 1)
    assert not refused.allowed and refused.earliest_ns == free
    assert refused.reason == "duty cycle" and refused.label
    assert ledger.decide(plan, 868_300_000, air, free).allowed
    assert ledger.decide(plan, 867_100_000, air, 1).allowed  # the other sub-band


def test_us915_dwell_time_at_its_boundaries() -> None:
    plan = get_plan("US915")
    assert dwell_limit_ms(plan) == 400
    ledger = AirtimeLedger()
    # 400 ms exactly is allowed; one nanosecond more never is.
    assert ledger.decide(plan, 903_900_000, 0.4, 0).allowed
    never = ledger.decide(plan, 903_900_000, 0.4 + 1e-9, 0)
    assert not never.allowed and never.earliest_ns == NEVER
    assert ledger.schedule(plan, 903_900_000, 0.4 + 1e-9, 0) is None
    # 300 ms on air at 0: another 300 ms frame fits once the 20 s window ending with it holds
    # no more than 100 ms of the first, i.e. it starts at 20 s − 300 ms + 200 ms... exactly.
    ledger.record(plan, 903_900_000, 0.3, 0)
    d = ledger.decide(plan, 903_900_000, 0.3, 1 * S)
    assert not d.allowed and d.reason == "dwell time"
    earliest = d.earliest_ns
    window_start = earliest + round(0.3 * S) - 20 * S
    assert round(0.3 * S) - window_start + round(0.3 * S) <= round(0.4 * S)
    assert ledger.decide(plan, 903_900_000, 0.3, earliest).allowed
    assert ledger.decide(plan, 904_100_000, 0.3, 1 * S).allowed  # another channel


def test_as923_dwell_time_only_where_the_owner_says_it_is_required() -> None:
    plan = get_plan("AS923-1")
    sf12 = frame_airtime_s(52, "SF12BW125")
    assert AirtimeLedger().decide(plan, plan.channels_hz[0], sf12, 0).allowed
    strict = AirtimeLedger(dwell_where_required=True)
    assert strict.decide(plan, plan.channels_hz[0], sf12, 0).earliest_ns == NEVER


def test_a_new_plan_keeps_what_was_sent_in_the_same_sub_band() -> None:
    eu = get_plan("EU868")
    ledger = AirtimeLedger()
    ledger.record(eu, 868_100_000, 1.0, 0)
    assert not ledger.decide(get_plan("EU868"), 868_100_000, 1.0, 50 * S).allowed
