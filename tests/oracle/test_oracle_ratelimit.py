"""Per-key token buckets: a flooding key is refused while others keep their budget, tokens
refill at the configured rate, and the table of keys stays bounded without handing a drained
key a fresh burst."""

from __future__ import annotations

import asyncio

import pytest

from oracle.errors import RateLimited
from oracle.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.s = 1000.0

    def __call__(self) -> float:
        return self.s


def _drain(limiter: RateLimiter, key: bytes) -> int:
    taken = 0
    while True:
        try:
            limiter.take(key)
        except RateLimited:
            return taken
        taken += 1


def test_burst_then_refill_per_key() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_s=2, burst=5, clock_s=clock)
    assert _drain(limiter, b"flooder") == 5
    limiter.take(b"neighbour")  # another key is unaffected
    clock.s += 1.0
    assert _drain(limiter, b"flooder") == 2  # 2 tokens a second
    clock.s += 100.0
    assert _drain(limiter, b"flooder") == 5  # never more than the burst
    with pytest.raises(RateLimited, match="per key"):
        limiter.take(b"flooder")


def test_table_is_bounded_and_keeps_drained_buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("oracle.ratelimit.MAX_TRACKED_KEYS", 100)
    clock = Clock()
    limiter = RateLimiter(rate_per_s=1, burst=10, clock_s=clock)
    _drain(limiter, b"flooder")
    clock.s += 0.5
    for i in range(1000):  # one-off keys, each spending one token of ten
        limiter.take(i.to_bytes(4, "big"))
        clock.s += 2.0  # ... and refilled two seconds later
        assert len(limiter._buckets) <= 100
    # Now a drained key among busy ones (the clock stands still): when the table is full of
    # buckets that are not full, the fullest go first, never the drained one.
    _drain(limiter, b"flooder")
    for i in range(99):
        limiter.take(b"busy%d" % i)
        limiter.take(b"busy%d" % i)  # 8 of 10 tokens left: not full, so not pruned
    for i in range(150):
        limiter.take(b"new%d" % i)
        assert len(limiter._buckets) <= 100
    assert _drain(limiter, b"flooder") == 0  # still drained: no fresh burst from eviction


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0, 5, Clock())
    with pytest.raises(ValueError):
        RateLimiter(1, 0.5, Clock())


def test_keys_not_onboarded_share_one_budget_of_reports_and_bytes() -> None:
    """Issue 10 item 4: 100 fresh keys wrote 54 MB/s because each had its own budget. The
    shared budget gives them together its rate, whatever the number of keys."""
    from oracle.errors import StrangersLimited
    from oracle.ratelimit import SharedBudget

    clock = Clock()
    budget = SharedBudget(reports_per_s=10, reports_burst=20, bytes_per_s=1000,
                          bytes_burst=2000, clock_s=clock)
    for _ in range(20):  # the report burst, exactly
        budget.take(100)
    with pytest.raises(StrangersLimited, match="share 10 reports/s and 1000 bytes/s"):
        budget.take(1)
    clock.s += 1.0  # 10 reports and 1000 bytes more
    budget.take(1000)  # the byte budget, exactly
    with pytest.raises(StrangersLimited):
        budget.take(1)  # reports left (9) but no bytes
    clock.s += 0.5  # 500 bytes
    with pytest.raises(StrangersLimited):
        budget.take(501)  # refused: nothing spent
    budget.take(500)
    clock.s += 1000.0
    for _ in range(20):
        budget.take(100)  # never more than the bursts
    with pytest.raises(StrangersLimited):
        budget.take(1)


class Sleeps:
    """The tarpit's sleep, held until the test releases it: no real time passes."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.waiting: list[asyncio.Future[None]] = []

    async def __call__(self, delay_s: float) -> None:
        self.delays.append(delay_s)
        future = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        await future

    def release(self) -> None:
        for future in self.waiting:
            if not future.done():
                future.set_result(None)


def test_a_held_refusal_waits_its_delay_and_at_most_max_held_wait() -> None:
    """The tarpit: each refusal waits `delay_s` (the injected sleep) before it is answered, but
    never more than `max_held` at once; the next one is answered at once, and a place freed
    (answered or cancelled) is taken again."""
    from oracle.ratelimit import Tarpit

    async def scenario() -> None:
        sleeps = Sleeps()
        tarpit = Tarpit(delay_s=2.5, max_held=2, sleep=sleeps)
        first = asyncio.create_task(tarpit.hold())
        second = asyncio.create_task(tarpit.hold())
        await asyncio.sleep(0)  # both start and wait in the sleep
        assert sleeps.delays == [2.5, 2.5] and tarpit.held == 2
        assert not first.done() and not second.done()
        await tarpit.hold()  # the third, at the cap: answered at once, no sleep
        assert sleeps.delays == [2.5, 2.5]
        second.cancel()  # its client went away: the place is free again
        await asyncio.sleep(0)
        assert tarpit.held == 1
        third = asyncio.create_task(tarpit.hold())
        await asyncio.sleep(0)
        assert tarpit.held == 2 and len(sleeps.delays) == 3
        sleeps.release()
        await asyncio.gather(first, third)
        assert tarpit.held == 0

    asyncio.run(scenario())


def test_a_tarpit_with_no_delay_or_no_place_answers_at_once() -> None:
    from oracle.ratelimit import Tarpit

    async def scenario() -> None:
        sleeps = Sleeps()
        await Tarpit(delay_s=0, max_held=5, sleep=sleeps).hold()
        await Tarpit(delay_s=1, max_held=0, sleep=sleeps).hold()
        assert sleeps.delays == []

    asyncio.run(scenario())
    with pytest.raises(ValueError):
        Tarpit(-1, 5)
    with pytest.raises(ValueError):
        Tarpit(1, -1)


def test_a_refusal_answered_at_once_because_the_tarpit_is_full_is_counted() -> None:
    """`answered_at_once` (exported as a metric) tells the operator a flood keeps more calls in
    flight than the tarpit holds: exactly the refusals past `max_held`, none below it."""
    from oracle.ratelimit import Tarpit

    async def scenario() -> None:
        sleeps = Sleeps()
        tarpit = Tarpit(delay_s=1, max_held=2, sleep=sleeps)
        held = [asyncio.create_task(tarpit.hold()) for _ in range(2)]
        await asyncio.sleep(0)
        assert tarpit.held == 2 and tarpit.answered_at_once == 0  # at the cap, not past it
        await tarpit.hold()
        await tarpit.hold()
        assert tarpit.answered_at_once == 2
        sleeps.release()
        await asyncio.gather(*held)
        assert tarpit.answered_at_once == 2

    asyncio.run(scenario())


class Uniform:
    """An injected random source: records each range asked for and answers from a script."""

    def __init__(self, answers: list[float]) -> None:
        self.ranges: list[tuple[float, float]] = []
        self._answers = answers

    def __call__(self, low: float, high: float) -> float:
        self.ranges.append((low, high))
        return self._answers.pop(0)


@pytest.mark.parametrize(("spread", "low"), [(0.5, 1.0), (1.0, 0.0), (0.25, 1.5)])
def test_each_held_delay_is_drawn_from_delay_times_one_minus_spread_to_delay(
        spread: float, low: float) -> None:
    """Refusals held together must not be answered together (the flooder's next calls would
    come back as one burst): each waits a delay drawn from [delay × (1 − spread), delay]; the
    delay itself stays the longest wait (below the server's call deadline)."""
    from oracle.ratelimit import Tarpit

    async def scenario() -> None:
        sleeps = Sleeps()
        uniform = Uniform([1.9, 1.2])
        tarpit = Tarpit(delay_s=2.0, max_held=5, sleep=sleeps, spread=spread, uniform=uniform)
        held = [asyncio.create_task(tarpit.hold()) for _ in range(2)]
        await asyncio.sleep(0)
        assert uniform.ranges == [(low, 2.0), (low, 2.0)]
        assert sleeps.delays == [1.9, 1.2]  # each refusal waits the delay it drew
        sleeps.release()
        await asyncio.gather(*held)

    asyncio.run(scenario())


def test_no_spread_holds_every_refusal_exactly_the_delay() -> None:
    from oracle.ratelimit import Tarpit

    async def scenario() -> None:
        sleeps = Sleeps()
        uniform = Uniform([])
        tarpit = Tarpit(delay_s=2.0, max_held=5, sleep=sleeps, spread=0, uniform=uniform)
        held = [asyncio.create_task(tarpit.hold()) for _ in range(3)]
        await asyncio.sleep(0)
        assert sleeps.delays == [2.0, 2.0, 2.0] and uniform.ranges == []
        sleeps.release()
        await asyncio.gather(*held)

    asyncio.run(scenario())


def test_held_delays_from_a_seeded_source_spread_evenly_over_their_range() -> None:
    """With a real (seeded) random source the held delays cover [0.5, 1] s evenly: no quarter
    of the range holds much more or less than a quarter of 2,000 refusals."""
    import random

    from oracle.ratelimit import Tarpit

    async def scenario() -> list[float]:
        sleeps = Sleeps()
        tarpit = Tarpit(delay_s=1.0, max_held=2_000, sleep=sleeps, spread=0.5,
                        uniform=random.Random(10).uniform)
        held = [asyncio.create_task(tarpit.hold()) for _ in range(2_000)]
        await asyncio.sleep(0)
        sleeps.release()
        await asyncio.gather(*held)
        return sleeps.delays

    delays = asyncio.run(scenario())
    assert min(delays) >= 0.5 and max(delays) <= 1.0
    quarters = [sum(0.5 + q / 8 <= d < 0.5 + (q + 1) / 8 for d in delays) for q in range(4)]
    assert all(400 <= n <= 600 for n in quarters), quarters


@pytest.mark.parametrize("spread", [-0.01, 1.01])
def test_a_spread_outside_0_to_1_is_refused(spread: float) -> None:
    from oracle.ratelimit import Tarpit

    with pytest.raises(ValueError, match="spread"):
        Tarpit(1, 5, spread=spread)


def _holding(tarpit, peers: list[str]) -> list[asyncio.Task[None]]:  # type: ignore[no-untyped-def]
    return [asyncio.create_task(tarpit.hold(peer)) for peer in peers]


def test_one_peer_address_has_its_share_and_its_further_refusals_wait_the_excess_delay() -> None:
    """Holding spreads answers, not arrivals: a client on many connections sends all its calls
    at once each time they are answered. So one address has `per_peer` places at the short
    delay; exactly at its share the next refusal of that address waits `excess_delay_s`, while
    another address still has its own share; past the excess tier's places, at once."""
    from oracle.ratelimit import Tarpit

    async def scenario() -> None:
        sleeps = Sleeps()
        tarpit = Tarpit(delay_s=1.0, max_held=10, sleep=sleeps, per_peer=2,
                        excess_delay_s=30.0, max_excess=2)
        a, b = "ipv4:198.51.100.7:40001", "ipv4:198.51.100.7:40002"  # one address, 2 ports
        held = _holding(tarpit, [a, b])
        await asyncio.sleep(0)
        assert sleeps.delays == [1.0, 1.0] and (tarpit.held, tarpit.held_excess) == (2, 0)
        held += _holding(tarpit, ["ipv4:198.51.100.7:40003"])  # the share's next: excess
        await asyncio.sleep(0)
        assert sleeps.delays == [1.0, 1.0, 30.0] and tarpit.held_excess == 1
        held += _holding(tarpit, ["ipv4:203.0.113.9:5000"])  # another address: its share
        await asyncio.sleep(0)
        assert sleeps.delays[3] == 1.0 and tarpit.held == 3
        held += _holding(tarpit, [a])
        await asyncio.sleep(0)
        assert sleeps.delays[4] == 30.0 and tarpit.held_excess == 2  # the excess tier full
        await tarpit.hold(a)  # past both: answered at once
        assert len(sleeps.delays) == 5 and tarpit.answered_at_once == 1
        held[0].cancel()  # one of the share answered: the address's next is short again
        await asyncio.sleep(0)
        held += _holding(tarpit, [b])
        await asyncio.sleep(0)
        assert sleeps.delays[5] == 1.0
        sleeps.release()
        await asyncio.gather(*held, return_exceptions=True)
        assert (tarpit.held, tarpit.held_excess) == (0, 0)

    asyncio.run(scenario())


def test_one_ipv6_prefix_is_one_peer_and_no_share_means_max_held_alone() -> None:
    """Addresses of one /64 (one subscriber's) share one share; with `per_peer` 0 one address
    may take every short place, and refusals past `max_held` go to the excess tier."""
    from oracle.ratelimit import Tarpit

    async def scenario() -> None:
        sleeps = Sleeps()
        tarpit = Tarpit(delay_s=1.0, max_held=10, sleep=sleeps, per_peer=1,
                        excess_delay_s=30.0, max_excess=5)
        held = _holding(tarpit, ["ipv6:[2001:db8:0:1::5]:1", "ipv6:[2001:db8:0:1::6]:2",
                                 "ipv6:[2001:db8:0:2::5]:3"])
        await asyncio.sleep(0)
        assert sleeps.delays == [1.0, 30.0, 1.0]
        sleeps.release()
        await asyncio.gather(*held)

        sleeps = Sleeps()
        tarpit = Tarpit(delay_s=1.0, max_held=2, sleep=sleeps, per_peer=0,
                        excess_delay_s=30.0, max_excess=5)
        held = _holding(tarpit, ["ipv4:192.0.2.1:1"] * 3)
        await asyncio.sleep(0)
        assert sleeps.delays == [1.0, 1.0, 30.0]
        sleeps.release()
        await asyncio.gather(*held)

    asyncio.run(scenario())


def test_the_excess_tier_is_checked() -> None:
    from oracle.ratelimit import Tarpit

    with pytest.raises(ValueError, match="excess_delay_s must be >= delay_s"):
        Tarpit(1.0, 5, excess_delay_s=0.5, max_excess=1)
    with pytest.raises(ValueError):
        Tarpit(1.0, 5, per_peer=-1)
    Tarpit(1.0, 5, excess_delay_s=1.0, max_excess=1)  # the boundary: equal is allowed
    Tarpit(1.0, 5, excess_delay_s=0.0, max_excess=0)  # no excess tier: its delay unused


def test_held_through_resets_a_cancelled_refusal_keeps_its_place_until_its_delay_ends() -> None:
    """`through_resets` (the hotspot listener's holds): a caller cancelled while held (its
    client reset the call) keeps its place until the sleep is over, is counted in
    `reset_while_held`, and only then ends cancelled; without it the place is free at once."""
    from oracle.ratelimit import HeldThroughResets, Tarpit

    async def scenario() -> None:
        sleeps = Sleeps()
        tarpit = Tarpit(delay_s=1.0, max_held=1, sleep=sleeps)
        kept = asyncio.create_task(HeldThroughResets(tarpit).hold("ipv4:198.51.100.7:1"))
        await asyncio.sleep(0)
        kept.cancel()
        await asyncio.sleep(0)
        assert (tarpit.held, tarpit.reset_while_held) == (1, 1) and not kept.done()
        await tarpit.hold("ipv4:203.0.113.9:5")  # the one place is still taken: at once
        assert tarpit.answered_at_once == 1
        sleeps.release()  # the kept one's delay is over: now it ends, cancelled
        await asyncio.gather(kept, return_exceptions=True)
        assert kept.cancelled() and tarpit.held == 0
        freed = asyncio.create_task(tarpit.hold("ipv4:198.51.100.7:2"))  # not through resets
        await asyncio.sleep(0)
        freed.cancel()
        await asyncio.gather(freed, return_exceptions=True)
        assert tarpit.held == 0 and tarpit.reset_while_held == 1  # freed at once, not counted

    asyncio.run(scenario())


def test_closing_the_tarpit_ends_the_refusals_held_through_resets_at_once() -> None:
    """A stopping server's grace period is not spent on reset calls: `close` ends them (and
    the holds after it are ordinary ones, freed by a cancellation)."""
    from oracle.ratelimit import Tarpit

    async def scenario() -> None:
        sleeps = Sleeps()
        tarpit = Tarpit(delay_s=1.0, max_held=3, sleep=sleeps)
        kept = asyncio.create_task(tarpit.hold("ipv4:198.51.100.7:1", through_resets=True))
        waiting = asyncio.create_task(tarpit.hold("ipv4:198.51.100.7:2", through_resets=True))
        await asyncio.sleep(0)
        kept.cancel()
        await asyncio.sleep(0)
        assert tarpit.held == 2 and not kept.done()
        tarpit.close()
        await asyncio.gather(kept, waiting, return_exceptions=True)
        assert kept.cancelled() and waiting.cancelled() and tarpit.held == 0
        after = asyncio.create_task(tarpit.hold("ipv4:198.51.100.7:3", through_resets=True))
        await asyncio.sleep(0)
        after.cancel()
        await asyncio.gather(after, return_exceptions=True)
        assert tarpit.held == 0 and tarpit.reset_while_held == 1

    asyncio.run(scenario())
