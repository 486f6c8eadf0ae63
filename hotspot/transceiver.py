"""The only owner of the Radio: serves transmit requests and routes received frames.

Driver errors stop here: a rejected or unconfirmed transmission becomes `TxFailed` for the
caller (so no report is made), a vanished device is reopened with backoff. Every transmission
passes the airtime ledger first (duty cycle, dwell time).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from firmware_bridge.errors import BridgeError, DeviceTimeout, DeviceUnavailable, TxRejected
from firmware_bridge.interfaces import Radio
from firmware_bridge.types import RxPacket, TxPacket, TxReceipt
from hotspot.airtime import AirtimeLedger, frame_airtime_s
from hotspot.channels import Inbox, Request, Watch, until
from hotspot.client.backoff import Backoff
from hotspot.clock import Clock, sleep_s
from hotspot.errors import AirtimeBusy, TxFailed
from hotspot.metrics import HotspotMetrics
from hotspot.settings import RadioSettings
from pocnet.beacon import Beacon, on_air_frame
from pocnet.regions import RegionPlan

log = logging.getLogger(__name__)

# A 52-byte SF12 frame takes 2.5 s on air; a radio silent for this long has failed us.
TX_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class TxJob:
    packet: TxPacket
    plan: RegionPlan


@dataclass(frozen=True)
class OwnBeacon:
    """Told to the witnesser, in order with received frames, so it ignores our own beacon."""

    data: bytes


RxItem = RxPacket | OwnBeacon
TxInbox = Inbox[Request[TxJob, TxReceipt]]


class TxSender:
    """What the beaconer holds: a typed way to ask the transceiver for a transmission."""

    def __init__(self, inbox: TxInbox) -> None:
        self._inbox = inbox

    async def transmit_beacon(self, beacon: Beacon, plan: RegionPlan) -> TxReceipt:
        packet = TxPacket(
            payload=on_air_frame(beacon.data),
            freq_hz=beacon.frequency_hz,
            datarate=beacon.datarate,
            power_dbm=beacon.tx_power_dbm,
        )
        return await self._inbox.request(TxJob(packet, plan))


# Serial modules listen on one channel at one datarate: they are tuned from the region plan
# (its first channel, the beacon datarate) and retuned when the plan changes. A concentrator
# hears every channel of the plan at once and needs no tuning.
SINGLE_CHANNEL_KINDS = ("rak3172", "rn2483")


def receive_tuning(plan: RegionPlan | None) -> dict[str, object]:
    """Driver options that make a single-channel module listen where beacons are sent."""
    if plan is None:
        return {}
    return {"rx_freq_hz": plan.channels_hz[0], "rx_datarate": plan.beacon_datarate()}


def radio_factory(settings: RadioSettings, clock: Clock, node_id: str,
                  air: object | None = None,
                  plans: Watch[RegionPlan | None] | None = None) -> Callable[[], Radio]:
    """How to (re)open the configured radio; "sim" builds a SimRadio on `air` or a loopback."""
    if settings.kind == "sim":
        from sim_radio.air import LoopbackAir
        from sim_radio.radio import SimRadio

        medium = air if air is not None else LoopbackAir()
        name = settings.device or node_id
        return lambda: SimRadio(medium, name, clock.now_ns)  # type: ignore[arg-type]

    def open_configured() -> Radio:
        from firmware_bridge.registry import open_radio

        tuning = {}
        if settings.kind in SINGLE_CHANNEL_KINDS and plans is not None:
            tuning = receive_tuning(plans.get())
        return open_radio(settings.kind, settings.device, **tuning)

    return open_configured


def _driver_drops(radio: Radio | None) -> dict[str, int]:
    """The driver's own tally of dropped frames. Every firmware_bridge driver keeps one
    (`frames_rejected`); a radio without one (the simulator's) drops nothing."""
    counts = getattr(radio, "frames_rejected", None)
    return {} if counts is None else dict(counts)


class Transceiver:
    def __init__(self, open_radio: Callable[[], Radio], rx_out: Inbox[RxItem], clock: Clock,
                 backoff: Backoff, metrics: HotspotMetrics,
                 retune_on: Watch[RegionPlan | None] | None = None,
                 dwell_where_required: bool = False) -> None:
        self._open = open_radio
        self._retune_on = retune_on
        self._rx_out = rx_out
        self._clock = clock
        self._backoff = backoff
        self._metrics = metrics
        self._ledger = AirtimeLedger(dwell_where_required)
        self.inbox: TxInbox = Inbox(16)
        self.ready = asyncio.Event()
        self._radio: Radio | None = None
        self._dropped_before: Counter[str] = Counter()  # by radios opened earlier
        metrics.track_driver_drops(self.frames_dropped)

    def sender(self) -> TxSender:
        return TxSender(self.inbox)

    def frames_dropped(self) -> dict[str, int]:
        """Frames every radio opened so far dropped, by reason (a snapshot: the metrics
        endpoint calls this from its own thread)."""
        total = Counter(dict(self._dropped_before))
        total.update(_driver_drops(self._radio))
        return dict(total)

    async def run(self, shutdown: asyncio.Event) -> None:
        while not shutdown.is_set():
            tuned_for = self._retune_on.version if self._retune_on is not None else 0
            radio = self._open()
            self._radio = radio
            try:
                await radio.start()
            except (BridgeError, OSError) as exc:
                await self._handle_radio_lost(shutdown, f"cannot open radio: {exc}")
                continue
            self.ready.set()
            log.info("radio started", extra={"event": "radio_up"})
            lost: str | None = None
            try:
                await until(shutdown, self._serve(radio, tuned_for))
            except (BridgeError, OSError) as exc:
                lost = f"radio lost: {exc}"
            finally:
                await self._release(radio)
            if lost is not None:  # released first: the device (or port) is free meanwhile
                await self._handle_radio_lost(shutdown, lost)
        while not self.inbox.empty():  # nobody will transmit these any more
            req = await self.inbox.get()
            if not req.reply.done():
                req.reply.set_exception(TxFailed("shutting down"))

    async def _release(self, radio: Radio) -> None:
        try:
            await radio.stop()
        except (BridgeError, OSError):
            pass
        self._dropped_before.update(_driver_drops(radio))
        self._radio = None

    async def _serve(self, radio: Radio, tuned_for: int) -> None:
        """Serve until the radio fails (raises) or the plan it was tuned for (version
        `tuned_for` of the plan watch) changes (returns, and the caller reopens it)."""
        rx = asyncio.ensure_future(self._receive(radio))
        retune = self._retune_on
        replan = asyncio.ensure_future(
            retune.changed(tuned_for) if retune is not None else asyncio.Event().wait()
        )
        get: asyncio.Future[Request[TxJob, TxReceipt]] | None = None
        try:
            while True:
                get = asyncio.ensure_future(self.inbox.get())
                await asyncio.wait({rx, get, replan}, return_when=asyncio.FIRST_COMPLETED)
                if get.done():
                    await self._handle_tx(radio, get.result())
                if rx.done():
                    rx.result()  # raises the driver's error
                    raise DeviceUnavailable("radio stopped delivering frames")
                if replan.done():
                    log.info("region plan changed: retuning the radio", extra={"event": "retune"})
                    return
        finally:
            rx.cancel()
            replan.cancel()
            if get is not None and not get.done():
                get.cancel()

    async def _receive(self, radio: Radio) -> None:
        async for frame in radio.received():
            if not self._rx_out.offer(frame):
                self._metrics.frames_ignored.labels(reason="inbox_full").inc()

    async def _handle_tx(self, radio: Radio, req: Request[TxJob, TxReceipt]) -> None:
        job = req.body
        pkt = job.packet
        airtime_s = frame_airtime_s(len(pkt.payload), pkt.datarate)
        try:
            self._ledger.check(job.plan, pkt.freq_hz, airtime_s, self._clock.now_ns())
        except AirtimeBusy as exc:
            req.reply.set_exception(exc)
            return
        # Before transmitting: an echo of this frame may be received while we wait for the
        # radio's confirmation, and the witnesser must already know it is ours
        # (docs/protocol.md §4).
        self._rx_out.offer(OwnBeacon(pkt.payload[1:]))
        try:
            receipt = await asyncio.wait_for(radio.transmit(pkt), TX_TIMEOUT_S)
        except TxRejected as exc:
            self._fail(req, "rejected", f"radio rejected the transmission: {exc.reason}")
            return
        except (DeviceTimeout, TimeoutError):
            self._fail(req, "timeout", "radio did not confirm the transmission")
            return
        except (BridgeError, OSError) as exc:
            self._fail(req, "unavailable", f"radio unavailable: {exc}")
            raise
        self._ledger.record(job.plan, pkt.freq_hz, airtime_s, self._clock.now_ns())
        self._backoff.reset()
        if not req.reply.done():
            req.reply.set_result(receipt)

    def _fail(self, req: Request[TxJob, TxReceipt], kind: str, why: str) -> None:
        self._metrics.radio_errors.labels(kind=kind).inc()
        log.warning("%s", why, extra={"event": "tx_failed", "kind": kind})
        if not req.reply.done():
            req.reply.set_exception(TxFailed(why))

    async def _handle_radio_lost(self, shutdown: asyncio.Event, why: str) -> None:
        self._metrics.radio_errors.labels(kind="unavailable").inc()
        delay = self._backoff.next_delay_s()
        log.error("%s; reopening in %.1f s", why, delay, extra={"event": "radio_lost"})
        await until(shutdown, sleep_s(self._clock, delay))
