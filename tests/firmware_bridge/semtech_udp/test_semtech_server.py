"""The GWMP server over real UDP on 127.0.0.1, with a fake clock for the 60 s gateway expiry."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable

import pytest

from firmware_bridge.errors import DeviceUnavailable, NoForwarder
from firmware_bridge.semtech_udp import packets as p
from firmware_bridge.semtech_udp.server import MAX_GATEWAYS, GwmpServer, Rxpk

EUI = bytes.fromhex("b827ebfffe010203")
RXPK = {"tmst": 7, "freq": 868.1, "stat": 1, "modu": "LORA", "datr": "SF7BW125",
        "codr": "4/5", "rssi": -80, "lsnr": 9.0, "size": 3, "data": "AQID"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def push(token: int, body: dict) -> bytes:
    return b"\x02" + token.to_bytes(2, "big") + b"\x00" + EUI + json.dumps(body).encode()


Scenario = Callable[[GwmpServer, "Client", list[tuple[bytes, Rxpk, int]], FakeClock],
                    Awaitable[None]]


class Client:
    """A forwarder-side UDP socket driven from the event loop."""

    def __init__(self, server_addr: tuple[str, int]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.server_addr = server_addr

    async def send(self, datagram: bytes) -> None:
        await asyncio.get_running_loop().sock_sendto(self.sock, datagram, self.server_addr)

    async def recv(self, timeout_s: float = 1.0) -> bytes:
        loop = asyncio.get_running_loop()
        data, _ = await asyncio.wait_for(loop.sock_recvfrom(self.sock, 70_000), timeout_s)
        return data

    async def expect_silence(self, timeout_s: float = 0.05) -> None:
        with pytest.raises(TimeoutError):
            await self.recv(timeout_s)


def run(scenario: Scenario, **server_opts: object) -> GwmpServer:
    clock = FakeClock()
    frames: list[tuple[bytes, Rxpk, int]] = []

    async def main() -> GwmpServer:
        server = GwmpServer(lambda eui, rx, ns: frames.append((eui, rx, ns)), clock=clock,
                            now_ns=lambda: 42, **server_opts)  # type: ignore[arg-type]
        addr = await server.start("127.0.0.1", 0)
        client = Client(addr)
        try:
            await scenario(server, client, frames, clock)
        finally:
            client.sock.close()
            server.close()
        return server

    return asyncio.run(main())


def test_push_data_is_acked_with_its_token_and_frames_delivered() -> None:
    async def scenario(server, client, frames, clock) -> None:
        await client.send(push(0xABCD, {"rxpk": [RXPK, RXPK | {"stat": -1},
                                                 RXPK | {"stat": 0}]}))
        assert await client.recv() == b"\x02\xab\xcd\x01"
        assert len(frames) == 1
        eui, rx, ns = frames[0]
        assert (eui, rx.data, rx.tmst, ns) == (EUI, b"\x01\x02\x03", 7, 42)
        assert server.filtered == {"crc_bad": 1, "crc_missing": 1}

    run(scenario)


def test_pull_data_is_acked_and_gateway_forgotten_after_60_s_silence() -> None:
    async def scenario(server, client, frames, clock) -> None:
        assert server.gateway() is None
        await client.send(p.PullData(0xBEEF, EUI).build())
        assert await client.recv() == b"\x02\xbe\xef\x04"
        gw = server.gateway()
        assert gw is not None and gw.eui == EUI
        assert gw.address == client.sock.getsockname()
        clock.now += 59
        assert server.gateway() is not None
        await client.send(p.PullData(1, EUI).build())  # keepalive refreshes
        await client.recv()
        clock.now += 59
        assert server.gateway() is not None
        clock.now += 1.5
        assert server.gateway() is None
        with pytest.raises(NoForwarder, match="no packet forwarder"):
            server.send_pull_resp(p.Txpk(868_100_000, 14, "SF7BW125", b"x", imme=True))

    run(scenario)


def test_malformed_datagrams_are_counted_by_reason_and_server_keeps_serving() -> None:
    bad = [
        b"garbage!",
        b"\x01\x00\x00\x02" + EUI,
        b"\x02\x00",
        b"\x02\x00\x00\x00" + EUI + b"{not json",
        b"\x02\x00\x00\x00" + EUI + b"\x00" * 3000,   # above the 2 kB cap of this server
        p.PullResp(5, p.Txpk(868_100_000, 14, "SF7BW125", b"x", imme=True)).build(),
        p.TxAck(0x4242, EUI).build(),                  # nobody waits for that token
        push(3, {"rxpk": [RXPK | {"size": 9}], "stat": {"rxnb": -1}}),
    ]

    async def scenario(server, client, frames, clock) -> None:
        for datagram in bad:
            await client.send(datagram)
        # A PUSH_DATA whose header is sound is acknowledged whatever its JSON (§3.2).
        assert await client.recv() == b"\x02\x00\x00\x01"
        assert await client.recv() == b"\x02\x00\x03\x01"
        await client.send(p.PullData(9, EUI).build())
        assert await client.recv() == b"\x02\x00\x09\x04"
        await client.expect_silence()
        assert frames == []

    server = run(scenario, max_datagram_bytes=2048)
    assert server.drops == {"bad_json": 1, "bad_version": 2, "truncated": 1, "oversized": 1,
                            "unexpected_type": 1, "unknown_token": 1, "bad_stat": 1}
    assert server.rejected == {"bad_rxpk_size": 1}   # frames only: a stat is not one
    assert server.received == {"pull_data": 1, "push_data": 1}


# Issue 14: one malformed packet per variant beside a good one (and a beacon-sized frame).
MALFORMED = {
    "null_tmst": RXPK | {"tmst": None},
    "bad_base64": RXPK | {"data": "AQI$"},
    "no_signal": {k: v for k, v in RXPK.items() if k != "rssi"},
    "not_an_object": "rxpk",
}
TOLERATED = {
    "json_null": RXPK | {"time": None, "rssis": None},
    "freq_in_hz": RXPK | {"freq": 868_100_000},
    "url_safe_base64": RXPK | {"size": 3, "data": "-_-_"},
    "no_codr": {k: v for k, v in RXPK.items() if k != "codr"},
}


@pytest.mark.parametrize("variant", sorted(MALFORMED) + sorted(TOLERATED))
def test_a_datagram_with_one_odd_packet_is_acked_and_keeps_its_good_ones(variant: str) -> None:
    odd = MALFORMED.get(variant, TOLERATED.get(variant))
    beacon = RXPK | {"tmst": 8, "size": 52, "data": "QUJD" * 17 + "QQ=="}
    lr_fhss = RXPK | {"tmst": 9, "modu": "LR-FHSS", "datr": "M0CW137", "codr": "1/3"}

    async def scenario(server, client, frames, clock) -> None:
        await client.send(push(0x7777, {"rxpk": [RXPK, odd, lr_fhss, beacon]}))
        assert await client.recv() == b"\x02\x77\x77\x01"
        tmsts = sorted(rx.tmst for _, rx, _ in frames)
        assert tmsts == ([7, 8] if variant in MALFORMED else [7, 7, 8])

    server = run(scenario)
    assert server.filtered == {"not_lora": 1}
    assert sum(server.rejected.values()) == (1 if variant in MALFORMED else 0)
    assert server.drops == {}


def test_datagram_above_udp_limit_is_dropped_not_parsed() -> None:
    server = GwmpServer()
    server.datagram_received(b"\x02\x00\x00\x00" + EUI + b"{" * 70_000, ("127.0.0.1", 9))
    assert server.drops == {"oversized": 1}


def test_default_cap_drops_large_datagram_over_real_socket() -> None:
    async def scenario(server, client, frames, clock) -> None:
        await client.send(push(1, {"rxpk": [], "pad": "x" * 40_000}))
        await client.expect_silence()

    assert run(scenario).drops == {"oversized": 1}


def test_tx_ack_matched_by_token_and_gateway() -> None:
    async def scenario(server, client, frames, clock) -> None:
        await client.send(p.PullData(1, EUI).build())
        await client.recv()
        token, future = server.send_pull_resp(
            p.Txpk(869_525_000, 14, "SF9BW125", b"\x01", imme=True))
        resp = p.parse(await client.recv())
        assert isinstance(resp, p.PullResp) and resp.token == token
        assert resp.txpk.freq_hz == 869_525_000 and resp.txpk.imme
        await client.send(p.TxAck(token ^ 1, EUI).build())               # wrong token
        await client.send(p.TxAck(token, bytes(8)).build())              # wrong gateway
        await client.send(p.TxAck(token, EUI, error="NONE").build())
        ack = await asyncio.wait_for(future, 1)
        assert ack.ok and ack.error == "NONE"

    server = run(scenario)
    assert server.drops == {"unknown_token": 1, "wrong_gateway": 1}


def test_flood_of_gateway_euis_is_bounded() -> None:
    async def scenario(server, client, frames, clock) -> None:
        for n in range(MAX_GATEWAYS + 3):
            await client.send(p.PullData(n, n.to_bytes(8, "big")).build())
        await client.send(p.PullData(99, (0).to_bytes(8, "big")).build())  # known: still served
        answered = [p.parse(await client.recv()) for _ in range(MAX_GATEWAYS + 1)]
        assert [a.token for a in answered] == [*range(MAX_GATEWAYS), 99]
        await client.expect_silence()
        clock.now += 61  # all silent: room again
        await client.send(p.PullData(100, bytes(range(8))).build())
        assert await client.recv() == b"\x02\x00\x64\x04"

    assert run(scenario).drops == {"too_many_gateways": 3}


def test_binding_a_busy_port_is_device_unavailable() -> None:
    async def main() -> None:
        first = GwmpServer()
        addr = await first.start("127.0.0.1", 0)
        try:
            with pytest.raises(DeviceUnavailable, match="cannot listen"):
                await GwmpServer().start(*addr)
        finally:
            first.close()

    asyncio.run(main())
