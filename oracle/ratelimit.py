"""Per-key token buckets: one hotspot flooding the oracle is refused (RESOURCE_EXHAUSTED)
while every other key keeps its own budget.

The clock is injected so tests drive time; the table is pruned of full buckets so a stream of
one-off keys cannot grow memory without bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from oracle.errors import RateLimited

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
