"""Is this entropy fit to beacon on? Checked between the fetch and the beacon (docs/protocol.md §4).

**Authenticity.** The oracle signs its entropy (`oracle_key`, `signature`; the signing rule of
docs/protocol.md §1). With `oracle.keys` set, entropy from a key not in that list, unsigned, or
whose signature does not verify is refused: a beacon built on it would be rejected by the oracle
(or worse, chosen by whoever answered on the oracle's address) and still use up this window's
beacon. With the list empty any entropy is accepted, and the beaconer says once at start that it
is not authenticated.

**Freshness.** The oracle judges a beacon by *its own* receive time: valid when received within
180 s of the entropy timestamp (docs/protocol.md §5). The hotspot's clock plays no part in that, and
it is often wrong (a Raspberry Pi has no RTC and boots with the time it was shut down at, until
NTP answers, which a firewall may never let it do). Refusing entropy by the host clock alone
would stop exactly those hotspots from ever beaconing while the oracle would have accepted
every beacon, and a wrong clock cannot be told apart from a delayed entropy stream by looking at
the stream. So stale entropy is refused only against a time the hotspot has two independent
witnesses for: the host clock *and* a held GNSS fix's time agree within CLOCKS_AGREE_S. With no
GPS, or clocks that disagree (a wrong host clock, a receiver with a week-rollover bug), nothing
is refused for its age; `clock_offset_s` lets the beaconer warn instead. Someone in the path
replaying genuinely signed old entropy then costs that window's beacon, no more than dropping
the beacon report would.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hotspot.clock import NS_PER_S
from hotspot.errors import EntropyRefused
from hotspot.gps_watcher import MAX_FIX_AGE_S, HeldFix, gnss_time_ns
from pocnet import signing
from pocnet.beacon import ENTROPY_LIFETIME_S
from pocnet.errors import ProtoError
from pocnet.keys import PublicKey
from pocnet.wire import entropy_pb2

# Host clock and GNSS time closer than this corroborate each other (a fix reaches the watcher
# well under a second after its epoch; NTP keeps a host within milliseconds).
CLOCKS_AGREE_S = 10.0


@dataclass(frozen=True)
class EntropyCheck:
    """The oracle keys (33-byte wire form) whose entropy is accepted; empty = any."""

    oracle_keys: frozenset[bytes] = frozenset()

    @classmethod
    def from_addresses(cls, addresses: Iterable[str]) -> EntropyCheck:
        """From `oracle.keys` (validated at settings load, so these parse)."""
        return cls(frozenset(PublicKey.from_address(a).to_bytes() for a in addresses))

    @property
    def authenticated(self) -> bool:
        return bool(self.oracle_keys)

    def check(self, entropy: entropy_pb2.Entropy, now_ns: int, held: HeldFix | None) -> None:
        """Raise EntropyRefused unless the beacon may be built on `entropy` at `now_ns`."""
        if self.oracle_keys:
            self._check_signature(entropy)
        trusted_ns = trusted_time_ns(now_ns, held)
        if trusted_ns is None:
            return
        age_s = trusted_ns / NS_PER_S - entropy.timestamp
        if abs(age_s) > ENTROPY_LIFETIME_S:
            when = "old" if age_s > 0 else "in the future"
            raise EntropyRefused("stale", f"entropy timestamp {entropy.timestamp} is "
                                 f"{abs(age_s):.0f} s {when} by this hotspot's clock and GNSS "
                                 f"time, which agree (lifetime {ENTROPY_LIFETIME_S} s)")

    def _check_signature(self, entropy: entropy_pb2.Entropy) -> None:
        if not entropy.oracle_key:
            raise EntropyRefused("unknown_oracle", "the entropy names no oracle key "
                                 "(an unsigning oracle, or not the oracle at all)")
        if entropy.oracle_key not in self.oracle_keys:
            raise EntropyRefused("unknown_oracle", f"signed by {_address(entropy.oracle_key)}, "
                                 "which is not in oracle.keys")
        try:
            signing.verify(entropy, PublicKey.from_bytes(entropy.oracle_key))
        except ProtoError as exc:
            raise EntropyRefused("bad_signature", f"the signature of "
                                 f"{_address(entropy.oracle_key)} does not verify: {exc}"
                                 ) from None


def trusted_time_ns(now_ns: int, held: HeldFix | None) -> int | None:
    """The current time when the host clock and a recent GNSS fix agree on it, else None."""
    if held is None or held.fix.time is None or not held.fix.usable:
        return None
    if not 0 <= now_ns - held.received_ns <= MAX_FIX_AGE_S * NS_PER_S:
        return None  # too old to carry forward, or the host clock was stepped back since
    gnss_now_ns = gnss_time_ns(held.fix.time) + (now_ns - held.received_ns)
    if abs(gnss_now_ns - now_ns) > CLOCKS_AGREE_S * NS_PER_S:
        return None
    return now_ns


def clock_offset_s(entropy: entropy_pb2.Entropy, now_ns: int) -> float:
    """Host clock minus the entropy timestamp: 0–60 s when both clocks are right (the oracle
    issues a value every 60 s); beyond the lifetime either clock is off."""
    return now_ns / NS_PER_S - entropy.timestamp


def _address(key33: bytes) -> str:
    try:
        return PublicKey.from_bytes(key33).address
    except ProtoError:
        return f"a malformed key ({len(key33)} bytes)"
