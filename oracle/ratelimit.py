"""Per-key token buckets: one hotspot flooding the oracle is refused (RESOURCE_EXHAUSTED)
while every other key keeps its own budget. And one shared budget for every key not onboarded:
keys cost nothing, so a budget per key alone let 100 fresh keys write 54 MB/s; together they
may store no more reports and bytes per second than `SharedBudget` allows, however many there
are (issue 10 item 4).

The clock is injected so tests drive time; the table is pruned of full buckets so a stream of
one-off keys cannot grow memory without bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from oracle.errors import RateLimited, StrangersLimited

MAX_TRACKED_KEYS = 200_000


@dataclass
class _Bucket:
    tokens: float
    updated_s: float


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: float, clock_s: Callable[[], float]) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock_s = clock_s
        self._buckets: dict[bytes, _Bucket] = {}

    def take(self, key: bytes, cost: float = 1.0) -> None:
        """Spend `cost` tokens of `key`'s bucket or raise RateLimited."""
        now = self._clock_s()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED_KEYS:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        else:
            elapsed = max(0.0, now - bucket.updated_s)
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate_per_s)
            bucket.updated_s = now
        if bucket.tokens < cost:
            raise RateLimited(
                f"rate limit: at most {self.rate_per_s:g} reports/s (burst {self.burst:g}) per key"
            )
        bucket.tokens -= cost

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled: they would be recreated identical."""
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.updated_s) * self.rate_per_s >= self.burst
        ]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= MAX_TRACKED_KEYS:
            # All busy: forget the fullest half. A forgotten key comes back with a full burst,
            # which is the smallest gift to those nearly full and none at all to a flooder
            # that drained its bucket (dropping the oldest would reset exactly that one).
            def level(k: bytes) -> float:
                b = self._buckets[k]
                return b.tokens + (now - b.updated_s) * self.rate_per_s

            fullest = sorted(self._buckets, key=level, reverse=True)
            for k in fullest[: len(fullest) // 2]:
                del self._buckets[k]


class SharedBudget:
    """Two token buckets every caller draws on together: reports and bytes."""

    def __init__(
        self,
        reports_per_s: float,
        reports_burst: float,
        bytes_per_s: float,
        bytes_burst: float,
        clock_s: Callable[[], float],
    ) -> None:
        if min(reports_per_s, bytes_per_s) <= 0 or reports_burst < 1 or bytes_burst < 1:
            raise ValueError("rates must be > 0 and bursts >= 1")
        self.rates = (reports_per_s, bytes_per_s)
        self.bursts = (reports_burst, bytes_burst)
        self._clock_s = clock_s
        self._tokens = [reports_burst, bytes_burst]
        self._updated_s = clock_s()

    def check(self, size: int) -> None:
        """Raise StrangersLimited if a report of `size` bytes would be refused now, spending
        nothing: ingest asks before checking the signature, so a flood beyond the budget
        costs no signature check (a forger gains nothing: fresh keys are free anyway)."""
        now = self._clock_s()
        elapsed = max(0.0, now - self._updated_s)
        self._updated_s = now
        for i in (0, 1):
            self._tokens[i] = min(self.bursts[i], self._tokens[i] + elapsed * self.rates[i])
        if self._tokens[0] < 1 or self._tokens[1] < size:
            raise StrangersLimited(
                f"keys not onboarded share {self.rates[0]:g} reports/s and "
                f"{self.rates[1]:g} bytes/s; onboard the hotspot or retry later"
            )

    def take(self, size: int) -> None:
        """Spend one report and `size` bytes, or raise StrangersLimited and spend nothing."""
        self.check(size)
        self._tokens[0] -= 1
        self._tokens[1] -= size
