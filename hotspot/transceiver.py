"""The only owner of the Radio: serves transmit requests and routes received frames.

Driver errors stop here: a rejected or unconfirmed transmission becomes `TxFailed` for the
caller (so no report is made), a vanished device is reopened with backoff. Every transmission
passes the airtime ledger first (duty cycle, dwell time).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from firmware_bridge.errors import BridgeError, DeviceTimeout, DeviceUnavailable, TxRejected
from firmware_bridge.interfaces import Radio
from firmware_bridge.types import RxPacket, TxPacket, TxReceipt
from hotspot.airtime import AirtimeLedger, frame_airtime_s
from hotspot.channels import Inbox, Request, until
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


def radio_factory(settings: RadioSettings, clock: Clock, node_id: str,
                  air: object | None = None) -> Callable[[], Radio]:
    """How to (re)open the configured radio; "sim" builds a SimRadio on `air` or a loopback."""
    if settings.kind == "sim":
        from sim_radio.air import LoopbackAir
        from sim_radio.radio import SimRadio

        medium = air if air is not None else LoopbackAir()
        name = settings.device or node_id
        return lambda: SimRadio(medium, name, clock.now_ns)  # type: ignore[arg-type]

    def open_configured() -> Radio:
        from firmware_bridge.registry import open_radio

        return open_radio(settings.kind, settings.device)

    return open_configured


class Transceiver:
    def __init__(self, open_radio: Callable[[], Radio], rx_out: Inbox[RxItem], clock: Clock,
                 backoff: Backoff, metrics: HotspotMetrics) -> None:
        self._open = open_radio
        self._rx_out = rx_out
        self._clock = clock
        self._backoff = backoff
        self._metrics = metrics
        self._ledger = AirtimeLedger()
        self.inbox: TxInbox = Inbox(16)
        self.ready = asyncio.Event()

    def sender(self) -> TxSender:
        return TxSender(self.inbox)

    async def run(self, shutdown: asyncio.Event) -> None:
        while not shutdown.is_set():
            radio = self._open()
            try:
                await radio.start()
            except (BridgeError, OSError) as exc:
                await self._handle_radio_lost(shutdown, f"cannot open radio: {exc}")
                continue
            self.ready.set()
            log.info("radio started", extra={"event": "radio_up"})
            try:
                await until(shutdown, self._serve(radio))
            except (BridgeError, OSError) as exc:
                await self._handle_radio_lost(shutdown, f"radio lost: {exc}")
            finally:
                try:
                    await radio.stop()
                except (BridgeError, OSError):
                    pass
        while not self.inbox.empty():  # nobody will transmit these any more
            req = await self.inbox.get()
            if not req.reply.done():
                req.reply.set_exception(TxFailed("shutting down"))

    async def _serve(self, radio: Radio) -> None:
        rx = asyncio.ensure_future(self._receive(radio))
        get: asyncio.Future[Request[TxJob, TxReceipt]] | None = None
        try:
            while True:
                get = asyncio.ensure_future(self.inbox.get())
                await asyncio.wait({rx, get}, return_when=asyncio.FIRST_COMPLETED)
                if get.done():
                    await self._handle_tx(radio, get.result())
                if rx.done():
                    rx.result()  # raises the driver's error
                    raise DeviceUnavailable("radio stopped delivering frames")
        finally:
            rx.cancel()
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
        self._rx_out.offer(OwnBeacon(pkt.payload[1:]))
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
