"""The hotspot's end of GWMP: an asyncio UDP server that `lora_pkt_fwd` talks to.

It acknowledges uplinks and keepalives, remembers where the forwarder's downlink socket is
(the source of its PULL_DATA, forgotten after `gateway_timeout_s` of silence), hands good
frames to a callback, and matches TX_ACKs to pending PULL_RESPs by token. A PUSH_DATA is
acknowledged as soon as its header is read, before its JSON: a forwarder whose datagram we
cannot fully use must not resend it (nor count it lost). A datagram that is not valid GWMP is
counted in `drops` under its reason and otherwise ignored; an rxpk entry that cannot be
decoded is counted in `rejected` and its neighbours are kept: a confused or hostile sender on
the port must never stop the radio, nor cost it the good frames beside a bad one.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from firmware_bridge.errors import DeviceUnavailable, NoForwarder
from firmware_bridge.semtech_udp.packets import (
    UDP_MAX_PAYLOAD_BYTES,
    MalformedDatagram,
    PullAck,
    PullData,
    PullResp,
    PushData,
    Rxpk,
    Stat,
    TxAck,
    Txpk,
    parse,
    push_ack_for,
)

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1680  # lora_pkt_fwd's default serv_port_up / serv_port_down
GATEWAY_TIMEOUT_S = 60.0  # six missed keepalives at lora_pkt_fwd's default 10 s interval
# A PUSH_DATA of 16 full-size LoRa frames is about 11 kB of JSON; anything far beyond that is
# not a forwarder talking. Still below the UDP limit, which parse() enforces on its own.
DEFAULT_MAX_DATAGRAM_BYTES = 32_768
# A hotspot has one concentrator; a few more covers a test bench. Beyond that, PULL_DATA with
# ever new EUIs is a flood, and remembering each would grow without bound.
MAX_GATEWAYS = 8

Address = tuple[str, int]
OnRxpk = Callable[[bytes, Rxpk, int], None]


@dataclass(frozen=True, slots=True)
class Gateway:
    """A forwarder that sent PULL_DATA: its EUI and where downlinks go."""

    eui: bytes
    address: Address
    last_seen_s: float


class GwmpServer(asyncio.DatagramProtocol):
    """GWMP v2 server. `clock` (seconds, monotonic) and `now_ns` (Unix ns) are injected."""

    def __init__(
        self,
        on_rxpk: OnRxpk | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        now_ns: Callable[[], int] = time.time_ns,
        gateway_timeout_s: float = GATEWAY_TIMEOUT_S,
        max_datagram_bytes: int = DEFAULT_MAX_DATAGRAM_BYTES,
        rng: random.Random | None = None,
    ) -> None:
        self._on_rxpk = on_rxpk
        self._clock = clock
        self._now_ns = now_ns
        self._gateway_timeout_s = gateway_timeout_s
        self._max_datagram_bytes = min(max_datagram_bytes, UDP_MAX_PAYLOAD_BYTES)
        self._rng = rng or random.Random()
        self._transport: asyncio.DatagramTransport | None = None
        self._socket_closed = asyncio.Event()
        self._opened = False  # a socket was made (and so will report its closing)
        self._gateways: dict[bytes, Gateway] = {}
        self._pending: dict[int, tuple[bytes, asyncio.Future[TxAck]]] = {}
        self.drops: Counter[str] = Counter()  # malformed or unexpected datagrams, by reason
        self.rejected: Counter[str] = Counter()  # undecodable rxpk entries, by reason
        self.filtered: Counter[str] = Counter()  # well-formed rxpk not passed on (CRC, FSK)
        self.received: Counter[str] = Counter()  # good datagrams by type
        self.last_stat: Stat | None = None

    # --- lifecycle ---

    async def start(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> Address:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        except OSError as exc:
            raise DeviceUnavailable(f"cannot listen on udp {host}:{port}: {exc}") from exc
        return self.address

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for _, future in self._pending.values():
            if not future.done():
                future.set_exception(DeviceUnavailable("server closed"))
        self._pending.clear()

    async def wait_closed(self) -> None:
        """Until the socket is really closed: asyncio closes it a loop turn after `close()`,
        and a radio reopened before then finds its port still in use."""
        if self._opened:
            await self._socket_closed.wait()

    @property
    def address(self) -> Address:
        if self._transport is None:
            raise DeviceUnavailable("server not started")
        host, port = self._transport.get_extra_info("sockname")[:2]
        return host, port

    # --- gateway registry ---

    def gateway(self) -> Gateway | None:
        """The most recently heard live forwarder, after forgetting the silent ones."""
        now = self._clock()
        for eui, gw in list(self._gateways.items()):
            if now - gw.last_seen_s > self._gateway_timeout_s:
                del self._gateways[eui]
                log.info("forwarder %s silent since %.0f s: forgotten", eui.hex(), gw.last_seen_s)
        return max(self._gateways.values(), key=lambda g: g.last_seen_s, default=None)

    # --- downlink ---

    def send_pull_resp(self, txpk: Txpk) -> tuple[int, asyncio.Future[TxAck]]:
        """Send `txpk` to the live forwarder; the future resolves with its TX_ACK."""
        gw = self.gateway()
        if gw is None:
            raise NoForwarder("no packet forwarder connected (no PULL_DATA in the last "
                              f"{self._gateway_timeout_s:.0f} s)")
        if self._transport is None:
            raise DeviceUnavailable("server not started")
        token = self._new_token()
        future: asyncio.Future[TxAck] = asyncio.get_running_loop().create_future()
        self._pending[token] = (gw.eui, future)
        self._transport.sendto(PullResp(token, txpk).build(), gw.address)
        return token, future

    def forget(self, token: int) -> None:
        """Stop waiting for a TX_ACK (after a timeout): a late one then counts as unknown."""
        self._pending.pop(token, None)

    def _new_token(self) -> int:
        while (token := self._rng.randrange(0x10000)) in self._pending:
            pass
        return token

    # --- asyncio.DatagramProtocol ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)
        self._socket_closed.clear()
        self._opened = True

    def connection_lost(self, exc: Exception | None) -> None:
        self._socket_closed.set()

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable after sending to a forwarder that went away, and the like.
        self.drops["socket_error"] += 1
        log.debug("udp socket error: %s", exc)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if len(data) > self._max_datagram_bytes:
            self._drop("oversized", addr, f"{len(data)} bytes")
            return
        if (ack := push_ack_for(data)) is not None:
            self._reply(ack.build(), addr)
        try:
            packet = parse(data)
        except MalformedDatagram as exc:
            self._drop(exc.reason, addr, str(exc))
            return
        match packet:
            case PushData():
                self._handle_push_data(packet, addr)
            case PullData():
                self._handle_pull_data(packet, addr)
            case TxAck():
                self._handle_tx_ack(packet, addr)
            case _:
                self._drop("unexpected_type", addr, type(packet).__name__)

    def _drop(self, reason: str, addr: Address, detail: str) -> None:
        self.drops[reason] += 1
        log.debug("dropped datagram from %s:%s: %s", addr[0], addr[1], detail)

    def _reply(self, datagram: bytes, addr: Address) -> None:
        if self._transport is not None:
            self._transport.sendto(datagram, addr)

    def _handle_push_data(self, packet: PushData, addr: Address) -> None:
        self.received["push_data"] += 1
        self.rejected.update(packet.rejected)
        if packet.rejected:
            log.debug("push_data from %s:%s: rxpk rejected: %s", *addr, ", ".join(packet.rejected))
        if packet.bad_stat:
            self._drop("bad_stat", addr, "undecodable stat beside the frames")
        if packet.stat is not None:
            self.last_stat = packet.stat
        received_ns = self._now_ns()
        for rxpk in packet.rxpk:
            if rxpk.modu != "LORA":
                self.filtered["not_lora"] += 1
            elif rxpk.stat == -1:
                self.filtered["crc_bad"] += 1
            elif rxpk.stat == 0:
                self.filtered["crc_missing"] += 1
            elif self._on_rxpk is not None:
                self._on_rxpk(packet.gateway_eui, rxpk, received_ns)

    def _handle_pull_data(self, packet: PullData, addr: Address) -> None:
        known = self._gateways.get(packet.gateway_eui)
        if known is None and len(self._gateways) >= MAX_GATEWAYS:
            self.gateway()  # forget the silent ones first
            if len(self._gateways) >= MAX_GATEWAYS:
                self._drop("too_many_gateways", addr, packet.gateway_eui.hex())
                return
        self.received["pull_data"] += 1
        if known is None or known.address != addr:
            log.info("forwarder %s pulls from %s:%s", packet.gateway_eui.hex(), *addr)
        self._gateways[packet.gateway_eui] = Gateway(packet.gateway_eui, addr, self._clock())
        self._reply(PullAck(packet.token).build(), addr)

    def _handle_tx_ack(self, packet: TxAck, addr: Address) -> None:
        pending = self._pending.get(packet.token)
        if pending is None:
            self._drop("unknown_token", addr, f"TX_ACK token {packet.token:#06x}")
            return
        eui, future = pending
        if packet.gateway_eui != eui:
            self._drop("wrong_gateway", addr, f"TX_ACK from {packet.gateway_eui.hex()}")
            return
        del self._pending[packet.token]
        self.received["tx_ack"] += 1
        if not future.done():
            future.set_result(packet)
