"""One signature for a report that both passes of a proving-ground run send byte for byte.

The run's two passes (the scenario, and the same scenario without adversaries) share the seed,
so honest hotspots hold the same keys in both and most of a round's reports (~95 % in the
city) are the same bytes in both. An Ed25519 signature is a function of the key and the
message alone (RFC 8032 §5.1.6), and a report's id is the SHA-256 of the canonical bytes it
signs, which name the key (`pub_key`): a signature one pass made for a report id is exactly the
one the other pass would make for it. So the pass that reaches a round first (the leader)
signs all of it and leaves its signatures here; the other (the follower) takes them, signs only
its reports the leader did not send, and writes the same bytes it would have written alone.
Nothing of the oracles' work changes: each oracle still checks every signature it stores.

Rounds are met by index. A leader whose follower is more than `keep` rounds behind loses its
oldest round's signatures (the follower then signs that round alone), so memory stays
bounded however far apart the passes drift. Meant for two writers in threads of one process.
"""

from __future__ import annotations

import threading

# A follower waits this long at most for its leader's signatures, then signs alone: a leader
# that failed publishes nothing (the run is failing anyway), and the bytes are the same either way.
WAIT_S = 600.0


class RoundSignatures:
    """One round's signatures by report id, published once by the leader."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._by_id: dict[bytes, bytes] = {}

    def publish(self, by_id: dict[bytes, bytes]) -> None:
        """The leader's signatures (an empty dict when it failed); a second call is ignored."""
        if not self._ready.is_set():
            self._by_id = by_id
            self._ready.set()

    @property
    def published(self) -> bool:
        return self._ready.is_set()

    def wait(self, timeout_s: float = WAIT_S) -> dict[bytes, bytes]:
        """The leader's signatures, or none once `timeout_s` has passed without them."""
        return self._by_id if self._ready.wait(timeout_s) else {}


class SignatureShare:
    """Where two writers of one run meet round by round (thread-safe)."""

    def __init__(self, keep: int = 4) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._waiting: dict[int, RoundSignatures] = {}  # round -> the leader's, until followed
        self._dropped: set[int] = set()  # rounds whose leader's signatures were let go
        self.rounds_followed = 0

    def meet(self, round_index: int) -> tuple[bool, RoundSignatures | None]:
        """(leads, signatures): the first writer at a round leads and publishes into the
        returned object; the second follows and reads from it; a writer at a round whose
        signatures were dropped gets None and signs alone."""
        with self._lock:
            if round_index in self._dropped:
                self._dropped.discard(round_index)
                return True, None
            follows = self._waiting.pop(round_index, None)
            if follows is not None:
                self.rounds_followed += 1
                return False, follows
            leads = self._waiting[round_index] = RoundSignatures()
            while len(self._waiting) > self._keep:
                oldest = min(self._waiting)
                del self._waiting[oldest]
                self._dropped.add(oldest)
            return True, leads

    @property
    def rounds_waiting(self) -> int:
        """Rounds whose leader's signatures wait for their follower."""
        with self._lock:
            return len(self._waiting)
