"""StreamGuard on its own, with a fake clock: which stream is refused, replaced or ended, and
that every slot comes back when streams close."""

from __future__ import annotations

import pytest

from oracle.errors import SessionReplaced, StreamIdle, StreamRefused
from oracle.settings import Settings, SettingsError, load, stream_caps
from oracle.stream_guard import StreamCaps, StreamGuard, peer_group

KEY_A, KEY_B = b"\x01" + b"a" * 32, b"\x01" + b"b" * 32


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


class FakeTask:
    def __init__(self) -> None:
        self.cancelled = 0

    def cancel(self, msg: object = None) -> bool:
        self.cancelled += 1
        return True


def _guard(**caps: float) -> tuple[StreamGuard, FakeClock]:
    clock = FakeClock()
    values = {"stream_limit": 100, "per_peer_pending": 3, "per_peer": 5, "per_key": 2,
              "idle_s": 600.0, **caps}
    return StreamGuard(StreamCaps(**values), clock), clock  # type: ignore[arg-type]


@pytest.mark.parametrize(("peer", "group"), [
    ("ipv4:127.0.0.1:50000", "127.0.0.1"),
    ("ipv4:203.0.113.7:1", "203.0.113.7"),
    ("ipv6:[::1]:50000", "::1"),
    ("ipv6:[::ffff:198.51.100.2]:443", "198.51.100.2"),
    ("ipv6:[2001:db8:1:2:aaaa::1]:7080", "2001:db8:1:2::/64"),
    ("ipv6:[2001:db8:1:2:bbbb::9]:7081", "2001:db8:1:2::/64"),
    ("ipv6:[fe80::1%25eth0]:7080", "fe80::/64"),
    ("unix:/run/oracle.sock", "unix"),
    ("garbage", "garbage"),
])
def test_peer_group(peer: str, group: str) -> None:
    assert peer_group(peer) == group


def test_peer_group_ipv6_prefix_is_a_setting() -> None:
    assert peer_group("ipv6:[2001:db8:1:2:aaaa::1]:1", 48) == "2001:db8:1::/48"
    assert peer_group("ipv6:[2001:db8:1:2:aaaa::1]:1", 128) == "2001:db8:1:2:aaaa::1"


def test_pending_streams_are_capped_per_peer() -> None:
    guard, _ = _guard()
    flood = [guard.open("ipv4:10.0.0.1:1") for _ in range(3)]
    with pytest.raises(StreamRefused, match=r"too many streams from 10\.0\.0\.1 awaiting"):
        guard.open("ipv4:10.0.0.1:2")
    other = guard.open("ipv4:10.0.0.2:1")  # another peer is not affected
    guard.initialised(flood[0], KEY_A)  # an initialised stream frees its pending place
    guard.open("ipv4:10.0.0.1:3")
    guard.close(flood[1])
    guard.open("ipv4:10.0.0.1:4")
    assert guard.counts() == {"open": 5, "pending": 4, "sessions": 1, "not_onboarded": 0}
    guard.close(other)
    assert guard.counts()["pending"] == 3


def test_sessions_are_capped_per_peer_at_init() -> None:
    guard, _ = _guard(per_peer=2)
    for i in range(2):
        guard.initialised(guard.open("ipv4:10.0.0.1:1"), bytes([1, i]) * 16 + b"\x00")
    third = guard.open("ipv4:10.0.0.1:1")  # opening is fine: pending has its own cap
    with pytest.raises(StreamRefused, match=r"too many streams from 10\.0\.0\.1 \(at most 2"):
        guard.initialised(third, KEY_A)
    guard.close(third)
    assert guard.counts() == {"open": 2, "pending": 0, "sessions": 2, "not_onboarded": 0}


def test_global_limit_counts_every_open_stream() -> None:
    guard, _ = _guard(stream_limit=4, per_peer_pending=10)
    tickets = [guard.open(f"ipv4:10.0.0.{i}:1") for i in range(4)]
    with pytest.raises(StreamRefused, match="all 4 report-stream slots are busy"):
        guard.open("ipv4:10.0.0.9:1")
    guard.close(tickets[0])
    guard.close(tickets[0])  # idempotent: does not free a second slot
    guard.open("ipv4:10.0.0.9:1")
    with pytest.raises(StreamRefused):
        guard.open("ipv4:10.0.0.10:1")


def test_newer_session_of_a_key_replaces_the_oldest() -> None:
    guard, _ = _guard(per_key=2)
    first, second, third = (guard.open(f"ipv4:10.0.0.{i}:1") for i in (1, 2, 3))
    first.task, second.task, third.task = FakeTask(), FakeTask(), FakeTask()
    guard.initialised(first, KEY_A)
    guard.initialised(second, KEY_A)
    assert first.task.cancelled == 0  # type: ignore[union-attr]
    guard.initialised(third, KEY_A)  # from another address too: the key is what counts
    assert first.task.cancelled == 1 and isinstance(first.reason, SessionReplaced)  # type: ignore[union-attr]
    assert second.reason is None and third.reason is None
    assert guard.counts() == {"open": 3, "pending": 0, "sessions": 2, "not_onboarded": 0}
    guard.close(first)  # its call ends afterwards
    assert guard.counts() == {"open": 2, "pending": 0, "sessions": 2, "not_onboarded": 0}
    other = guard.open("ipv4:10.0.0.1:1")
    guard.initialised(other, KEY_B)  # another key is not affected
    assert second.reason is None


def test_replacement_from_the_same_peer_does_not_count_twice() -> None:
    # A hotspot behind a full NAT reconnects: its own dead stream makes room for it.
    guard, _ = _guard(per_peer=2, per_key=1)
    old = guard.open("ipv4:10.0.0.1:1")
    guard.initialised(old, KEY_A)
    guard.initialised(guard.open("ipv4:10.0.0.1:2"), KEY_B)
    again = guard.open("ipv4:10.0.0.1:3")
    guard.initialised(again, KEY_A)
    assert isinstance(old.reason, SessionReplaced)


def test_idle_sessions_are_ended_by_sweep() -> None:
    guard, clock = _guard(idle_s=600.0)
    busy, quiet, pending = (guard.open(f"ipv4:10.0.0.{i}:1") for i in (1, 2, 3))
    for ticket in (busy, quiet, pending):
        ticket.task = FakeTask()
    guard.initialised(busy, KEY_A)
    guard.initialised(quiet, KEY_B)
    clock.now_s += 599.0
    busy.active_s = clock()  # a report arrived
    assert guard.sweep() == 0
    clock.now_s += 1.0  # quiet: exactly idle_s since its init
    assert guard.sweep() == 1
    assert isinstance(quiet.reason, StreamIdle) and "no report for 600 s" in str(quiet.reason)
    assert quiet.task.cancelled == 1  # type: ignore[union-attr]
    assert busy.reason is None and pending.reason is None  # pending: the init timeout's job
    assert guard.sweep() == 0  # ended once
    clock.now_s += 600.0
    assert guard.sweep() == 1 and isinstance(busy.reason, StreamIdle)


def test_caps_from_settings() -> None:
    caps = stream_caps(Settings())
    assert (caps.stream_limit, caps.per_peer_pending, caps.per_peer, caps.per_key,
            caps.idle_s) == (900, 8, 128, 2, 600.0)
    assert StreamCaps.from_share(10, 0.01).stream_limit == 9  # a share > 0 keeps >= 1 slot
    assert StreamCaps.from_share(10, 0).stream_limit == 10
    assert StreamCaps.from_share(10, 0.3).stream_limit == 7
    env = {"POCNET_ORACLE_STREAMS_PER_PEER_PENDING": "64", "POCNET_ORACLE_STREAMS_IDLE_S": "60"}
    loaded = load(env=env)
    assert loaded.streams.per_peer_pending == 64 and loaded.streams.idle_s == 60.0


@pytest.mark.parametrize(("field", "value", "message"), [
    ("unary_reserve_share", 1.0, "must be >= 0 and < 1"),
    ("unary_reserve_share", -0.1, "must be >= 0 and < 1"),
    ("per_peer_pending", 0, "must be > 0"),
    ("per_key", 0, "must be > 0"),
    ("idle_s", 0, "must be > 0"),
    ("ipv6_prefix_len", 129, r"must be 1\.\.128"),
    ("not_onboarded_share", 0, r"must be > 0 and <= 1"),
    ("not_onboarded_share", 1.5, r"must be > 0 and <= 1"),
])
def test_bad_stream_settings(field: str, value: float, message: str) -> None:
    with pytest.raises(SettingsError, match=rf"streams\.{field}: {message}"):
        Settings().with_("streams", **{field: value})


def test_reserve_must_leave_a_stream_slot() -> None:
    with pytest.raises(SettingsError, match="leaves no slot"):
        Settings().with_("server", max_concurrent_rpcs=1)
    one = Settings().with_("streams", unary_reserve_share=0).with_("server", max_concurrent_rpcs=1)
    assert stream_caps(one).stream_limit == 1


def test_keys_not_onboarded_share_a_capped_number_of_sessions() -> None:
    guard, _ = _guard(not_onboarded=2, per_key=1)
    strangers = [guard.open(f"ipv4:10.0.0.{i}:1") for i in range(3)]
    guard.initialised(strangers[0], KEY_A, onboarded=False)
    guard.initialised(strangers[1], KEY_B, onboarded=False)
    with pytest.raises(StreamRefused, match="all 2 report-stream slots for hotspots not "
                                            "onboarded are busy"):
        guard.initialised(strangers[2], b"\x01" + b"c" * 32, onboarded=False)
    guard.close(strangers[2])
    # An onboarded hotspot is not affected by the strangers' cap.
    guard.initialised(guard.open("ipv4:10.0.0.9:1"), b"\x01" + b"d" * 32)
    assert guard.counts() == {"open": 3, "pending": 0, "sessions": 3, "not_onboarded": 2}
    # A stranger reconnecting replaces its own session: at the cap, and still admitted.
    guard.initialised(guard.open("ipv4:10.0.0.0:2"), KEY_A, onboarded=False)
    assert strangers[0].state == "ended" and guard.counts()["not_onboarded"] == 2
    guard.close(strangers[1])  # a closed stranger's place comes back
    guard.initialised(guard.open("ipv4:10.0.0.7:1"), b"\x01" + b"e" * 32, onboarded=False)
    assert guard.counts()["not_onboarded"] == 2


def test_not_onboarded_cap_from_its_share() -> None:
    assert stream_caps(Settings()).not_onboarded == 90  # 10 % of the 900 stream slots
    assert StreamCaps.from_share(10, 0, 0.01).not_onboarded == 1  # never below one
    assert StreamCaps.from_share(10, 0, 0.25).not_onboarded == 2  # rounded down
    assert StreamCaps.from_share(10, 0, 1.0).not_onboarded is None  # the whole: no own cap
    assert StreamCaps.from_share(10, 0).not_onboarded is None
