"""Time, injected: every task reads `now_ns()` and sleeps with `sleep_until()` from a Clock.

The real clock is the host's; the fake clock lets tests and benchmarks run hours of schedule in
milliseconds, deterministically, by advancing virtual time only when told to.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol

NS_PER_S = 1_000_000_000


class Clock(Protocol):
    def now_ns(self) -> int:
        """ns since the Unix epoch."""
        ...

    async def sleep_until(self, deadline_ns: int) -> None: ...


async def sleep_s(clock: Clock, seconds: float) -> None:
    """Sleep `seconds` on `clock` (backoff waits)."""
    await clock.sleep_until(clock.now_ns() + int(seconds * NS_PER_S))


class RealClock:
    """The host clock; sleeps are re-checked so a stepped system clock cannot oversleep much."""

    def now_ns(self) -> int:
        return time.time_ns()

    async def sleep_until(self, deadline_ns: int) -> None:
        while (remaining := deadline_ns - time.time_ns()) > 0:
            # Wake at least every 60 s: NTP may step the wall clock while we sleep.
            await asyncio.sleep(min(remaining / NS_PER_S, 60.0))


class FakeClock:
    """Virtual time that moves only in `advance()`; sleepers wake in deadline order."""

    def __init__(self, start_ns: int = 1_767_225_600 * NS_PER_S) -> None:  # 2026-01-01 00:00Z
        self._now_ns = start_ns
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now_ns(self) -> int:
        return self._now_ns

    async def sleep_until(self, deadline_ns: int) -> None:
        if deadline_ns <= self._now_ns:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline_ns, next(self._seq), future))
        await future

    @property
    def next_deadline_ns(self) -> int | None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)  # cancelled sleepers
        return self._sleepers[0][0] if self._sleepers else None

    async def settle(self, rounds: int = 50) -> None:
        """Let every runnable task run until it blocks again (no virtual time passes)."""
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking each sleeper at its own deadline in order."""
        target = self._now_ns + int(seconds * NS_PER_S)
        await self.settle()
        while (deadline := self.next_deadline_ns) is not None and deadline <= target:
            _, _, future = heapq.heappop(self._sleepers)
            self._now_ns = max(self._now_ns, deadline)
            future.set_result(None)
            await self.settle()
        self._now_ns = target
        await self.settle()
