"""The virtual lora_pkt_fwd against a bare UDP socket playing the server: the documented
GWMP examples (tests/firmware_bridge/semtech_udp/data) go in, TX_ACKs and PUSH_DATA come out."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from firmware_bridge.semtech_udp import packets as p
from firmware_bridge.types import RxPacket, TxPacket
from sim_radio.air import LoopbackAir
from sim_radio.devices import packet_forwarder as pf

REPO = Path(__file__).resolve().parents[3]
VECTORS_PATH = REPO / "tests/firmware_bridge/semtech_udp/data/gwmp_test_vectors.json"
VECTORS = {v["name"]: bytes.fromhex(v["hex"]) for v in json.loads(VECTORS_PATH.read_text())}


class Server:
    """A bare UDP socket standing in for the hotspot; remembers the forwarder's down socket."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.down: tuple[str, int] | None = None

    async def recv(self, timeout_s: float = 1.0) -> tuple[p.Packet, tuple[str, int]]:
        loop = asyncio.get_running_loop()
        data, addr = await asyncio.wait_for(loop.sock_recvfrom(self.sock, 70_000), timeout_s)
        return p.parse(data), addr

    async def recv_kind(self, kind: type, timeout_s: float = 1.0) -> p.Packet:
        while True:
            packet, addr = await self.recv(timeout_s)
            if isinstance(packet, p.PullData):
                self.down = addr
            if isinstance(packet, kind):
                return packet

    async def send_down(self, datagram: bytes) -> None:
        assert self.down is not None
        await asyncio.get_running_loop().sock_sendto(self.sock, datagram, self.down)


Scenario = Callable[[pf.PacketForwarder, Server, LoopbackAir], Awaitable[None]]


def run(scenario: Scenario, monotonic_ns: Callable[[], int] | None = None,
        **opts: object) -> pf.PacketForwarder:
    """`monotonic_ns`: the concentrator counter's clock (a test's own, to stop time)."""
    air = LoopbackAir(rssi_dbm=-110.4, snr_db=-7.26)
    server = Server()
    config = pf.ForwarderConfig(server_port=server.port, **opts)  # type: ignore[arg-type]
    device = (pf.PacketForwarder(config, air) if monotonic_ns is None
              else pf.PacketForwarder(config, air, monotonic_ns=monotonic_ns))

    async def main() -> None:
        await device.start()
        task = asyncio.create_task(device.run())
        try:
            pull = await server.recv_kind(p.PullData)
            assert isinstance(pull, p.PullData) and pull.gateway_eui == config.gateway_eui
            await scenario(device, server, air)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await device.stop()
            server.sock.close()

    asyncio.run(main())
    return device


def test_documented_pull_resp_is_transmitted_and_acked_with_its_token() -> None:
    async def scenario(device, server, air) -> None:
        await server.send_down(VECTORS["pull_resp_imme"])
        ack = await server.recv_kind(p.TxAck)
        assert isinstance(ack, p.TxAck)
        assert ack.token == 0x0102 and ack.ok and ack.error is None
        assert ack.build() == p.TxAck(0x0102, device.config.gateway_eui).build()
        (tx,) = device.sent
        assert (tx.freq_hz, tx.datarate, tx.power_dbm, tx.payload) == (
            869_525_000, "SF9BW125", 14, b"\x01\x02\x03")
        assert air.sent == [("packet-forwarder", tx)]

    run(scenario)


def test_json_success_form_and_tx_power_warning() -> None:
    async def scenario(device, server, air) -> None:
        await server.send_down(VECTORS["pull_resp_imme"])
        ack = await server.recv_kind(p.TxAck)
        assert isinstance(ack, p.TxAck) and ack.error == "NONE"
        txpk = p.Txpk(869_525_000, 27, "SF12BW125", b"\x00" * 52, imme=True)
        await server.send_down(p.PullResp(7, txpk).build())
        warn = await server.recv_kind(p.TxAck)
        assert isinstance(warn, p.TxAck)
        assert (warn.token, warn.warn, warn.value) == (7, "TX_POWER", 20)
        assert device.sent[-1].power_dbm == 20

    run(scenario, tx_ack_form="json", max_power_dbm=20)


def test_tmst_downlink_in_the_past_is_too_late_and_future_one_is_scheduled_across_wrap() -> None:
    # The counter runs on a clock of the test's own: on a busy machine the real one could pass
    # the wrap before the test reads it (the counter starts 20 ms before it).
    clock_ns = [0]

    async def scenario(device, server, air) -> None:
        await server.send_down(VECTORS["pull_resp_tmst_us915_rx2"])  # tmst 3512348611: past
        late = await server.recv_kind(p.TxAck)
        assert isinstance(late, p.TxAck) and late.error == "TOO_LATE"
        far = p.Txpk(923_300_000, 20, "SF12BW500", b"x", tmst=p.tmst_add_us(device.tmst_now(),
                                                                          10_000_000))
        await server.send_down(p.PullResp(8, far).build())
        early = await server.recv_kind(p.TxAck)
        assert isinstance(early, p.TxAck) and early.error == "TOO_EARLY"
        clock_ns[0] += 10_000_000  # 10 ms on: 10 ms before the wrap
        soon = p.tmst_add_us(device.tmst_now(), 50_000)
        assert soon < device.tmst_now()  # 50 ms on is past the wrap
        await server.send_down(p.PullResp(9, p.Txpk(923_300_000, 20, "SF12BW500", b"y",
                                                    tmst=soon)).build())
        ok = await server.recv_kind(p.TxAck)
        assert isinstance(ok, p.TxAck) and ok.ok and ok.token == 9
        for _ in range(1000):  # sent 50 ms (real time) after the ack
            if device.sent:
                break
            await asyncio.sleep(0.01)
        assert [t.payload for t in device.sent] == [b"y"]

    run(scenario, monotonic_ns=lambda: clock_ns[0],
        tmst_start_us=3_512_348_611 + 2**32 - 3_512_348_611 - 20_000)


def test_silent_forwarder_and_error_forwarder() -> None:
    async def silent(device, server, air) -> None:
        await server.send_down(VECTORS["pull_resp_imme"])
        with pytest.raises(TimeoutError):
            await server.recv_kind(p.TxAck, timeout_s=0.1)
        assert device.counters["pull_resp"] == 1 and device.sent == []

    async def refusing(device, server, air) -> None:
        await server.send_down(VECTORS["pull_resp_imme"])
        ack = await server.recv_kind(p.TxAck)
        assert isinstance(ack, p.TxAck) and ack.error == "COLLISION_PACKET"

    run(silent, tx_ack_form="silent")
    run(refusing, tx_ack_form="json", tx_error="COLLISION_PACKET")


@pytest.mark.parametrize("gps_time_ref", [False, True])
@pytest.mark.parametrize("style", pf.STYLES)
def test_frames_from_the_air_become_rxpk_of_each_style(style: str, gps_time_ref: bool) -> None:
    async def scenario(device, server, air) -> None:
        frame = RxPacket(b"\xe0hello", 868_100_000, "SF12BW125", -110.4, -7.26,
                         1_700_000_000_123_456_789)
        air.transmit("beaconer", TxPacket(frame.payload, frame.freq_hz, frame.datarate, 14),
                     frame.received_ns)
        push = await server.recv_kind(p.PushData)
        while isinstance(push, p.PushData) and not push.rxpk:  # the stat sent at start
            push = await server.recv_kind(p.PushData)
        assert isinstance(push, p.PushData)
        (rx,) = push.rxpk
        assert (rx.data, rx.freq_hz, rx.datr, rx.crc_ok) == (b"\xe0hello", 868_100_000,
                                                             "SF12BW125", True)
        if gps_time_ref:
            assert rx.time is not None
            assert rx.time.timestamp() == pytest.approx(1_700_000_000.123456)
            # GPS time: 1_700_000_000.123 s Unix - 315_964_800 s (1980-01-06) + 18 leap s
            assert rx.tmms == 1_384_035_218_123
        else:  # no GPS time reference: a real forwarder sends neither
            assert rx.time is None and rx.tmms is None
        rssi, snr = rx.signal()
        assert snr == -7.3
        assert rssi == (-110 if style != "sx1301" else -102)  # rssic: signal + noise (-102.7)
        assert bool(rx.rsig) == (style == "sx1302")
        # sx1302_hal prints the flat channel rssi and lsnr in every style, rsig or not
        assert (rx.rssi, rx.lsnr) == (-102, -7.3)

    run(scenario, style=style, gps_time_ref=gps_time_ref)


def test_stat_and_malformed_server_datagrams() -> None:
    async def scenario(device, server, air) -> None:
        stat_push = await server.recv_kind(p.PushData)  # run() sends one at start
        assert isinstance(stat_push, p.PushData) and stat_push.stat is not None
        assert stat_push.stat.time is not None and stat_push.stat.time.endswith("GMT")
        for junk in (b"\xff" * 10, b"\x02\x00\x00\x03{bad", b"\x02" * 5000):
            await server.send_down(junk)
        await server.send_down(VECTORS["pull_resp_imme"])
        assert isinstance(await server.recv_kind(p.TxAck), p.TxAck)
        assert device.counters["malformed"] == 3

    run(scenario)


def test_cli_arguments_and_serve_reports_ready() -> None:
    parser = argparse.ArgumentParser()
    pf.add_arguments(parser)
    server = Server()
    args = parser.parse_args(["--server", f"127.0.0.1:{server.port}", "--style", "sx1301",
                              "--tx-ack", "json", "--gateway-eui", "0102030405060708",
                              "--keepalive-s", "5"])
    assert args.gateway_eui == bytes(range(1, 9))
    assert not args.gps_time and parser.parse_args(["--gps-time"]).gps_time
    with pytest.raises(SystemExit):
        parser.parse_args(["--server", "nohost"])
    with pytest.raises(SystemExit):
        parser.parse_args(["--gateway-eui", "zz"])
    ready: list[str] = []

    async def main() -> None:
        task = asyncio.create_task(pf.serve(args, None, ready.append))
        pull = await server.recv_kind(p.PullData)
        assert isinstance(pull, p.PullData) and pull.gateway_eui == bytes(range(1, 9))
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    server.sock.close()
    assert ready == [f"127.0.0.1:{server.port}"]


def test_a_transmission_the_air_refuses_is_acked_as_a_collision() -> None:
    async def scenario(device, server, air) -> None:
        air.refusal = "duty cycle"
        await server.send_down(VECTORS["pull_resp_imme"])
        ack = await server.recv_kind(p.TxAck)
        assert isinstance(ack, p.TxAck) and ack.token == 0x0102
        assert ack.error == "COLLISION_PACKET" and not ack.ok
        assert device.sent == [] and air.sent == []
        assert device.counters["tx_refused"] == 1

    run(scenario)
