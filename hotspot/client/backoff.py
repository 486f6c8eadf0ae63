"""Reconnect policy and deadlines shared by every oracle call (docs/protocol.md §1 timings).

Exponential backoff with full jitter spreads a fleet of hotspots that lost the oracle at the
same moment, so they do not all come back in the same second.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# docs/protocol.md §1: a session lasts at most 30 min; renew well before so no report is refused.
SESSION_MAX_S = 30 * 60
SESSION_RENEW_S = 25 * 60
# docs/protocol.md §1: the client answers the server's nonce within 5 s.
SESSION_INIT_TIMEOUT_S = 5.0
# Default deadline of a unary call; settings.oracle.timeout_s overrides it.
CALL_TIMEOUT_S = 10.0

INITIAL_DELAY_S = 1.0
MAX_DELAY_S = 300.0


@dataclass
class Backoff:
    """Delay before the next retry: grows ×factor per failure, jittered, reset on success."""

    rng: random.Random
    initial_s: float = INITIAL_DELAY_S
    max_s: float = MAX_DELAY_S
    factor: float = 2.0
    failures: int = field(default=0, init=False)

    def next_delay_s(self) -> float:
        """The wait before the next attempt: uniform in [ceiling/2, ceiling] (equal jitter)."""
        delay = backoff_delay_s(self.failures, self.rng, self.initial_s, self.max_s, self.factor)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0


def backoff_delay_s(failures: int, rng: random.Random, initial_s: float = INITIAL_DELAY_S,
                    max_s: float = MAX_DELAY_S, factor: float = 2.0) -> float:
    """The jittered wait after `failures` failures so far; pure, so a report's own retry time
    can be computed from the attempt count stored with it in the outbox."""
    ceiling = min(max_s, initial_s * factor ** min(max(failures, 0), 64))
    return ceiling / 2 + rng.random() * ceiling / 2
