"""Beacon schedule (docs/protocol.md §4) with a fake clock; radio confirmation; duty cycle."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from hotspot_testkit import scraped, task_outbox

from firmware_bridge.errors import TxRejected
from firmware_bridge.types import TxPacket, TxReceipt
from hotspot.airtime import AirtimeLedger, frame_airtime_s
from hotspot.beaconer import (
    FIRST_DELAY_MAX_S,
    FIRST_DELAY_MIN_S,
    Beaconer,
    entropy_expiry_ns,
    next_beacon_time,
)
from hotspot.channels import Inbox, Watch
from hotspot.client.backoff import Backoff
from hotspot.clock import NS_PER_S, FakeClock
from hotspot.errors import AirtimeBusy
from hotspot.keystore import KeyStore
from hotspot.metrics import HotspotMetrics
from hotspot.outbox import Outbox
from hotspot.transceiver import OwnBeacon, Transceiver
from pocnet import signing
from pocnet.beacon import (
    BEACON_END_MARGIN_S,
    BEACON_WINDOW_S,
    beacon_window,
    derive_beacon,
    entropy_data,
)
from pocnet.regions import get_plan
from pocnet.wire import entropy_pb2, reports_pb2
from sim_radio.air import LoopbackAir
from sim_radio.radio import SimRadio

W = BEACON_WINDOW_S
EU868 = get_plan("EU868")
START_S = 1_767_225_600  # 2026-01-01 00:00Z, a window boundary


# --- the pure schedule ---------------------------------------------------------------------

def test_first_beacon_soon_after_start_inside_the_window() -> None:
    for seed in range(200):
        now = (START_S + 1000) * NS_PER_S
        at = next_beacon_time(now, random.Random(seed), last_window_s=None)
        assert now + FIRST_DELAY_MIN_S * NS_PER_S <= at <= now + FIRST_DELAY_MAX_S * NS_PER_S
        assert beacon_window(at // NS_PER_S) == START_S


def test_after_a_beacon_the_next_is_at_a_random_offset_of_the_next_window() -> None:
    offsets = []
    for seed in range(300):
        now = (START_S + 1000) * NS_PER_S
        at = next_beacon_time(now, random.Random(seed), last_window_s=START_S)
        assert beacon_window(at // NS_PER_S) == START_S + W
        offsets.append(at / NS_PER_S - (START_S + W))
    assert max(offsets) <= W - BEACON_END_MARGIN_S
    assert min(offsets) < 3600 and max(offsets) > 5 * 3600  # spread over the window


def test_started_too_late_in_a_window_beacons_soon_after_the_next_opens() -> None:
    """The oracle must hear a beacon inside its window, so none is scheduled in the last 300 s;
    the one owed comes within the first delay of the next window, not hours into it."""
    end = START_S + W
    for seed in range(200):
        now = (end - 100) * NS_PER_S
        at = next_beacon_time(now, random.Random(seed), last_window_s=None)
        assert (end + FIRST_DELAY_MIN_S) * NS_PER_S <= at <= (end + FIRST_DELAY_MAX_S) * NS_PER_S


def test_the_last_start_that_still_beacons_in_its_window() -> None:
    """At the boundary: a start whose earliest first beacon lands exactly 300 s before the
    window's end beacons then; a microsecond later (the schedule reckons in float seconds) it
    waits for the next window."""
    end = START_S + W
    last_ns = (end - BEACON_END_MARGIN_S - FIRST_DELAY_MIN_S) * NS_PER_S
    at = next_beacon_time(last_ns, random.Random(3), last_window_s=None)
    assert at == (end - BEACON_END_MARGIN_S) * NS_PER_S
    late = next_beacon_time(last_ns + 1_000, random.Random(3), last_window_s=None)
    assert late >= (end + FIRST_DELAY_MIN_S) * NS_PER_S


def test_clock_stepped_back_behind_the_last_beacon_does_not_beacon_twice() -> None:
    """A beacon recorded in a later window than the clock now shows happened in the past all
    the same (the clock was ahead, then NTP stepped it back): this window is used up."""
    now = (START_S + 1000) * NS_PER_S
    for seed in range(50):
        at = next_beacon_time(now, random.Random(seed), last_window_s=START_S + 2 * W)
        assert beacon_window(at // NS_PER_S) == START_S + W


def test_entropy_expiry_follows_the_180_s_lifetime() -> None:
    now = (START_S + 30) * NS_PER_S
    assert entropy_expiry_ns(START_S, now) == (START_S + 180) * NS_PER_S
    # a hotspot clock far off the oracle's: assume 120 s left rather than "already expired"
    assert entropy_expiry_ns(START_S, now + 3600 * NS_PER_S) == now + 3720 * NS_PER_S


# --- duty cycle ----------------------------------------------------------------------------

def test_eu868_sf12_beacon_forces_244_s_of_silence_on_its_sub_band() -> None:
    ledger = AirtimeLedger()
    toa = frame_airtime_s(52, "SF12BW125")
    assert toa == pytest.approx(2.466, abs=0.001)
    t0 = START_S * NS_PER_S
    ledger.check(EU868, 868_100_000, toa, t0)
    ledger.record(EU868, 868_100_000, toa, t0)
    with pytest.raises(AirtimeBusy) as busy:
        ledger.check(EU868, 868_300_000, toa, t0 + 200 * NS_PER_S)
    assert busy.value.label == "h1.4"
    assert busy.value.wait_s == pytest.approx(244.1 - 200, abs=0.1)
    ledger.check(EU868, 867_100_000, toa, t0 + NS_PER_S)   # the other sub-band is free
    ledger.check(EU868, 868_300_000, toa, t0 + 245 * NS_PER_S)


def test_us915_dwell_time_per_channel() -> None:
    us915 = get_plan("US915")
    ledger = AirtimeLedger()
    toa = frame_airtime_s(52, "SF9BW125")
    assert toa < 0.4
    t0 = START_S * NS_PER_S
    ledger.record(us915, 903_900_000, toa, t0)
    with pytest.raises(AirtimeBusy):
        ledger.check(us915, 903_900_000, toa, t0 + NS_PER_S)
    ledger.check(us915, 904_100_000, toa, t0 + NS_PER_S)
    ledger.check(us915, 903_900_000, toa, t0 + 21 * NS_PER_S)
    with pytest.raises(AirtimeBusy):
        ledger.check(us915, 903_900_000, frame_airtime_s(52, "SF12BW125"), t0)


# --- the task, driven by the fake clock ----------------------------------------------------

class Entropy:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls = 0

    async def get_entropy(self) -> entropy_pb2.Entropy:
        self.calls += 1
        ts = self.clock.now_ns() // NS_PER_S - 20
        return entropy_pb2.Entropy(data=entropy_data(ts, b"\x05" * 32), timestamp=ts)


class RejectingRadio:
    def __init__(self) -> None:
        self.attempts = 0

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def transmit(self, packet: TxPacket) -> TxReceipt:
        self.attempts += 1
        raise TxRejected("TOO_LATE")

    async def received(self):
        await asyncio.Event().wait()
        yield  # pragma: no cover


def run_beaconer(tmp: Path, hours: float, radio_factory=None, max_power: int | None = 14,
                 start_offset_s: int = 1000, gain_dbi_x10: int = 0):
    async def go():
        clock = FakeClock(start_ns=(START_S + start_offset_s) * NS_PER_S)
        keys = KeyStore.create(tmp / "k")
        outbox = Outbox(tmp / "o.sqlite")
        metrics = HotspotMetrics()
        air = LoopbackAir()
        rx: Inbox = Inbox(64)
        opener = (lambda: radio_factory(clock)) if radio_factory else (
            lambda: SimRadio(air, "me", clock.now_ns, max_power))
        trx = Transceiver(opener, rx, clock, Backoff(random.Random(0)), metrics)
        entropy = Entropy(clock)
        beaconer = Beaconer(gain_dbi_x10, trx.sender(), entropy, Watch(EU868), Watch(None), keys,
                            task_outbox(outbox),
                            clock, random.Random(7), Backoff(random.Random(0)), metrics)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(t.run(stop)) for t in (trx, beaconer)]
        await clock.advance(hours * 3600)
        stop.set()
        await asyncio.gather(*tasks)
        own = []
        while not rx.empty():
            item = await rx.get()
            if isinstance(item, OwnBeacon):
                own.append(item.data)
        return keys, outbox, metrics, air, entropy, own
    return asyncio.run(go())


def test_one_beacon_per_window_for_three_days(tmp_path: Path) -> None:
    keys, outbox, metrics, air, entropy, own = run_beaconer(tmp_path, hours=72)
    reports = [p.report for p in outbox.peek(100)]
    windows = [beacon_window(r.timestamp // NS_PER_S) for r in reports]
    assert windows == [START_S + i * W for i in range(12)]
    first_delay = reports[0].timestamp / NS_PER_S - (START_S + 1000)
    assert FIRST_DELAY_MIN_S <= first_delay <= FIRST_DELAY_MAX_S
    assert len(air.sent) == 12 and metrics.beacons_sent.get() == 12
    assert entropy.calls == 12
    for (_, packet), report in zip(air.sent, reports, strict=True):
        signing.verify(report, keys.public_key)
        assert packet.payload == b"\xe0" + report.data
        assert packet.power_dbm == 16                 # EU868: trunc(161/10 - 0)
        assert report.tx_power == 14                  # what the radio actually used
        assert report.frequency == packet.freq_hz
        assert report.datarate == reports_pb2.SF12BW125
        assert report.channel == 0
        expected = derive_beacon(report.remote_entropy,
                                 report.timestamp // NS_PER_S - 20, report.local_entropy, EU868)
        assert expected.data == report.data
        assert not report.HasField("gps_fix")
    assert own == [r.data for r in reports]           # the witnesser learns our own beacons
    assert outbox.get_state("last_beacon")["window_s"] == windows[-1]
    assert outbox.get_state("last_beacon")["gps_time"] is False  # the simulated radio has none


def test_restart_in_an_already_beaconed_window_waits_for_the_next(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.set_state("last_beacon", {"window_s": START_S, "timestamp_ns": 1})
    outbox.close()
    _, outbox, *_ = run_beaconer(tmp_path, hours=5)   # still inside the first window
    assert outbox.depth() == 0


def test_rejected_transmission_is_never_reported(tmp_path: Path) -> None:
    radio = RejectingRadio()
    _, outbox, metrics, *_ = run_beaconer(tmp_path, hours=1, radio_factory=lambda clock: radio)
    assert radio.attempts >= 2                        # retried soon, inside the window
    assert outbox.depth() == 0
    assert metrics.beacons_sent.get() == 0
    errors = scraped(metrics, "pocnet_hotspot_radio_errors")
    assert errors["rejected"] == radio.attempts


def test_first_delay_is_configurable() -> None:
    """Tests and demos start beaconing within seconds; owners keep the 30-300 s default."""
    now = (START_S + 60) * NS_PER_S
    for seed in range(20):
        at = next_beacon_time(now, random.Random(seed), None, first_delay_s=(2, 5))
        assert now + 2 * NS_PER_S <= at <= now + 5 * NS_PER_S
    # A maximum below the minimum is read as the minimum (no window of negative width).
    at = next_beacon_time(now, random.Random(1), None, first_delay_s=(7, 3))
    assert at == now + 7 * NS_PER_S


def test_gain_above_the_max_eirp_sends_no_beacon(tmp_path: Path, caplog) -> None:
    """docs/protocol.md §4: trunc(max_eirp/10 - gain/10) < 0 means no beacon (EU868: 161 dBm x 10).

    Gain 171 gives trunc(-1.0) = -1: nothing is fetched, sent or reported, for a whole day, and
    the log says why once per window (not every few minutes).
    """
    with caplog.at_level("WARNING", logger="hotspot.beaconer"):
        _, outbox, metrics, air, entropy, own = run_beaconer(tmp_path, hours=24,
                                                             gain_dbi_x10=171)
    assert air.sent == [] and outbox.depth() == 0 and entropy.calls == 0 and own == []
    assert metrics.beacons_sent.get() == 0
    skipped = [r for r in caplog.records if getattr(r, "reason", "") == "gain_above_max_eirp"]
    assert len(skipped) == 4                          # one per 6-hour window


def test_gain_at_the_max_eirp_boundary_still_beacons_at_0_dbm(tmp_path: Path) -> None:
    """Gain 170 gives trunc(-0.9) = 0 dBm (toward zero, not floor): still a beacon."""
    _, outbox, _, air, *_ = run_beaconer(tmp_path, hours=6, gain_dbi_x10=170)
    assert [packet.power_dbm for _, packet in air.sent] == [0]
    assert [p.report.tx_power for p in outbox.peek(10)] == [0]


class GpsTimedRadio(RejectingRadio):
    """A concentrator with a GPS reference: each frame goes out at a GPS instant 0.5 s after the
    request (what SemtechUdpRadio schedules), which the receipt reports."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.emitted: list[int] = []

    async def transmit(self, packet: TxPacket) -> TxReceipt:
        self.attempts += 1
        self.emitted.append(self.clock.now_ns() + 500_000_000)
        return TxReceipt(power_dbm=packet.power_dbm, sent_ns=self.clock.now_ns(),
                         emitted_ns=self.emitted[-1])


def test_a_beacon_sent_at_a_gps_instant_is_stamped_at_its_emission_end(tmp_path: Path) -> None:
    """The report's timestamp is the radio's emission start plus the frame's time on air: a
    52-byte frame at SF12/125 kHz, CR 4/5, 8-symbol preamble, explicit header, CRC, low data
    rate optimisation is 75.25 symbols of 32.768 ms (Semtech AN1200.13's formula), 2,465.792 ms;
    not the host's clock at the confirmation."""
    radios: list[GpsTimedRadio] = []

    def opener(clock: FakeClock) -> GpsTimedRadio:
        radios.append(GpsTimedRadio(clock))
        return radios[-1]

    _, outbox, *_ = run_beaconer(tmp_path, hours=6, radio_factory=opener)
    reports = [p.report for p in outbox.peek(10)]
    assert len(reports) == 1 and len(radios[0].emitted) == 1
    assert reports[0].timestamp == radios[0].emitted[0] + 2_465_792_000
    assert outbox.get_state("last_beacon")["gps_time"] is True
