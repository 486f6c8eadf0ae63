"""The radio owner: airtime enforcement, driver errors translated, a lost radio reopened."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections import Counter

import pytest
from hotspot_testkit import frames_dropped, scraped, task_outbox

from firmware_bridge.errors import DeviceTimeout, DeviceUnavailable
from firmware_bridge.types import RxPacket, TxPacket, TxReceipt
from hotspot.channels import Inbox
from hotspot.client.backoff import Backoff
from hotspot.clock import FakeClock
from hotspot.errors import AirtimeBusy, TxFailed
from hotspot.metrics import HotspotMetrics
from hotspot.transceiver import OwnBeacon, Transceiver
from pocnet.beacon import derive_beacon
from pocnet.regions import get_plan

EU868 = get_plan("EU868")


def beacon(n: int):
    return derive_beacon(bytes([n]) * 32, 1_767_225_600, b"\x00\x01\x02\x03", EU868)


class FlakyRadio:
    """Delivers a frame, then dies the first time; transmits per a script of outcomes."""

    def __init__(self, outcomes: list) -> None:
        self.outcomes = outcomes
        self.started = 0

    async def start(self) -> None:
        self.started += 1

    async def stop(self) -> None: ...

    async def transmit(self, packet: TxPacket) -> TxReceipt:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return TxReceipt(power_dbm=outcome, sent_ns=1, tmst_us=77)

    async def received(self):
        yield RxPacket(b"\x40" * 12, 868_100_000, "SF7BW125", -80.0, 5.0, 1)
        if self.started == 1:
            raise DeviceUnavailable("USB reset")
        await asyncio.Event().wait()


def errors(metrics: HotspotMetrics) -> dict[str, float]:
    return scraped(metrics, "pocnet_hotspot_radio_errors")


def test_errors_become_txfailed_and_the_radio_is_reopened() -> None:
    async def go():
        clock = FakeClock()
        radio = FlakyRadio([DeviceTimeout("no TX_ACK"), 12, 12])
        metrics = HotspotMetrics()
        rx: Inbox = Inbox(8)
        trx = Transceiver(lambda: radio, rx, clock, Backoff(random.Random(0)), metrics)
        stop = asyncio.Event()
        task = asyncio.create_task(trx.run(stop))
        tx = trx.sender()
        with pytest.raises(TxFailed, match="did not confirm"):
            await tx.transmit_beacon(beacon(1), EU868)
        await clock.advance(5)   # the radio died after its frame; reopened after backoff
        assert radio.started == 2
        items = []
        while not rx.empty():
            items.append(await rx.get())
        # The witnesser hears of our beacon before it is sent (an echo may come back while
        # the radio confirms), so the attempted one is announced too (harmless).
        assert OwnBeacon(beacon(1).data) in items
        frames = [i for i in items if isinstance(i, RxPacket)]
        assert len(frames) == len(items) - 1 == 2 and frames[0].payload == b"\x40" * 12
        receipt = await tx.transmit_beacon(beacon(2), EU868)
        assert receipt.power_dbm == 12 and receipt.tmst_us == 77
        # the same sub-band right after an SF12 beacon: the duty cycle says wait ~244 s
        b3 = next(b for b in map(beacon, range(3, 60))
                  if EU868.duty_cycle_for(b.frequency_hz) is not None
                  and (b.frequency_hz >= 868_000_000) == (beacon(2).frequency_hz >= 868_000_000))
        with pytest.raises(AirtimeBusy) as busy:
            await tx.transmit_beacon(b3, EU868)
        assert 240 < busy.value.wait_s < 245
        assert radio.outcomes == [12]                 # the busy frame never reached the radio
        stop.set()
        await task
        return metrics

    metrics = asyncio.run(go())
    assert errors(metrics)["timeout"] == 1
    assert errors(metrics)["unavailable"] == 1


class QuietRadio:
    """Starts, hears nothing, and records how often it was stopped."""

    def __init__(self) -> None:
        self.stopped = 0

    async def start(self) -> None: ...

    async def stop(self) -> None:
        self.stopped += 1

    async def transmit(self, packet: TxPacket) -> TxReceipt:
        return TxReceipt(power_dbm=packet.power_dbm, sent_ns=1)

    async def received(self):
        await asyncio.Event().wait()
        yield  # pragma: no cover


def test_single_channel_radio_is_retuned_when_the_region_plan_changes() -> None:
    """A RAK3172/RN2483 listens on one channel: it is reopened on the new plan's channel."""
    from firmware_bridge.registry import open_radio as real_open_radio
    from hotspot.channels import Watch
    from hotspot.settings import RadioSettings
    from hotspot.transceiver import receive_tuning

    async def go():
        clock = FakeClock()
        plans: Watch = Watch(None)
        opened: list[dict] = []
        radios: list[QuietRadio] = []

        def opener() -> QuietRadio:
            opened.append(receive_tuning(plans.get()))
            radios.append(QuietRadio())
            return radios[-1]

        trx = Transceiver(opener, Inbox(8), clock, Backoff(random.Random(0)), HotspotMetrics(),
                          retune_on=plans)
        stop = asyncio.Event()
        task = asyncio.create_task(trx.run(stop))
        await asyncio.sleep(0)
        plans.set(get_plan("US915"))
        for _ in range(50):  # let the transceiver notice, stop and reopen (no clock involved)
            if len(opened) == 2:
                break
            await asyncio.sleep(0)
        stop.set()
        await task
        return opened, radios

    opened, radios = asyncio.run(go())
    us915 = get_plan("US915")
    assert opened == [{}, {"rx_freq_hz": us915.channels_hz[0], "rx_datarate": "SF9BW125"}]
    assert radios[0].stopped == 1
    # The factory passes the tuning to the serial drivers, and only to them.
    assert real_open_radio("rak3172", "/dev/null", **opened[1]).rx_params.freq_hz == 903_900_000
    assert RadioSettings().kind not in ("rak3172", "rn2483")


class EchoRadio:
    """Hears its own transmission before confirming it (a concentrator whose packet forwarder
    reports what a second radio chain picked up, or any loopback): the echo reaches the
    receive path while `transmit` is still awaited."""

    def __init__(self) -> None:
        self.heard: asyncio.Queue[RxPacket] = asyncio.Queue()

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def transmit(self, packet: TxPacket) -> TxReceipt:
        self.heard.put_nowait(RxPacket(packet.payload, packet.freq_hz, packet.datarate,
                                       -20.0, 10.0, 1))
        for _ in range(5):
            await asyncio.sleep(0)              # the receive loop runs meanwhile
        return TxReceipt(power_dbm=14, sent_ns=2)

    async def received(self):
        while True:
            yield await self.heard.get()


def test_own_beacon_is_announced_before_its_echo_can_arrive(tmp_path) -> None:
    """docs/protocol.md §4: a hotspot ignores its own beacons. The witnesser learns ours from the
    transceiver, in order with received frames, so the announcement must precede any echo."""
    from hotspot.channels import Watch
    from hotspot.keystore import KeyStore
    from hotspot.outbox import Outbox
    from hotspot.witnesser import Witnesser

    async def go() -> tuple[int, float]:
        clock = FakeClock()
        metrics = HotspotMetrics()
        rx: Inbox = Inbox(16)
        trx = Transceiver(EchoRadio, rx, clock, Backoff(random.Random(0)), metrics)
        outbox = Outbox(tmp_path / "o.sqlite")
        witnesser = Witnesser(rx, Watch(None), KeyStore.create(tmp_path / "k"), task_outbox(outbox),
                              clock,
                              metrics)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(t.run(stop)) for t in (trx, witnesser)]
        await clock.settle()
        await trx.sender().transmit_beacon(beacon(9), EU868)
        await clock.settle()
        stop.set()
        await asyncio.gather(*tasks)
        own = metrics.frames_ignored.labels(reason="own").get()
        return outbox.depth(), own

    depth, own = asyncio.run(go())
    assert (depth, own) == (0, 1)


def test_the_owners_dwell_time_setting_reaches_the_ledger() -> None:
    """`beacon.dwell_time_where_required` (app.py passes it here): an AS923 frame longer than
    400 ms (the SF12 one pocnet once sent) is refused before the radio is asked; without the
    setting, it goes out."""

    async def go(where_required: bool):
        clock = FakeClock()
        radio = QuietRadio()
        trx = Transceiver(lambda: radio, Inbox(8), clock, Backoff(random.Random(0)),
                          HotspotMetrics(), dwell_where_required=where_required)
        stop = asyncio.Event()
        task = asyncio.create_task(trx.run(stop))
        as923 = get_plan("AS923-1")
        b = dataclasses.replace(
            derive_beacon(bytes(32), 1_767_225_600, b"\x00\x01\x02\x03", as923),
            datarate="SF12BW125")
        try:
            return await trx.sender().transmit_beacon(b, as923)
        except AirtimeBusy as exc:
            return exc
        finally:
            stop.set()
            await task

    assert isinstance(asyncio.run(go(True)), AirtimeBusy)
    assert not isinstance(asyncio.run(go(False)), AirtimeBusy)


class DroppingRadio(QuietRadio):
    """A driver that has dropped frames (its `frames_rejected` tally) and then dies once."""

    def __init__(self, dropped: dict[str, int], dies: bool) -> None:
        super().__init__()
        self.frames_rejected = Counter(dropped)
        self.dies = dies

    async def received(self):
        if self.dies:
            raise DeviceUnavailable("USB reset")
        await asyncio.Event().wait()
        yield  # pragma: no cover


def test_frames_the_drivers_dropped_are_exported_and_survive_a_reopen() -> None:
    radios = [DroppingRadio({"rssi_out_of_range": 2}, dies=True),
              DroppingRadio({"rssi_out_of_range": 1, "bad_rxpk_data": 4}, dies=False)]
    opened = iter(radios)

    async def go() -> HotspotMetrics:
        clock = FakeClock()
        metrics = HotspotMetrics()
        trx = Transceiver(lambda: next(opened), Inbox(8), clock, Backoff(random.Random(0)),
                          metrics)
        assert frames_dropped(metrics) == {}
        stop = asyncio.Event()
        task = asyncio.create_task(trx.run(stop))
        await clock.settle()
        assert frames_dropped(metrics) == {"rssi_out_of_range": 2}   # the first radio, then lost
        assert radios[0].stopped == 1      # released before the backoff, not after it
        await clock.advance(5)                                 # reopened after backoff
        assert radios[1].stopped == 0
        radios[1].frames_rejected["snr_out_of_range"] += 1      # counted while it runs
        assert frames_dropped(metrics) == {"rssi_out_of_range": 3, "bad_rxpk_data": 4,
                                    "snr_out_of_range": 1}
        stop.set()
        await task
        return metrics

    metrics = asyncio.run(go())
    assert frames_dropped(metrics) == {"rssi_out_of_range": 3, "bad_rxpk_data": 4,
                                "snr_out_of_range": 1}
