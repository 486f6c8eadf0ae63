"""The reconnect policy: exponential, capped, jittered (a fleet that lost the oracle together
must not come back in the same second), reset by a success."""

from __future__ import annotations

import random

from hotspot.client.backoff import INITIAL_DELAY_S, MAX_DELAY_S, Backoff


def test_grows_doubling_within_equal_jitter_and_is_capped() -> None:
    b = Backoff(random.Random(5))
    for k in range(20):
        ceiling = min(MAX_DELAY_S, INITIAL_DELAY_S * 2**k)
        assert ceiling / 2 <= b.next_delay_s() <= ceiling
    assert b.failures == 20
    b.reset()
    assert INITIAL_DELAY_S / 2 <= b.next_delay_s() <= INITIAL_DELAY_S


def test_a_fleet_spreads_out() -> None:
    """1,000 hotspots after the same 10 failures: their retries spread over the whole range."""
    delays = []
    for seed in range(1000):
        b = Backoff(random.Random(seed))
        for _ in range(10):
            delay = b.next_delay_s()
        delays.append(delay)
    ceiling = min(MAX_DELAY_S, INITIAL_DELAY_S * 2**9)
    assert min(delays) < ceiling * 0.55 and max(delays) > ceiling * 0.95
    busiest_second = max(sum(1 for d in delays if s <= d < s + 1) for s in range(300))
    assert busiest_second < 30                  # no thundering herd: ≤ 3 % in any one second


def test_many_failures_never_overflow() -> None:
    b = Backoff(random.Random(1))
    b.failures = 10_000                         # months of outage
    assert MAX_DELAY_S / 2 <= b.next_delay_s() <= MAX_DELAY_S
