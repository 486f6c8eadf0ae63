"""Region and asserted gain from the registry (or the settings' override), with backoff."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from hotspot_testkit import task_outbox

from hotspot.beaconer import Beaconer
from hotspot.channels import Watch
from hotspot.client.backoff import Backoff
from hotspot.clock import FakeClock
from hotspot.errors import OracleUnavailable
from hotspot.metrics import HotspotMetrics
from hotspot.outbox import Outbox
from hotspot.region_watcher import (
    REFRESH_S,
    REGISTRY_CHANGED,
    UNKNOWN_REFRESH_S,
    RegionWatcher,
    initial_plan,
)
from pocnet.wire import registry_pb2


class Registry:
    def __init__(self, answers: list) -> None:
        self.answers = answers
        self.calls = 0

    async def get_hotspot(self, key: bytes):
        self.calls += 1
        answer = self.answers[min(self.calls, len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


def watch(tmp: Path, override: str, registry: Registry, seconds: float):
    async def go():
        clock = FakeClock()
        outbox = Outbox(tmp / "o.sqlite")
        plans: Watch = Watch(initial_plan(override, outbox))
        gain: Watch = Watch(None)
        w = RegionWatcher(override, registry, b"k", plans, task_outbox(outbox), clock,
                          Backoff(random.Random(0)), gain)
        stop = asyncio.Event()
        task = asyncio.create_task(w.run(stop))
        await clock.advance(seconds)
        stop.set()
        await task
        return plans.get(), gain.get(), outbox
    return asyncio.run(go())


def test_region_from_the_registry_after_an_outage(tmp_path: Path) -> None:
    registry = Registry([OracleUnavailable("down"), OracleUnavailable("down"),
                         registry_pb2.HotspotInfo(region="US915", gain=45)])
    plan, gain, outbox = watch(tmp_path, "", registry, 60)
    assert plan.name == "US915" and gain == 45 and registry.calls == 3
    assert outbox.get_state("region") == "US915"
    assert initial_plan("", outbox).name == "US915"      # known at the next start


def test_not_onboarded_means_no_region_and_retries_every_minute(tmp_path: Path) -> None:
    registry = Registry([None])
    plan, gain, _ = watch(tmp_path, "", registry, 2 * UNKNOWN_REFRESH_S + 1)
    assert plan is None and gain is None and registry.calls == 3


def test_a_region_once_known_is_refreshed_every_15_min(tmp_path: Path) -> None:
    registry = Registry([None, registry_pb2.HotspotInfo(region="EU868", gain=30)])
    plan, _, _ = watch(tmp_path, "", registry, UNKNOWN_REFRESH_S + 1)
    assert plan.name == "EU868" and registry.calls == 2   # onboarded meanwhile: a minute
    registry = Registry([registry_pb2.HotspotInfo(region="EU868", gain=30)])
    watch(tmp_path, "", registry, 2 * REFRESH_S + 1)
    assert registry.calls == 3


def test_override_wins_but_the_asserted_gain_is_still_learnt(tmp_path: Path) -> None:
    registry = Registry([registry_pb2.HotspotInfo(region="US915", gain=30)])
    plan, gain, _ = watch(tmp_path, "EU868", registry, 1)
    assert plan.name == "EU868" and gain == 30


def test_beacon_power_never_exceeds_what_the_asserted_gain_allows(tmp_path: Path) -> None:
    asserted: Watch = Watch(None)
    b = Beaconer(10, None, None, Watch(None), Watch(None), None,
                 task_outbox(Outbox(tmp_path / "o.sqlite")), FakeClock(), random.Random(0),
                 Backoff(random.Random(0)), HotspotMetrics(), asserted)
    assert b.gain_dbi_x10() == 10
    asserted.set(30)
    assert b.gain_dbi_x10() == 30
    asserted.set(0)
    assert b.gain_dbi_x10() == 10


def test_a_submitted_request_is_picked_up_within_seconds(tmp_path: Path) -> None:
    """Issue 16 item 9: `pocnet-hotspot submit` notes the change; no restart, no 15 min."""
    registry = Registry([registry_pb2.HotspotInfo(region="EU868", gain=30),
                         registry_pb2.HotspotInfo(region="US915", gain=45)])

    async def go():
        clock = FakeClock()
        outbox = Outbox(tmp_path / "o.sqlite")
        plans: Watch = Watch(None)
        gain: Watch = Watch(None)
        w = RegionWatcher("", registry, b"k", plans, task_outbox(outbox), clock,
                          Backoff(random.Random(0)), gain, change_poll_s=0.01)
        stop = asyncio.Event()
        task = asyncio.create_task(w.run(stop))
        await clock.advance(100)
        assert plans.get().name == "EU868" and registry.calls == 1
        submitter = Outbox(tmp_path / "o.sqlite")  # the command's own connection
        submitter.set_state(REGISTRY_CHANGED, 2)
        for _ in range(1000):  # up to 10 s of real time; the fake clock stands still
            if registry.calls == 2:
                break
            await asyncio.sleep(0.01)
        assert plans.get().name == "US915" and gain.get() == 45 and registry.calls == 2
        await clock.advance(REFRESH_S - 1)
        assert registry.calls == 2  # no further change: the usual refresh interval
        await clock.advance(1)
        assert registry.calls == 3
        stop.set()
        await task
    asyncio.run(go())
