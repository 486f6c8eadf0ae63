"""Admission and eviction for report streams, so a few clients cannot hold every server slot.

A report stream is cheap to open and long to keep: docs/protocol.md §1 gives the client 5 s for its
session init and a session up to 30 min. Without limits anyone can hold all
`maximum_concurrent_rpcs` slots and lock honest hotspots out. The guard enforces, per stream:

- a global cap below `maximum_concurrent_rpcs`, so a share stays free for unary calls
  (entropy, registry, queries, unary reports) whatever the streams do;
- per peer address (IPv6 grouped by prefix: one site owns a whole /64), a small cap on streams
  still awaiting their session init and a larger one on sessions;
- per device key a small cap on sessions; a newer session replaces the oldest, so a hotspot
  reconnecting after a network blip is never locked out by its own dead stream. Only the
  holder of the device key can sign a session init for it, so nobody else can evict it;
- sessions of keys not onboarded together hold at most a share of the slots: device keys cost
  nothing to make, so without it an attacker with many addresses could hold every stream slot
  with sessions for 30 min at a time; with it the rest of the session slots stay for onboarded
  hotspots (the others still have unary calls, and docs/protocol.md §5 still gives their reports a
  verdict, `gateway_not_found`). Streams awaiting their init are bounded only per address and
  by the init timeout (5 s): a flood of those from many addresses can still refuse new streams
  for as long as it lasts, never the sessions already open nor the unary reserve;
- an idle timeout: a session with no report for `idle_s` is ended by `sweep()`.

Refusals raise `StreamRefused` (RESOURCE_EXHAUSTED); ended streams get `StreamIdle`
(UNAVAILABLE) or `SessionReplaced` (ABORTED) through their ticket, whose `task` is cancelled so
the servicer can end the call with that status. Synchronous and single-threaded (the server's
event loop); the clock is injected so tests drive time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from oracle.errors import OracleError, SessionReplaced, StreamIdle, StreamRefused

log = logging.getLogger(__name__)

MAX_SWEEP_INTERVAL_S = 30.0  # an idle stream ends at most this long after idle_s


class Cancellable(Protocol):
    def cancel(self, msg: object = None) -> bool: ...


@dataclass(frozen=True)
class StreamCaps:
    stream_limit: int  # report streams at once, all peers (max_concurrent_rpcs − reserve)
    per_peer_pending: int = 8
    per_peer: int = 128
    per_key: int = 2
    idle_s: float = 600.0
    ipv6_prefix_len: int = 64
    not_onboarded: int | None = None  # sessions of keys with no registration; None: no cap

    @classmethod
    def from_share(cls, max_concurrent_rpcs: int, unary_reserve_share: float,
                   not_onboarded_share: float = 1.0, **caps: float) -> StreamCaps:
        """Caps leaving `ceil(share × max)` slots (at least 1 when share > 0) to unary calls,
        and `floor(not_onboarded_share × stream slots)` (at least 1) to keys not onboarded."""
        reserve = math.ceil(unary_reserve_share * max_concurrent_rpcs)
        if unary_reserve_share > 0:
            reserve = max(1, reserve)
        limit = max_concurrent_rpcs - reserve
        not_onboarded = max(1, math.floor(not_onboarded_share * limit))
        return cls(limit, not_onboarded=not_onboarded if not_onboarded < limit else None,
                   **caps)  # type: ignore[arg-type]


def peer_group(peer: str, ipv6_prefix_len: int = 64) -> str:
    """The address a cap applies to, from grpc's `context.peer()` ("ipv4:1.2.3.4:5678",
    "ipv6:[2001:db8::1]:5678", "unix:/path"). IPv4-mapped IPv6 counts as IPv4; other IPv6
    addresses are grouped by prefix, since one subscriber gets a whole /64."""
    kind, _, rest = peer.partition(":")
    host = rest.rpartition(":")[0] if ":" in rest else rest
    try:
        if kind == "ipv4":
            return str(ipaddress.IPv4Address(host))
        if kind == "ipv6":
            ip = ipaddress.IPv6Address(host.strip("[]").split("%")[0])
            if ip.ipv4_mapped is not None:
                return str(ip.ipv4_mapped)
            if ip.is_loopback or ipv6_prefix_len >= 128:
                return str(ip)
            return str(ipaddress.IPv6Network((ip, ipv6_prefix_len), strict=False))
    except ValueError:
        pass
    return kind or "unknown"  # unix sockets and the like: one group


class StreamTicket:
    """One open report stream as the guard sees it. `task` is what `_end` cancels."""

    __slots__ = ("active_s", "key", "onboarded", "opened_s", "peer", "reason", "state", "task")

    def __init__(self, peer: str, now_s: float) -> None:
        self.peer = peer
        self.opened_s = now_s
        self.active_s = now_s  # last report (or the init); the servicer updates it
        self.key: bytes | None = None
        self.onboarded = True
        self.state = "pending"  # pending -> session -> (ended) -> closed
        self.reason: OracleError | None = None
        self.task: Cancellable | None = None


class StreamGuard:
    def __init__(self, caps: StreamCaps, clock_s: Callable[[], float]) -> None:
        if min(caps.stream_limit, caps.per_peer_pending, caps.per_peer, caps.per_key,
               caps.not_onboarded or 1) < 1:
            raise ValueError("stream caps must be >= 1")
        self.caps = caps
        self.clock_s = clock_s
        self._open = 0
        self._pending: Counter[str] = Counter()
        self._sessions_of_peer: Counter[str] = Counter()
        self._sessions_of_key: dict[bytes, list[StreamTicket]] = {}
        self._sessions: dict[StreamTicket, None] = {}  # insertion-ordered set
        self._not_onboarded = 0  # sessions of keys with no registration

    def open(self, peer: str) -> StreamTicket:
        """Admit a new stream from `peer` (grpc's peer string) or raise StreamRefused."""
        group = peer_group(peer, self.caps.ipv6_prefix_len)
        if self._open >= self.caps.stream_limit:
            raise StreamRefused(
                f"all {self.caps.stream_limit} report-stream slots are busy; retry later "
                "or use the unary calls"
            )
        if self._pending[group] >= self.caps.per_peer_pending:
            raise StreamRefused(
                f"too many streams from {group} awaiting session init "
                f"(at most {self.caps.per_peer_pending})"
            )
        ticket = StreamTicket(group, self.clock_s())
        self._pending[group] += 1
        self._open += 1
        return ticket

    def initialised(self, ticket: StreamTicket, device_key: bytes,
                    onboarded: bool = True) -> None:
        """The stream's session init verified: count it as a session of `device_key`,
        replacing that key's oldest session when the key is at its cap. `onboarded`: the key
        has a registration (the servicer asks the registry)."""
        if ticket.state != "pending":
            raise ValueError(f"stream already {ticket.state}")
        same_key = self._sessions_of_key.get(device_key, [])
        victim = same_key[0] if len(same_key) >= self.caps.per_key else None
        after = self._sessions_of_peer[ticket.peer] + 1
        if victim is not None and victim.peer == ticket.peer:
            after -= 1
        if after > self.caps.per_peer:
            raise StreamRefused(
                f"too many streams from {ticket.peer} (at most {self.caps.per_peer} sessions)"
            )
        cap = self.caps.not_onboarded
        if not onboarded and cap is not None and self._not_onboarded + 1 - (
                victim is not None and not victim.onboarded) > cap:
            raise StreamRefused(
                f"all {cap} report-stream slots for hotspots not onboarded are busy; onboard "
                "this hotspot (pocnet-hotspot onboard), or use the unary calls"
            )
        self._uncount(self._pending, ticket.peer)
        ticket.state, ticket.key, ticket.active_s = "session", device_key, self.clock_s()
        ticket.onboarded = onboarded
        self._sessions[ticket] = None
        self._sessions_of_peer[ticket.peer] += 1
        self._not_onboarded += not onboarded
        self._sessions_of_key.setdefault(device_key, []).append(ticket)
        if victim is not None:
            self._end(victim, SessionReplaced(
                "replaced by a newer session of the same device key "
                f"(at most {self.caps.per_key} per key)"
            ))

    def close(self, ticket: StreamTicket) -> None:
        """The stream's call is over (any way): release what it still holds. Idempotent."""
        if ticket.state == "closed":
            return
        if ticket.state == "pending":
            self._uncount(self._pending, ticket.peer)
        elif ticket.state == "session":
            self._forget_session(ticket)
        ticket.state = "closed"
        self._open -= 1

    def sweep(self) -> int:
        """End every session idle for `idle_s` or longer; returns how many."""
        now, idle_s = self.clock_s(), self.caps.idle_s
        idle = [t for t in self._sessions if now - t.active_s >= idle_s]
        for ticket in idle:
            self._end(ticket, StreamIdle(
                f"no report for {idle_s:g} s: stream closed; open a new one when you have "
                "reports"
            ))
        return len(idle)

    async def run(self, interval_s: float | None = None) -> None:
        """Sweep forever (until cancelled), often enough for the idle timeout to be met."""
        interval_s = interval_s or min(MAX_SWEEP_INTERVAL_S, self.caps.idle_s / 10)
        while True:
            await asyncio.sleep(interval_s)
            if ended := self.sweep():
                log.debug("ended %d idle report streams", ended)

    def counts(self) -> dict[str, int]:
        """Open streams, those awaiting init and sessions (metrics, tests)."""
        return {"open": self._open, "pending": sum(self._pending.values()),
                "sessions": len(self._sessions), "not_onboarded": self._not_onboarded}

    def _end(self, ticket: StreamTicket, reason: OracleError) -> None:
        self._forget_session(ticket)
        ticket.state, ticket.reason = "ended", reason
        if ticket.task is not None:
            ticket.task.cancel()

    def _forget_session(self, ticket: StreamTicket) -> None:
        self._sessions.pop(ticket, None)
        self._uncount(self._sessions_of_peer, ticket.peer)
        self._not_onboarded -= not ticket.onboarded
        assert ticket.key is not None
        same_key = self._sessions_of_key[ticket.key]
        same_key.remove(ticket)
        if not same_key:
            del self._sessions_of_key[ticket.key]

    @staticmethod
    def _uncount(counter: Counter[str], peer: str) -> None:
        counter[peer] -= 1
        if counter[peer] <= 0:
            del counter[peer]
