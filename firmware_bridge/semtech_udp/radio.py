"""`SemtechUdpRadio`: the `Radio` interface over a concentrator run by Semtech's `lora_pkt_fwd`.

The forwarder connects to us (we are its "server"), so transmit needs a forwarder that has
sent PULL_DATA recently; a frame goes out as PULL_RESP and counts as sent only when the TX_ACK
with the same token says so. The beacon report carries the power the radio actually used,
which the forwarder tells us in a TX_POWER warning when it had to lower it.

A concentrator with a GPS time reference stamps each rxpk with `time` (UTC, to the µs) and
`tmms` (GPS ms); `lora_pkt_fwd` prints them only while its reference is valid. Such a frame is
delivered with that instant (`RxPacket.gps_ns`): witnesses' arrival times are then comparable to
the µs across hotspots, which the host's clock at the datagram's arrival (milliseconds of UDP
and scheduling) is not. The two stamps of one rxpk also give GPS − UTC (the leap seconds), and
with it a frame can be sent at a GPS instant (`tmms`, which the forwarder turns into its
concentrator's count by the same reference): half a second ahead, on the GPS millisecond, so
the receipt says when the emission starts to the concentrator's precision and a beacon
report can be stamped on GPS time like the receptions of it. When the forwarder refuses that
(`GPS_UNLOCKED`: its reference was lost; `TOO_LATE`/`TOO_EARLY`: the instant was misjudged),
the frame goes out at once (`imme`), as from a gateway without a GPS.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable

from firmware_bridge.bounds import RxGate
from firmware_bridge.errors import DeviceTimeout, DeviceUnavailable, TxRejected
from firmware_bridge.gps_time import leap_seconds, tmms_at, unix_ns, utc_ns_of_tmms
from firmware_bridge.semtech_udp.packets import (
    LORA_DATARATE,
    LORA_MAX_PAYLOAD_BYTES,
    TX_POWER_RANGE_DBM,
    Rxpk,
    TxAck,
    Txpk,
)
from firmware_bridge.semtech_udp.server import (
    DEFAULT_HOST,
    DEFAULT_MAX_DATAGRAM_BYTES,
    DEFAULT_PORT,
    GATEWAY_TIMEOUT_S,
    Address,
    GwmpServer,
)
from firmware_bridge.types import RxPacket, TxPacket, TxReceipt

log = logging.getLogger(__name__)

TX_ACK_TIMEOUT_S = 5.0  # lora_pkt_fwd answers within milliseconds; 5 s means it is gone
DEFAULT_PREAMBLE_SYMBOLS = 8  # lora_pkt_fwd's default when `prea` is absent
# A frame sent at a GPS instant is scheduled this far ahead of now: the PULL_RESP must reach
# the forwarder's just-in-time queue before the instant (it answers TOO_LATE within a few ms of
# it), over a LAN or loopback in milliseconds.
GPS_TX_LEAD_NS = 500_000_000
# A forwarder's GPS time further than this from the host's clock at the datagram's arrival is
# not used (the frame keeps the host stamp): one of the two clocks is wrong, and a receiver
# past a GPS week rollover is 19.6 years off. Ten minutes covers a host without NTP for weeks.
GPS_HOST_AGREEMENT_NS = 600_000_000_000
# TX_ACK errors of a frame scheduled at a GPS instant that sending it at once avoids.
GPS_TX_FALLBACK = frozenset({"GPS_UNLOCKED", "TOO_LATE", "TOO_EARLY"})


def rxpk_to_packet(rxpk: Rxpk, received_ns: int) -> RxPacket:
    """The interface's view of a good LoRa rxpk (CRC and modulation already checked)."""
    rssi, snr = rxpk.signal()
    gps_ns = None if rxpk.time is None else unix_ns(rxpk.time)
    if gps_ns is not None and abs(gps_ns - received_ns) > GPS_HOST_AGREEMENT_NS:
        gps_ns = None
    return RxPacket(
        payload=rxpk.data,
        freq_hz=rxpk.freq_hz,
        datarate=str(rxpk.datr),
        rssi_dbm=float(rssi if rssi is not None else 0.0),
        snr_db=float(snr if snr is not None else 0.0),
        received_ns=received_ns,
        tmst_us=rxpk.tmst,
        gps_ns=gps_ns,
    )


def txpk_for(packet: TxPacket, tmms: int | None = None) -> Txpk:
    """docs/protocol.md §4 framing: normal IQ polarity, CRC on, RF chain 0; sent now, or at GPS
    millisecond `tmms`.

    ValueError for a packet no forwarder could send: a caller's bug, not a radio fault.
    """
    if not LORA_DATARATE.fullmatch(packet.datarate):
        raise ValueError(f"datarate {packet.datarate!r} is not SFnBWm")
    if not TX_POWER_RANGE_DBM[0] <= packet.power_dbm <= TX_POWER_RANGE_DBM[1]:
        raise ValueError(f"power {packet.power_dbm} dBm out of range")
    if len(packet.payload) > LORA_MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload of {len(packet.payload)} bytes exceeds 255")
    return Txpk(
        freq_hz=packet.freq_hz,
        powe=packet.power_dbm,
        datr=packet.datarate,
        data=packet.payload,
        imme=tmms is None,
        tmms=tmms,
        rfch=0,
        codr=packet.code_rate,
        ipol=False,
        prea=None if packet.preamble_symbols == DEFAULT_PREAMBLE_SYMBOLS
        else packet.preamble_symbols,
        ncrc=False,
    )


class SemtechUdpRadio:
    """A `Radio` backed by a GWMP server on `host:port` (port 0 picks a free one, for tests)."""

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        tx_ack_timeout_s: float = TX_ACK_TIMEOUT_S,
        gateway_timeout_s: float = GATEWAY_TIMEOUT_S,
        max_datagram_bytes: int = DEFAULT_MAX_DATAGRAM_BYTES,
        queue_size: int = 256,
        clock: Callable[[], float] = time.monotonic,
        now_ns: Callable[[], int] = time.time_ns,
        rng: random.Random | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._tx_ack_timeout_s = tx_ack_timeout_s
        self._now_ns = now_ns
        self._queue: asyncio.Queue[RxPacket | None] = asyncio.Queue(queue_size)
        self.server = GwmpServer(
            self._on_rxpk,
            clock=clock,
            now_ns=now_ns,
            gateway_timeout_s=gateway_timeout_s,
            max_datagram_bytes=max_datagram_bytes,
            rng=rng,
        )
        self._started = False
        self.queue_overflows = 0
        self._gate = RxGate()
        # The forwarder's GPS time reference, from its last rxpk that had one: GPS − UTC, and
        # its UTC less the host's clock at the datagram's arrival. None until one arrives, and
        # again once the forwarder says its reference is lost.
        self._leap_s: int | None = None
        self._gps_less_host_ns = 0
        self.sent_at_gps_time = 0
        self.gps_tx_fallbacks: Counter[str] = Counter()

    @property
    def frames_rejected(self) -> Counter[str]:
        """Frames heard but not delivered: undecodable rxpk entries and frames outside the
        physical bounds, by reason (CRC failures and other modulations are not counted).
        A snapshot built from copies, so another thread may read it while frames arrive."""
        total = Counter(dict(self.server.rejected))
        total.update(dict(self._gate.dropped))
        return total

    @property
    def address(self) -> Address:
        """Where the server listens (useful with port 0)."""
        return self.server.address

    async def start(self) -> None:
        await self.server.start(self._host, self._port)
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            self.server.close()
            await self.server.wait_closed()  # the port is free again when stop() returns
            if self._queue.full():  # make room for the end marker: stop() must end received()
                self._queue.get_nowait()
                self.queue_overflows += 1
            self._put(None)

    async def transmit(self, packet: TxPacket) -> TxReceipt:
        if not self._started:
            raise DeviceUnavailable("semtech-udp radio not started")
        if (leap_s := self._leap_s) is not None:
            gps_now_ns = self._now_ns() + self._gps_less_host_ns
            tmms = tmms_at(gps_now_ns + GPS_TX_LEAD_NS, leap_s)
            ack = await self._send(txpk_for(packet, tmms))
            if ack.ok or ack.error not in GPS_TX_FALLBACK:
                power = self._power_used(ack, packet)
                self.sent_at_gps_time += 1
                return TxReceipt(power_dbm=power, sent_ns=self._now_ns(),
                                 emitted_ns=utc_ns_of_tmms(tmms, leap_s))
            log.info("forwarder refused a frame at GPS time (%s): sent at once", ack.error)
            self.gps_tx_fallbacks[ack.error or "UNKNOWN"] += 1
            if ack.error == "GPS_UNLOCKED":
                self._leap_s = None  # until an rxpk shows the reference back
        ack = await self._send(txpk_for(packet))
        return TxReceipt(power_dbm=self._power_used(ack, packet), sent_ns=self._now_ns())

    async def _send(self, txpk: Txpk) -> TxAck:
        token, future = self.server.send_pull_resp(txpk)
        try:
            return await asyncio.wait_for(future, self._tx_ack_timeout_s)
        except TimeoutError:
            raise DeviceTimeout(
                f"no TX_ACK for token {token:#06x} within {self._tx_ack_timeout_s:g} s"
            ) from None
        finally:
            self.server.forget(token)  # also when cancelled; a late TX_ACK is then "unknown"

    @staticmethod
    def _power_used(ack: TxAck, packet: TxPacket) -> int:
        if not ack.ok:
            raise TxRejected(ack.error or "UNKNOWN")
        if ack.warn == "TX_POWER" and ack.value is not None:
            log.info("forwarder lowered tx power %d -> %d dBm", packet.power_dbm, ack.value)
            return ack.value
        return packet.power_dbm

    async def received(self) -> AsyncIterator[RxPacket]:
        while (frame := await self._queue.get()) is not None:
            yield frame

    def _on_rxpk(self, gateway_eui: bytes, rxpk: Rxpk, received_ns: int) -> None:
        packet = rxpk_to_packet(rxpk, received_ns)
        if packet.gps_ns is not None and rxpk.time is not None and rxpk.tmms is not None:
            if (leap_s := leap_seconds(rxpk.time, rxpk.tmms)) is not None:
                self._leap_s = leap_s
                self._gps_less_host_ns = packet.gps_ns - received_ns
        if self._gate.admit(packet):
            self._put(packet)

    def _put(self, frame: RxPacket | None) -> None:
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.queue_overflows += 1
