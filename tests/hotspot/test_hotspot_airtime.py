"""The airtime ledger's dwell-time rule (docs/protocol.md §3): "US915 and AS923 (where required)
400 ms dwell time per channel per 20 s". US915's (FCC 15.247) always binds; AS923's only where local
regulation requires it, which the plan cannot know. Helium's AS923 beacon is SF9BW125 (0.33 s
on air, docs/protocol.md §4), so it fits the 400 ms either way; what the rule still refuses is a
second frame on the same channel inside 20 s, or any frame longer than 400 ms."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from pathlib import Path

import pytest
from hotspot_testkit import task_outbox

from hotspot.airtime import AirtimeLedger, dwell_limit_ms, frame_airtime_s
from hotspot.channels import Inbox, Watch
from hotspot.client.backoff import Backoff
from hotspot.clock import NS_PER_S, FakeClock
from hotspot.errors import AirtimeBusy
from hotspot.keystore import KeyStore
from hotspot.metrics import HotspotMetrics
from hotspot.outbox import Outbox
from hotspot.transceiver import Transceiver
from pocnet.beacon import BEACON_WINDOW_S, beacon_window, entropy_data
from pocnet.regions import PLAN_NAMES, get_plan
from pocnet.wire import entropy_pb2
from sim_radio.air import LoopbackAir
from sim_radio.radio import SimRadio

T0 = 1_767_225_600 * NS_PER_S
AS923 = [name for name in PLAN_NAMES if name.startswith("AS923")]


def test_as923_beacon_fits_the_dwell_time_its_table_lists() -> None:
    """docs/protocol.md §3: the wide tagged-spreading list sends a 51-byte beacon at SF9 (pocnet
    once sent SF12, 2.47 s, which no AS923 country requiring the dwell time allows)."""
    for name in AS923:
        plan = get_plan(name)
        assert plan.dwell_time_ms == 400
        assert frame_airtime_s(52, plan.beacon_datarate()) == pytest.approx(0.3287, abs=1e-4)


@pytest.mark.parametrize("name", AS923)
def test_as923_dwell_time_applies_only_where_required(name: str) -> None:
    plan = get_plan(name)
    assert dwell_limit_ms(plan) == 0
    ledger = AirtimeLedger()
    toa = frame_airtime_s(52, plan.beacon_datarate())
    freq = plan.channels_hz[0]
    ledger.check(plan, freq, toa, T0)
    ledger.record(plan, freq, toa, T0 + int(toa * NS_PER_S))
    ledger.check(plan, freq, toa, T0 + 30 * NS_PER_S)


def test_us915_dwell_time_still_binds() -> None:
    us915 = get_plan("US915")
    assert dwell_limit_ms(us915) == 400
    with pytest.raises(AirtimeBusy):
        AirtimeLedger().check(us915, us915.channels_hz[0], frame_airtime_s(52, "SF12BW125"), T0)


def test_the_plan_decides_where_its_dwell_time_binds() -> None:
    """The region table records where a plan's dwell time binds; the ledger follows it."""
    as923 = dataclasses.replace(get_plan("AS923-1"), dwell_time_everywhere=True)
    us915 = dataclasses.replace(get_plan("US915"), dwell_time_everywhere=False)
    assert dwell_limit_ms(as923) == 400
    assert dwell_limit_ms(us915) == 0
    assert dwell_limit_ms(get_plan("EU868")) == 0


class _Entropy:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    async def get_entropy(self) -> entropy_pb2.Entropy:
        ts = self.clock.now_ns() // NS_PER_S - 5
        return entropy_pb2.Entropy(data=entropy_data(ts, b"\x01" * 32), timestamp=ts)


def test_an_as923_hotspot_beacons_every_window(tmp_path: Path) -> None:
    from hotspot.beaconer import Beaconer

    plan = get_plan("AS923-1")

    async def go() -> tuple[list[int], int]:
        clock = FakeClock(start_ns=T0 + 1000 * NS_PER_S)
        air = LoopbackAir()
        metrics = HotspotMetrics()
        outbox = Outbox(tmp_path / "o.sqlite")
        trx = Transceiver(lambda: SimRadio(air, "me", clock.now_ns), Inbox(64), clock,
                          Backoff(random.Random(0)), metrics)
        beaconer = Beaconer(0, trx.sender(), _Entropy(clock), Watch(plan), Watch(None),
                            KeyStore.create(tmp_path / "k"), task_outbox(outbox), clock,
                            random.Random(3),
                            Backoff(random.Random(0)), metrics)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(t.run(stop)) for t in (trx, beaconer)]
        await clock.advance(4 * BEACON_WINDOW_S)
        stop.set()
        await asyncio.gather(*tasks)
        reports = [p.report for p in outbox.peek(100)]
        return [beacon_window(r.timestamp // NS_PER_S) for r in reports], len(air.sent)

    windows, sent = asyncio.run(go())
    # Windows 0-3 surely, window 4 if its random time fell in the first 1000 s.
    assert windows[:4] == [T0 // NS_PER_S + i * BEACON_WINDOW_S for i in range(4)]
    assert sent == len(windows) and len(set(windows)) == len(windows)


@pytest.mark.parametrize("name", AS923)
def test_where_the_owner_says_dwell_time_applies_it_binds_on_as923(name: str) -> None:
    """`beacon.dwell_time_where_required = true`: the 400 ms rule binds. The SF9 beacon goes
    out; a second one on its channel inside 20 s waits; an SF12 frame (2.47 s) can never meet
    the limit — refused for good (wait = inf), never sent."""
    plan = get_plan(name)
    assert dwell_limit_ms(plan, where_required=True) == 400
    ledger = AirtimeLedger(dwell_where_required=True)
    toa = frame_airtime_s(52, plan.beacon_datarate())
    freq = plan.channels_hz[0]
    ledger.check(plan, freq, toa, T0)
    ledger.record(plan, freq, toa, T0)
    with pytest.raises(AirtimeBusy) as busy:
        ledger.check(plan, freq, toa, T0 + NS_PER_S)
    assert busy.value.wait_s < 20
    ledger.check(plan, plan.channels_hz[1], toa, T0 + NS_PER_S)  # another channel is free
    with pytest.raises(AirtimeBusy) as refused:
        ledger.check(plan, plan.channels_hz[2], frame_airtime_s(52, "SF12BW125"), T0)
    assert refused.value.wait_s == float("inf")
    assert "can never be sent" in str(refused.value)
    # EU868 has no dwell time, whatever the owner says.
    eu868 = get_plan("EU868")
    AirtimeLedger(dwell_where_required=True).check(
        eu868, eu868.channels_hz[0], frame_airtime_s(52, "SF12BW125"), T0)
