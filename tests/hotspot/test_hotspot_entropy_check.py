"""Entropy authentication and freshness (docs/protocol.md §4) before a beacon is built on it.

The pure rules first, then the beaconer against a real in-test gRPC oracle on 127.0.0.1 that
signs its entropy (or is made to forge, tamper or replay), on a fake clock.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hotspot_sink_oracle import SinkOracle, SinkServer
from hotspot_testkit import BeaconerEvents, make_settings, run_quietly, scraped, task_outbox

from firmware_bridge.types import Fix
from hotspot.beaconer import Beaconer
from hotspot.channels import Inbox, Watch
from hotspot.client.backoff import Backoff
from hotspot.client.connection import OracleConnection
from hotspot.client.entropy import EntropyClient
from hotspot.clock import NS_PER_S, FakeClock
from hotspot.entropy_check import EntropyCheck, trusted_time_ns
from hotspot.errors import EntropyRefused
from hotspot.gps_watcher import HeldFix
from hotspot.keystore import KeyStore
from hotspot.metrics import HotspotMetrics
from hotspot.outbox import Outbox
from hotspot.transceiver import Transceiver
from pocnet import signing
from pocnet.beacon import entropy_data
from pocnet.gnss import FixKind
from pocnet.keys import Keypair
from pocnet.regions import get_plan
from pocnet.wire import entropy_pb2
from sim_radio.air import LoopbackAir
from sim_radio.radio import SimRadio

START_S = 1_767_225_600 + 1000   # 2026-01-01 00:16:40Z, early in a beacon window
ORACLE = Keypair.from_seed(b"\x01" * 32)
OTHER = Keypair.from_seed(b"\x02" * 32)


def signed(ts: int, key: Keypair = ORACLE) -> entropy_pb2.Entropy:
    entropy = entropy_pb2.Entropy(data=entropy_data(ts, b"\x03" * 32), timestamp=ts, version=1,
                                  oracle_key=key.public_key.to_bytes())
    return signing.sign(entropy, key)


def gnss(at_s: float, received_ns: int) -> HeldFix:
    """A usable 3D fix whose GNSS time is `at_s`, received (host clock) at `received_ns`."""
    fix = Fix(FixKind.THREE_D, lat=52.0, lon=4.0, h_acc_m=3.0, satellites=9,
              time=datetime.fromtimestamp(at_s, UTC), gnss_fix_ok=True)
    return HeldFix(fix, received_ns)


# --- the pure rules ------------------------------------------------------------------------

def test_only_listed_oracles_with_a_good_signature_pass() -> None:
    check = EntropyCheck.from_addresses([ORACLE.public_key.address])
    now = START_S * NS_PER_S
    check.check(signed(START_S - 20), now, None)
    with pytest.raises(EntropyRefused) as err:
        check.check(signed(START_S - 20, OTHER), now, None)
    assert err.value.reason == "unknown_oracle"
    assert OTHER.public_key.address in err.value.detail
    tampered = signed(START_S - 20)
    tampered.data = b"\x00" * 32                        # the beacon would follow these bytes
    with pytest.raises(EntropyRefused) as err:
        check.check(tampered, now, None)
    assert err.value.reason == "bad_signature"
    moved = signed(START_S - 20)
    moved.timestamp += 1                                # the signature covers the timestamp
    with pytest.raises(EntropyRefused, match="bad_signature"):
        check.check(moved, now, None)
    unsigned = entropy_pb2.Entropy(data=b"\x01" * 32, timestamp=START_S)
    with pytest.raises(EntropyRefused, match="unknown_oracle"):
        check.check(unsigned, now, None)
    no_signature = signed(START_S)
    no_signature.ClearField("signature")
    with pytest.raises(EntropyRefused, match="bad_signature"):
        check.check(no_signature, now, None)
    # No list: anything goes (the beaconer warns at start instead).
    assert not EntropyCheck().authenticated
    EntropyCheck().check(unsigned, now, None)


def test_a_wrong_host_clock_alone_never_refuses_entropy() -> None:
    """The oracle judges by its own receive time; a Pi whose clock is an hour off still
    beacons validly, so the host clock without corroboration refuses nothing."""
    check = EntropyCheck.from_addresses([ORACLE.public_key.address])
    now = START_S * NS_PER_S
    for skew_s in (-86_400, -3600, -181, 181, 3600, 10 * 365 * 86_400):
        check.check(signed(START_S + skew_s), now, None)             # no GPS
        # a GPS whose time disagrees with the host clock: one of them is wrong, trust neither
        check.check(signed(START_S + skew_s), now, gnss(START_S + skew_s, now))
        check.check(signed(START_S + skew_s), now, gnss(START_S - 3600, now))


def test_stale_entropy_is_refused_when_host_clock_and_gnss_agree() -> None:
    check = EntropyCheck()                     # freshness applies with or without a key list
    now = START_S * NS_PER_S
    held = gnss(START_S - 30 + 0.4, now - 30 * NS_PER_S)    # a fix 30 s ago, clocks agree
    check.check(signed(START_S - 179), now, held)
    check.check(signed(START_S + 179), now, held)
    with pytest.raises(EntropyRefused) as err:
        check.check(signed(START_S - 600), now, held)          # a replayed old value
    assert err.value.reason == "stale" and "600 s old" in err.value.detail
    with pytest.raises(EntropyRefused, match="in the future"):
        check.check(signed(START_S + 600), now, held)


def test_gnss_time_counts_only_from_a_recent_usable_fix() -> None:
    now = START_S * NS_PER_S
    assert trusted_time_ns(now, gnss(START_S - 5, now - 5 * NS_PER_S)) == now
    assert trusted_time_ns(now, gnss(START_S + 9, now)) == now            # within 10 s
    assert trusted_time_ns(now, gnss(START_S + 11, now)) is None
    assert trusted_time_ns(now, gnss(START_S - 600, now - 600 * NS_PER_S)) is None  # too old
    assert trusted_time_ns(now, gnss(START_S, now + NS_PER_S)) is None    # clock stepped back
    no_time = HeldFix(Fix(FixKind.THREE_D, 52.0, 4.0, h_acc_m=3.0, gnss_fix_ok=True), now)
    assert trusted_time_ns(now, no_time) is None
    poor = HeldFix(Fix(FixKind.TWO_D, 52.0, 4.0, h_acc_m=3.0, gnss_fix_ok=True,
                       time=datetime.fromtimestamp(START_S, UTC)), now)
    assert trusted_time_ns(now, poor) is None
    assert trusted_time_ns(now, None) is None


# --- the beaconer against a real gRPC oracle -----------------------------------------------

class Rig:
    """A beaconer, its transceiver on a simulated air and a signing sink oracle, on one fake
    clock; `oracle_offset_s` shifts the oracle's clock against the hotspot's."""

    def __init__(self, tmp: Path, keys: list[str] | None, oracle_offset_s: int = 0,
                 held: HeldFix | None = None) -> None:
        self.clock = FakeClock(start_ns=START_S * NS_PER_S)
        self.requests_at: list[int] = []
        self.oracle = SinkOracle(now_s=self._oracle_now)
        self.oracle.entropy_key = ORACLE
        self.oracle_offset_s = oracle_offset_s
        self.server = SinkServer(self.oracle).start()
        oracle_section = {} if keys is None else {"keys": keys}
        self.settings = make_settings(tmp, self.server.endpoint, oracle=oracle_section)
        self.fixes: Watch[HeldFix | None] = Watch(held)
        self.metrics = HotspotMetrics()
        self.backoff = Backoff(random.Random(0))
        self.air = LoopbackAir()

    def _oracle_now(self) -> int:
        self.requests_at.append(self.clock.now_ns())
        return self.clock.now_ns() // NS_PER_S + self.oracle_offset_s

    def refused(self, reason: str) -> float:
        return self.metrics.entropy_refused.labels(reason=reason).get()

    def run(self, seconds: float, during=None) -> Outbox:
        """Run the beaconer for `seconds` of fake time; `during(rig)` runs halfway."""
        async def go() -> Outbox:
            keys = KeyStore.load(self.settings.key.file)
            outbox = Outbox(self.settings.outbox.path)
            conn = OracleConnection(self.settings.oracle)
            trx = Transceiver(lambda: SimRadio(self.air, "me", self.clock.now_ns, 14),
                              Inbox(64), self.clock, Backoff(random.Random(1)), self.metrics)
            beaconer = Beaconer(0, trx.sender(), EntropyClient(conn), Watch(get_plan("EU868")),
                                self.fixes, keys, task_outbox(outbox), self.clock,
                                random.Random(7),
                                self.backoff, self.metrics, first_delay_s=(2, 5),
                                entropy_check=EntropyCheck.from_addresses(
                                    self.settings.oracle.keys))
            stop = asyncio.Event()
            tasks = [asyncio.create_task(t.run(stop)) for t in (trx, beaconer)]
            probe = lambda: (len(self.requests_at), len(self.air.sent))  # noqa: E731
            # Time moves on only once each due beacon attempt is answered (real gRPC).
            idle = lambda: events.all_handled(self.clock.now_ns())  # noqa: E731
            await run_quietly(self.clock, seconds / 2, probe, idle=idle)
            if during is not None:
                during(self)
            await run_quietly(self.clock, seconds / 2, probe, idle=idle)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 60)
            await conn.close()
            return outbox
        try:
            with BeaconerEvents() as events:
                return asyncio.run(go())
        finally:
            self.server.stop()


def test_entropy_from_a_listed_oracle_is_beaconed_on(tmp_path: Path, caplog) -> None:
    rig = Rig(tmp_path, [ORACLE.public_key.address])
    outbox = rig.run(60)
    (item,) = outbox.peek(5)
    assert len(rig.air.sent) == 1 and len(rig.requests_at) == 1
    issued_s = rig.requests_at[0] // NS_PER_S
    assert item.report.remote_entropy == entropy_data(issued_s, b"\x07" * 32)
    assert scraped(rig.metrics, "pocnet_hotspot_entropy_refused") == {}
    assert "entropy refused" not in caplog.text and "not authenticated" not in caplog.text


def test_entropy_from_an_unlisted_oracle_is_refused_counted_and_retried_with_backoff(
        tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="hotspot.beaconer")
    rig = Rig(tmp_path, [OTHER.public_key.address])   # the oracle signs with ORACLE's key
    outbox = rig.run(240, during=lambda r: setattr(r.oracle, "entropy_key", OTHER))
    half = START_S * NS_PER_S + 120 * NS_PER_S
    before = [t for t in rig.requests_at if t <= half]
    assert len(before) >= 4                                   # retried ...
    gaps = [b - a for a, b in itertools.pairwise(before)]
    assert gaps[-1] > gaps[0]                                 # ... backing off
    assert rig.refused("unknown_oracle") == len(before)
    lines = [r for r in caplog.records if getattr(r, "event", "") == "entropy_refused"]
    assert len(lines) == len(before)                          # one line per refusal
    assert ORACLE.public_key.address in lines[0].getMessage()
    assert "not in oracle.keys" in lines[0].getMessage()
    # Nothing went on air while refused; once the listed oracle signs, the beacon goes out.
    (item,) = outbox.peek(5)
    assert len(rig.air.sent) == 1 and item.report.timestamp > half
    assert rig.backoff.failures == 0                          # reset by the beacon


def test_tampered_entropy_is_refused_as_a_bad_signature(tmp_path: Path, caplog) -> None:
    def tamper(entropy: entropy_pb2.Entropy) -> None:
        entropy.data = bytes(32)                              # a forger's chosen beacon seed

    rig = Rig(tmp_path, [ORACLE.public_key.address])
    rig.oracle.entropy_edit = tamper
    outbox = rig.run(60)
    assert rig.refused("bad_signature") == len(rig.requests_at) >= 2
    assert outbox.depth() == 0 and rig.air.sent == []
    assert "does not verify" in caplog.text


def test_no_key_list_accepts_any_entropy_with_one_warning_at_start(tmp_path: Path,
                                                                    caplog) -> None:
    caplog.set_level(logging.INFO, logger="hotspot.beaconer")

    def unsign(entropy: entropy_pb2.Entropy) -> None:
        entropy.ClearField("signature")
        entropy.ClearField("oracle_key")

    rig = Rig(tmp_path, None)
    rig.oracle.entropy_edit = unsign
    outbox = rig.run(60)
    assert outbox.depth() == 1 and len(rig.air.sent) == 1
    warnings = [r for r in caplog.records if getattr(r, "event", "") == "entropy_unauthenticated"]
    assert len(warnings) == 1 and "oracle.keys is empty" in warnings[0].getMessage()


def test_oracle_clock_ten_minutes_behind_with_agreeing_gnss_is_refused_as_stale(
        tmp_path: Path) -> None:
    now = START_S * NS_PER_S
    rig = Rig(tmp_path, [ORACLE.public_key.address], oracle_offset_s=-600,
              held=gnss(START_S + 0.3, now))
    outbox = rig.run(60)
    assert rig.refused("stale") == len(rig.requests_at) >= 2
    assert outbox.depth() == 0 and rig.air.sent == []


def test_a_hotspot_with_a_wrong_clock_still_beacons_and_is_told_to_check_ntp(
        tmp_path: Path, caplog) -> None:
    """The hotspot's clock is 10 minutes off the oracle's, and no GPS corroborates either:
    the beacon goes out (the oracle will judge it by its own receive time) and the log says
    which clock to look at."""
    rig = Rig(tmp_path, [ORACLE.public_key.address], oracle_offset_s=-600)
    outbox = rig.run(60)
    assert outbox.depth() == 1 and len(rig.air.sent) == 1
    assert scraped(rig.metrics, "pocnet_hotspot_entropy_refused") == {}
    (line,) = [r for r in caplog.records if getattr(r, "event", "") == "clock_skew"]
    assert 600 <= line.offset_s <= 605                   # the fetch took a moment of fake time
    assert "s off the oracle's entropy time" in line.getMessage()
    assert "check NTP" in line.getMessage()


def test_the_daemon_wires_oracle_keys_into_the_beaconer(tmp_path: Path, caplog) -> None:
    """`run_daemon` with `oracle.keys` naming another oracle: no beacon ever reaches the
    oracle, and the refusals show in the daemon's metrics."""
    from hotspot.app import run_daemon

    clock = FakeClock(start_ns=START_S * NS_PER_S)
    oracle = SinkOracle(now_s=lambda: clock.now_ns() // NS_PER_S)
    server = SinkServer(oracle).start()
    conf = make_settings(tmp_path, server.endpoint, oracle={"keys": [OTHER.public_key.address]},
                         beacon={"region": "EU868", "first_delay_min_s": 2,
                                 "first_delay_max_s": 5})
    metrics: list[HotspotMetrics] = []

    async def go(events: BeaconerEvents) -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_daemon(conf, clock=clock, rng=random.Random(0),
                                              air=LoopbackAir(), shutdown=stop,
                                              on_ready=metrics.append))
        # Fake time moves on only once each due attempt has its answer (real gRPC), so a busy
        # machine cannot let the clock skip the retries.
        await run_quietly(clock, 600, lambda: (oracle.entropy_requests, len(oracle.stored)),
                          idle=lambda: events.all_handled(clock.now_ns()))
        stop.set()
        await asyncio.wait_for(task, 60)

    try:
        with BeaconerEvents() as events:
            asyncio.run(go(events))
    finally:
        server.stop()
    assert oracle.entropy_requests >= 3 and oracle.beacons() == []
    (m,) = metrics
    assert m.entropy_refused.labels(reason="unknown_oracle").get() == \
        oracle.entropy_requests
    assert "not authenticated" not in caplog.text
