"""`SemtechUdpRadio`: the `Radio` interface over a concentrator run by Semtech's `lora_pkt_fwd`.

The forwarder connects to us (we are its "server"), so transmit needs a forwarder that has
sent PULL_DATA recently; a frame goes out as PULL_RESP with `imme` and counts as sent only
when the TX_ACK with the same token says so. The beacon report carries the power the radio
actually used, which the forwarder tells us in a TX_POWER warning when it had to lower it.
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


def rxpk_to_packet(rxpk: Rxpk, received_ns: int) -> RxPacket:
    """The interface's view of a good LoRa rxpk (CRC and modulation already checked)."""
    rssi, snr = rxpk.signal()
    return RxPacket(
        payload=rxpk.data,
        freq_hz=rxpk.freq_hz,
        datarate=str(rxpk.datr),
        rssi_dbm=float(rssi if rssi is not None else 0.0),
        snr_db=float(snr if snr is not None else 0.0),
        received_ns=received_ns,
        tmst_us=rxpk.tmst,
    )


def txpk_for(packet: TxPacket) -> Txpk:
    """docs/protocol.md §4 framing: send now, normal IQ polarity, CRC on, RF chain 0.

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
        imme=True,
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
        token, future = self.server.send_pull_resp(txpk_for(packet))
        try:
            ack = await asyncio.wait_for(future, self._tx_ack_timeout_s)
        except TimeoutError:
            raise DeviceTimeout(
                f"no TX_ACK for token {token:#06x} within {self._tx_ack_timeout_s:g} s"
            ) from None
        finally:
            self.server.forget(token)  # also when cancelled; a late TX_ACK is then "unknown"
        return TxReceipt(power_dbm=self._power_used(ack, packet), sent_ns=self._now_ns())

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
        if self._gate.admit(packet):
            self._put(packet)

    def _put(self, frame: RxPacket | None) -> None:
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.queue_overflows += 1
