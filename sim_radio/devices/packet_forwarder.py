"""A virtual Semtech `lora_pkt_fwd`: a concentrator on the `Air`, speaking GWMP v2 over UDP.

Like the real forwarder it is the UDP *client*: an "up" socket for PUSH_DATA (frames heard and
periodic `stat`) and a "down" socket for PULL_DATA keepalives, on which PULL_RESP downlinks
arrive and TX_ACKs go back. It reuses `firmware_bridge.semtech_udp.packets` for every byte,
so the driver and the device cannot drift apart on the codec. Faults for driver tests: a
forwarder that never answers PULL_RESP (`tx_ack_form="silent"`), one that refuses every
downlink (`tx_error`), and a power limit that yields TX_POWER warnings.

Like the real one, it stamps an rxpk with `time` (UTC) and `tmms` (GPS milliseconds) only when
its concentrator has a valid GPS time reference (`gps_time_ref`); a gateway without a GPS sends
neither, and refuses a downlink at a GPS time (`tmms`) with GPS_UNLOCKED. Its default
`sx1302` style sends the per-antenna `rsig` array and, beside it, the flat `rssi`/`lsnr` that
sx1302_hal's forwarder always prints.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from firmware_bridge.errors import TxRejected
from firmware_bridge.gps_time import tmms_at, utc_ns_of_tmms
from firmware_bridge.semtech_udp.packets import (
    MalformedDatagram,
    PullAck,
    PullData,
    PullResp,
    PushAck,
    PushData,
    Rsig,
    Rxpk,
    Stat,
    TxAck,
    Txpk,
    parse,
    tmst_diff_us,
)
from firmware_bridge.types import RxPacket, TxPacket
from pocnet.cli import integer, number
from sim_radio.air import Air, deliver_on_loop

STYLES = ("sx1302", "sx1302-flat", "sx1301")
TX_ACK_FORMS = ("empty", "json", "silent")
# How far ahead a `tmst` downlink may be scheduled before the fake answers TOO_EARLY; the real
# just-in-time queue allows more (class B beacons), a few seconds covers RX1/RX2 windows.
MAX_ADVANCE_US = 3_000_000
DEFAULT_GATEWAY_EUI = bytes.fromhex("AA555A0000000001")


@dataclass(frozen=True, slots=True)
class ForwarderConfig:
    server_host: str = "127.0.0.1"
    server_port: int = 1680
    gateway_eui: bytes = DEFAULT_GATEWAY_EUI
    keepalive_s: float = 10.0  # lora_pkt_fwd's keepalive_interval default
    stat_interval_s: float = 30.0  # lora_pkt_fwd's stat_interval default
    style: str = "sx1302"
    tx_ack_form: str = "empty"
    max_power_dbm: int = 27
    tx_error: str | None = None
    node_id: str = "packet-forwarder"
    tmst_start_us: int = 0  # where the 32-bit counter starts: near 2**32 to test the wrap
    gps_time_ref: bool = False  # a GPS time reference: rxpk carry `time` and `tmms`


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes], None], counters: Counter[str]) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self._on_datagram = on_datagram
        self._counters = counters

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._on_datagram(data)

    def error_received(self, exc: Exception) -> None:
        self._counters["socket_error"] += 1  # no server listening yet: keep trying

    def send(self, datagram: bytes) -> None:
        if self.transport is not None:
            self.transport.sendto(datagram)


class PacketForwarder:
    """One gateway. `now_ns` stamps frames; `monotonic_ns` drives the concentrator counter."""

    def __init__(
        self,
        config: ForwarderConfig,
        air: Air | None,
        now_ns: Callable[[], int] = time.time_ns,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
        rng: random.Random | None = None,
    ) -> None:
        if config.style not in STYLES or config.tx_ack_form not in TX_ACK_FORMS:
            raise ValueError(f"style must be one of {STYLES}, tx_ack_form one of {TX_ACK_FORMS}")
        self.config = config
        self._air = air
        self._now_ns = now_ns
        self._monotonic_ns = monotonic_ns
        self._rng = rng or random.Random()
        self._t0_ns = monotonic_ns()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._up: _Socket | None = None
        self._down: _Socket | None = None
        self.counters: Counter[str] = Counter()
        self.sent: list[TxPacket] = []  # what went on the air, with the power really used
        self.pull_resps: list[PullResp] = []
        self.pull_acked = asyncio.Event()

    # --- lifecycle ---

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        remote = (self.config.server_host, self.config.server_port)
        _, self._up = await self._loop.create_datagram_endpoint(
            lambda: _Socket(self._on_up, self.counters), remote_addr=remote)
        _, self._down = await self._loop.create_datagram_endpoint(
            lambda: _Socket(self._on_down, self.counters), remote_addr=remote)
        if self._air is not None:
            self._air.attach(self.config.node_id, self._from_air)

    async def run(self) -> None:
        """Keepalives and status until cancelled (call `start()` first)."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._every(self.config.keepalive_s, self.send_pull_data))
            tasks.create_task(self._every(self.config.stat_interval_s, self.send_stat))

    async def stop(self) -> None:
        if self._air is not None:
            self._air.detach(self.config.node_id)
        for sock in (self._up, self._down):
            if sock is not None and sock.transport is not None:
                sock.transport.close()
        self._up = self._down = None

    @staticmethod
    async def _every(interval_s: float, action: Callable[[], None]) -> None:
        while True:
            action()
            await asyncio.sleep(interval_s)

    # --- what the forwarder sends ---

    def tmst_now(self) -> int:
        elapsed_us = (self._monotonic_ns() - self._t0_ns) // 1000
        return (self.config.tmst_start_us + elapsed_us) % (1 << 32)

    def send_pull_data(self) -> None:
        if self._down is not None:
            self.counters["pull_data"] += 1
            self._down.send(PullData(self._token(), self.config.gateway_eui).build())

    def send_stat(self) -> None:
        c = self.counters
        now = datetime.fromtimestamp(self._now_ns() / 1e9, UTC)
        stat = Stat(
            time=now.strftime("%Y-%m-%d %H:%M:%S GMT"),
            rxnb=c["rx"], rxok=c["rx"], rxfw=c["rx"],
            ackr=100.0 * c["push_ack"] / c["push_data"] if c["push_data"] else 0.0,
            dwnb=c["pull_resp"], txnb=len(self.sent),
        )
        self._push(PushData(self._token(), self.config.gateway_eui, stat=stat))

    def _push(self, packet: PushData) -> None:
        if self._up is not None:
            self.counters["push_data"] += 1
            self._up.send(packet.build())

    def _token(self) -> int:
        return self._rng.randrange(0x10000)

    # --- the air side ---

    def _from_air(self, frame: RxPacket) -> None:
        deliver_on_loop(self._loop, self.hear, frame)

    def hear(self, frame: RxPacket) -> None:
        """Report one frame from the air as a PUSH_DATA rxpk."""
        self.counters["rx"] += 1
        self._push(PushData(self._token(), self.config.gateway_eui, (self.rxpk_for(frame),)))

    def rxpk_for(self, frame: RxPacket) -> Rxpk:
        rssis = round(frame.rssi_dbm)
        snr = round(frame.snr_db, 1)
        # Channel RSSI is signal plus in-channel noise, noise = signal - SNR (in mW).
        rssic = round(10 * math.log10(10 ** (rssis / 10) + 10 ** ((rssis - snr) / 10)))
        common = dict(
            tmst=self.tmst_now(), freq_hz=frame.freq_hz, stat=1, datr=frame.datarate,
            data=frame.payload, codr="4/5",
        )
        if self.config.gps_time_ref:
            common["time"] = datetime.fromtimestamp(frame.received_ns // 1000 / 1e6, UTC)
            common["tmms"] = tmms_at(frame.received_ns)
        if self.config.style == "sx1301":
            return Rxpk(**common, rssi=rssic, lsnr=snr)
        if self.config.style == "sx1302-flat":  # sx1302_hal lora_pkt_fwd 2.x
            return Rxpk(**common, rssi=rssic, rssis=rssis, lsnr=snr)
        return Rxpk(**common, rssi=rssic, lsnr=snr,
                    rsig=(Rsig(ant=0, chan=0, rssic=rssic, rssis=rssis, lsnr=snr),))

    # --- datagrams from the server ---

    def _on_up(self, data: bytes) -> None:
        try:
            packet = parse(data)
        except MalformedDatagram:
            self.counters["malformed"] += 1
            return
        self.counters["push_ack" if isinstance(packet, PushAck) else "unexpected"] += 1

    def _on_down(self, data: bytes) -> None:
        try:
            packet = parse(data)
        except MalformedDatagram:
            self.counters["malformed"] += 1
            return
        if isinstance(packet, PullAck):
            self.counters["pull_ack"] += 1
            self.pull_acked.set()
        elif isinstance(packet, PullResp):
            self.counters["pull_resp"] += 1
            self.pull_resps.append(packet)
            self._downlink(packet)
        else:
            self.counters["unexpected"] += 1

    def _downlink(self, resp: PullResp) -> None:
        txpk, cfg = resp.txpk, self.config
        if cfg.tx_ack_form == "silent":
            return
        error, delay_us = cfg.tx_error, 0
        if error is None and not txpk.imme and txpk.tmst is not None:
            delay_us = tmst_diff_us(txpk.tmst, self.tmst_now())
        elif error is None and not txpk.imme and txpk.tmms is not None:
            # lora_pkt_fwd turns a GPS time into a count by its GPS reference, or refuses.
            if not cfg.gps_time_ref:
                error = "GPS_UNLOCKED"
            else:
                delay_us = (utc_ns_of_tmms(txpk.tmms) - self._now_ns()) // 1_000
        if error is None and not txpk.imme:
            if delay_us < 0:
                error = "TOO_LATE"
            elif delay_us > MAX_ADVANCE_US:
                error = "TOO_EARLY"
        if error is not None:
            self._ack(TxAck(resp.token, cfg.gateway_eui, error=error))
            return
        power = min(txpk.powe, cfg.max_power_dbm)
        if power < txpk.powe:
            ack = TxAck(resp.token, cfg.gateway_eui, warn="TX_POWER", value=power)
        elif cfg.tx_ack_form == "json":
            ack = TxAck(resp.token, cfg.gateway_eui, error="NONE")
        else:
            ack = TxAck(resp.token, cfg.gateway_eui)
        if delay_us and self._loop is not None:
            self._loop.call_later(delay_us / 1e6, self._emit, txpk, power)
        elif not self._emit(txpk, power):
            # The medium refused it (duty cycle, dwell time). GWMP has no duty-cycle error; a
            # concentrator that cannot take a packet now answers COLLISION_PACKET.
            ack = TxAck(resp.token, cfg.gateway_eui, error="COLLISION_PACKET")
        self._ack(ack)

    def _emit(self, txpk: Txpk, power_dbm: int) -> bool:
        """Put the packet on the air; False when the medium refuses it."""
        packet = TxPacket(payload=txpk.data, freq_hz=txpk.freq_hz, datarate=str(txpk.datr),
                          power_dbm=power_dbm, code_rate=txpk.codr or "4/5",
                          preamble_symbols=txpk.prea or 8)
        if self._air is not None:
            try:
                self._air.transmit(self.config.node_id, packet, self._now_ns())
            except TxRejected:
                self.counters["tx_refused"] += 1
                return False
        self.sent.append(packet)
        return True

    def _ack(self, ack: TxAck) -> None:
        if self._down is not None:
            self.counters["tx_ack"] += 1
            self._down.send(ack.build())


# --- `pocnet-sim device packet-forwarder` ---


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _eui(text: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) != 8:
        raise argparse.ArgumentTypeError(f"gateway EUI must be 16 hex digits, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", type=_host_port, default=("127.0.0.1", 1680),
                        help="the hotspot's GWMP server, HOST:PORT (default 127.0.0.1:1680)")
    parser.add_argument("--gateway-eui", type=_eui, default=DEFAULT_GATEWAY_EUI,
                        help="gateway EUI, 16 hex digits (default AA555A0000000001)")
    parser.add_argument("--keepalive-s", type=number(), default=10.0,
                        help="PULL_DATA interval in seconds (default 10)")
    parser.add_argument("--stat-interval-s", type=number(), default=30.0,
                        help="stat report interval in seconds (default 30)")
    parser.add_argument("--style", choices=STYLES, default="sx1302",
                        help="rxpk form: sx1302 (rsig array and flat rssi/lsnr, default), "
                        "sx1302-flat, sx1301")
    parser.add_argument("--gps-time", action="store_true",
                        help="the concentrator has a GPS time reference: rxpk carry time and "
                        "tmms (without it, as a gateway with no GPS, they carry neither)")
    parser.add_argument("--tx-ack", choices=TX_ACK_FORMS, default="empty",
                        help="TX_ACK success form: empty (default), json, or silent (never ack)")
    parser.add_argument("--max-power-dbm", type=integer(), default=27,
                        help="highest tx power; above it TX_ACK warns TX_POWER (default 27)")
    parser.add_argument("--tx-error", default=None,
                        help="refuse every downlink with this TX_ACK error, e.g. TOO_LATE")
    parser.add_argument("--node-id", default="packet-forwarder",
                        help="name on the air (default packet-forwarder)")


async def serve(args: argparse.Namespace, air: Air | None, ready: Callable[[str], None]) -> None:
    host, port = args.server
    forwarder = PacketForwarder(
        ForwarderConfig(
            server_host=host, server_port=port, gateway_eui=args.gateway_eui,
            keepalive_s=args.keepalive_s, stat_interval_s=args.stat_interval_s,
            style=args.style, tx_ack_form=args.tx_ack, max_power_dbm=args.max_power_dbm,
            tx_error=args.tx_error, node_id=args.node_id, gps_time_ref=args.gps_time,
        ),
        air,
    )
    await forwarder.start()
    ready(f"{host}:{port}")
    try:
        await forwarder.run()
    finally:
        with contextlib.suppress(OSError):
            await forwarder.stop()
