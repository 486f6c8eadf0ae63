"""Which region plan the beacons follow: the settings' override, or the oracle's registry.

The registry derives the region from the asserted location (docs/protocol.md §3). It is fetched with
backoff and refreshed every 15 min, since an owner may re-assert elsewhere; when the request
goes through this hotspot (`pocnet-hotspot submit`), the command notes it in the outbox state
and the watcher asks again within seconds, so a new region and gain need no restart. The last
known region is kept in the outbox state so `pocnet-hotspot info` can show it. The asserted
antenna gain is published too: the oracle bounds the beacon power by it (§5 rule 7), so the
beaconer never exceeds it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from hotspot.channels import Watch
from hotspot.client.backoff import Backoff
from hotspot.clock import Clock, sleep_s
from hotspot.errors import OracleUnavailable
from hotspot.outbox import AsyncOutbox, Outbox
from pocnet.errors import UnknownRegionError
from pocnet.regions import RegionPlan, get_plan
from pocnet.wire import registry_pb2

log = logging.getLogger(__name__)

REFRESH_S = 900.0
# How often the outbox is checked for `pocnet-hotspot submit`'s note (a local SQLite read),
# in real seconds.
CHANGE_POLL_S = 5.0
REGISTRY_CHANGED = "registry_changed"  # outbox state key written by `pocnet-hotspot submit`
# While the registry has no region for us (not onboarded yet, or a location in no region), ask
# again soon: an owner who has just onboarded should not wait an hour for the first beacon.
UNKNOWN_REFRESH_S = 60.0


class Registry(Protocol):
    async def get_hotspot(self, key: bytes) -> registry_pb2.HotspotInfo | None: ...


def initial_plan(override: str, outbox: Outbox) -> RegionPlan | None:
    """The plan to start with: the override, else the last one the registry told us."""
    name = override or outbox.get_state("region")
    if not name:
        return None
    try:
        return get_plan(name)
    except UnknownRegionError:
        return None


class RegionWatcher:
    def __init__(self, override: str, registry: Registry, key: bytes,
                 plans: Watch[RegionPlan | None], outbox: AsyncOutbox, clock: Clock,
                 backoff: Backoff, asserted_gain: Watch[int | None] | None = None,
                 change_poll_s: float = CHANGE_POLL_S) -> None:
        self._override = override
        self._gain = asserted_gain
        self._registry = registry
        self._key = key
        self._plans = plans
        self._outbox = outbox
        self._clock = clock
        self._backoff = backoff
        self._change_poll_s = change_poll_s

    async def run(self, shutdown: asyncio.Event) -> None:
        if self._override:
            self._plans.set(get_plan(self._override))
        while not shutdown.is_set():
            delay = await self._handle_refresh()
            await self._wait(shutdown, delay)

    async def _wait(self, shutdown: asyncio.Event, delay_s: float) -> None:
        """Sleep `delay_s` on the clock, or until `pocnet-hotspot submit` notes a registry
        change. The note is looked for every `change_poll_s` of the event loop's own time:
        a local read that must not add deadlines to the (possibly simulated) clock."""
        seen = await self._outbox.get_state(REGISTRY_CHANGED)
        timer = asyncio.ensure_future(sleep_s(self._clock, delay_s))
        stopper = asyncio.ensure_future(shutdown.wait())
        try:
            while not timer.done() and not stopper.done():
                await asyncio.wait({timer, stopper}, timeout=self._change_poll_s,
                                   return_when=asyncio.FIRST_COMPLETED)
                if await self._outbox.get_state(REGISTRY_CHANGED) != seen:
                    log.info("registry request submitted; asking the oracle again",
                             extra={"event": "registry_changed"})
                    return
        finally:
            timer.cancel()
            stopper.cancel()

    async def _handle_refresh(self) -> float:
        try:
            info = await self._registry.get_hotspot(self._key)
        except OracleUnavailable as exc:
            delay = self._backoff.next_delay_s()
            log.warning("cannot fetch region: %s; retrying in %.0f s", exc, delay,
                        extra={"event": "region_unavailable"})
            return delay
        self._backoff.reset()
        if self._gain is not None and info is not None and self._gain.get() != info.gain:
            self._gain.set(info.gain)
        if self._override:
            return REFRESH_S  # the owner fixed the region; the registry still gives the gain
        name = info.region if info is not None else ""
        plan: RegionPlan | None = None
        if name:
            try:
                plan = get_plan(name)
            except UnknownRegionError:
                log.error("oracle reports unknown region %r", name)
        elif info is None:
            log.warning("hotspot not onboarded; run `pocnet-hotspot onboard`",
                        extra={"event": "not_onboarded"})
        current = self._plans.get()
        if (current.name if current else None) != (plan.name if plan else None):
            log.info("region is %s", plan.name if plan else "unknown",
                     extra={"event": "region", "region": plan.name if plan else None})
            self._plans.set(plan)
            await self._outbox.set_state("region", plan.name if plan else "")
        return REFRESH_S if plan is not None else UNKNOWN_REFRESH_S
