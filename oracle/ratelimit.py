"""Per-key token buckets: one hotspot flooding the oracle is refused (RESOURCE_EXHAUSTED)
while every other key keeps its own budget. And one shared budget for every key not onboarded:
keys cost nothing, so a budget per key alone let 100 fresh keys write 54 MB/s; together they
may store no more reports and bytes per second than `SharedBudget` allows, however many there
are (issue 10 item 4). And `Tarpit`: a refusal of that shared budget is answered only after a
delay, so a flooder that waits for its answers is slowed to its calls in flight per delay; each
delay has a random part, so refusals held together are not answered (and sent again) together;
one peer address has a share of those places, and its refusals past the share wait much longer.
On the hotspot listener a held refusal keeps its place for its whole delay even when its client
resets the call (`HeldThroughResets`): there a call counts against its connection's limit until
the server is done with it, so a client that cancels its calls gets no more through than one
that waits.

The clock is injected so tests drive time; the table is pruned of full buckets so a stream of
one-off keys cannot grow memory without bound.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from oracle.errors import RateLimited, StrangersLimited
from oracle.stream_guard import peer_group

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


class Tarpit:
    """Holds refusals of the shared budget for about `delay_s` before they are answered.

    Refusing a report of a key not onboarded is cheap for our code, but each refused call still
    costs gRPC's per-call work on the server's one event loop; answered at once, a flooder that
    keeps N calls in flight makes the server refuse as fast as it can, and an onboarded
    hotspot's call queues behind them. Held, each of those N calls is answered once per delay:
    the refusals it can force fall to N / (mean delay) a second, for the price of one timer per
    held call. At most `max_held` refusals wait at once (each holds a
    call slot of `server.max_concurrent_rpcs` and a little memory).

    Each delay is drawn uniformly from [`delay_s` × (1 − `spread`), `delay_s`]: with one fixed
    delay, calls refused in the same millisecond were answered in the same millisecond a delay
    later, and a flooder that sends again when answered came back as a burst every `delay_s`,
    the burst an onboarded hotspot's call queued behind. Spread, the answers (and such a
    flooder's next calls) arrive evenly. `delay_s` stays the longest wait, so a held refusal
    still reaches its client before the server's own call deadline; the rate bound is then
    N / mean delay = N / (`delay_s` × (1 − `spread` / 2)). `sleep` and `uniform` are injected
    so tests drive time and chance.

    A peer address's share (`per_peer`, 0 = none): holding spreads answers, not arrivals, and a
    client on K connections can have every one of its calls arrive at once (16 a connection):
    a client that sends its next batch when all are answered then sends 16 K calls at once
    every delay, and gRPC's work for that burst is what an onboarded hotspot's call waits
    behind. So one address (`peer_group`: IPv6 by prefix) has at most `per_peer` refusals held
    at the short delay; its further ones, and any past `max_held`, wait `excess_delay_s` (the
    same random part) in a second tier of at most `max_excess` places. A flooder on more
    connections than its share has its extra calls answered once in tens of seconds, so its
    bursts come that rarely. Only past both tiers is a refusal answered at once (counted in
    `answered_at_once`). The excess delay may outlast a client's deadline (a hotspot's is
    10 s): that client sees DEADLINE_EXCEEDED instead of the refusal, which tells a stranger
    no less, since its reports could only get `gateway_not_found`."""

    def __init__(self, delay_s: float, max_held: int,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                 spread: float = 0.0,
                 uniform: Callable[[float, float], float] | None = None,
                 per_peer: int = 0, excess_delay_s: float = 0.0, max_excess: int = 0,
                 ipv6_prefix_len: int = 64) -> None:
        if delay_s < 0 or max_held < 0 or per_peer < 0 or max_excess < 0:
            raise ValueError("delay must be >= 0 and max_held, per_peer, max_excess >= 0")
        if not 0 <= spread <= 1:
            raise ValueError("spread must be a share of the delay, 0 to 1")
        if max_excess and excess_delay_s < delay_s:
            raise ValueError("excess_delay_s must be >= delay_s")
        self.delay_s = delay_s
        self.spread = spread
        self.max_held = max_held
        self.per_peer = per_peer
        self.excess_delay_s = excess_delay_s
        self.max_excess = max_excess
        self._ipv6_prefix_len = ipv6_prefix_len
        self._sleep = sleep
        self._uniform = uniform or random.Random().uniform  # an own source: no global state
        self._held_of: Counter[str] = Counter()  # short-delay refusals held, by peer address
        self.held = 0  # refusals waiting the short delay now (metrics, tests)
        self.held_excess = 0  # refusals waiting excess_delay_s now
        self.answered_at_once = 0  # refusals answered at once because both tiers were full
        self.reset_while_held = 0  # held through resets: calls their client reset meanwhile
        self._through: set[asyncio.Future[object]] = set()  # waits held through resets
        self._closed = False

    async def hold(self, peer: str = "", through_resets: bool = False) -> None:
        """Wait about `delay_s` before the caller answers its refusal; `excess_delay_s` when
        `peer` (grpc's peer string) has its share held already or `max_held` wait; at once when
        `max_excess` wait too. A call cancelled meanwhile (client gone) frees its place, unless
        `through_resets`: then the place is kept until the delay ends (or `close`), and only
        then is the cancellation raised."""
        if self.delay_s <= 0:
            return
        group = peer_group(peer, self._ipv6_prefix_len)
        if self.held < self.max_held and (not self.per_peer
                                          or self._held_of[group] < self.per_peer):
            self.held += 1
            self._held_of[group] += 1
            try:
                await self._wait(self._delay(self.delay_s), through_resets)
            finally:
                self.held -= 1
                self._held_of[group] -= 1
                if self._held_of[group] <= 0:
                    del self._held_of[group]
        elif self.held_excess < self.max_excess:
            self.held_excess += 1
            try:
                await self._wait(self._delay(self.excess_delay_s), through_resets)
            finally:
                self.held_excess -= 1
        else:
            self.answered_at_once += 1

    async def _wait(self, delay_s: float, through_resets: bool) -> None:
        """The sleep; held through resets, a cancellation of the caller (gRPC cancels the
        handler when the client resets its call) is raised only once the sleep is over, so
        the call, and with it its place in the connection's count, lives until then."""
        if not through_resets or self._closed:
            await self._sleep(delay_s)
            return
        wait = asyncio.ensure_future(self._sleep(delay_s))
        self._through.add(wait)
        reset = False
        try:
            while True:
                try:
                    await asyncio.shield(wait)
                    break
                except asyncio.CancelledError:
                    if self._closed or wait.cancelled():
                        wait.cancel()
                        raise
                    if not reset:
                        reset = True
                        self.reset_while_held += 1
        finally:
            self._through.discard(wait)
        if reset:
            raise asyncio.CancelledError

    def close(self) -> None:
        """The server is stopping: end the waits held through resets now, and hold no more
        through resets, so that its grace period is not spent on calls nobody waits for."""
        self._closed = True
        for wait in list(self._through):
            wait.cancel()

    def _delay(self, longest_s: float) -> float:
        if self.spread > 0:
            return self._uniform(longest_s * (1 - self.spread), longest_s)
        return longest_s


class HeldThroughResets:
    """The tarpit as the hotspot listener's servicer holds with it (`connections.hotspot_listen`,
    oracle/server.py): the same places and delays, but a held refusal whose client resets the
    call keeps its place until its delay ends. gRPC counts a call there against its
    connection's limit until the server is done with it, so a client that cancels each held
    call and sends again at once has its connection's places taken for the whole delay and its
    further calls refused by gRPC's HTTP/2 layer, before they cost the event loop anything:
    it gets no more calls through than a client that waits for its answers."""

    def __init__(self, tarpit: Tarpit) -> None:
        self.tarpit = tarpit

    async def hold(self, peer: str = "") -> None:
        await self.tarpit.hold(peer, through_resets=True)
