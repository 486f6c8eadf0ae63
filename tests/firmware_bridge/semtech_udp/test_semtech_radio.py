"""`SemtechUdpRadio` against the virtual packet forwarder, over real UDP sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from firmware_bridge.errors import DeviceTimeout, DeviceUnavailable, NoForwarder, TxRejected
from firmware_bridge.semtech_udp.packets import Rxpk
from firmware_bridge.semtech_udp.radio import SemtechUdpRadio, rxpk_to_packet, txpk_for
from firmware_bridge.types import RxPacket, TxPacket
from sim_radio.air import LoopbackAir
from sim_radio.devices.packet_forwarder import ForwarderConfig, PacketForwarder

BEACON = TxPacket(payload=bytes(range(52)), freq_hz=869_525_000, datarate="SF12BW125",
                  power_dbm=14)

Scenario = Callable[[SemtechUdpRadio, PacketForwarder, LoopbackAir], Awaitable[None]]


def run(scenario: Scenario, tx_ack_timeout_s: float = 2.0,
        clocks: tuple[Callable[[], int], Callable[[], int]] | None = None,
        **device_opts: object) -> None:
    """`clocks`: the radio's host clock and the forwarder's, both ns since the Unix epoch."""
    async def main() -> None:
        air = LoopbackAir(rssi_dbm=-97.0, snr_db=-3.5)
        radio_now, device_now = clocks or (time.time_ns, time.time_ns)
        radio = SemtechUdpRadio("127.0.0.1", 0, tx_ack_timeout_s=tx_ack_timeout_s,
                                now_ns=radio_now)
        await radio.start()
        host, port = radio.address
        device = PacketForwarder(
            ForwarderConfig(server_host=host, server_port=port, **device_opts),  # type: ignore[arg-type]
            air, now_ns=device_now,
        )
        await device.start()
        keepalive = asyncio.create_task(device.run())
        try:
            await asyncio.wait_for(device.pull_acked.wait(), 2)
            await scenario(radio, device, air)
        finally:
            keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keepalive
            await device.stop()
            await radio.stop()

    asyncio.run(main())


async def next_frame(radio: SemtechUdpRadio) -> RxPacket:
    frames = radio.received()
    return await asyncio.wait_for(anext(frames), 2)


@pytest.mark.parametrize("form", ["empty", "json"])
def test_transmit_succeeds_on_both_tx_ack_forms(form: str) -> None:
    async def scenario(radio, device, air) -> None:
        receipt = await radio.transmit(BEACON)
        assert receipt.power_dbm == 14
        assert device.sent == [BEACON]
        assert air.sent == [("packet-forwarder", BEACON)]
        txpk = device.pull_resps[0].txpk
        assert (txpk.imme, txpk.ipol, txpk.ncrc, txpk.rfch, txpk.codr) == (
            True, False, False, 0, "4/5")

    run(scenario, tx_ack_form=form)


def test_tx_power_warning_reports_the_power_really_used() -> None:
    async def scenario(radio, device, air) -> None:
        receipt = await radio.transmit(BEACON)
        assert receipt.power_dbm == 10
        assert device.sent[0].power_dbm == 10

    run(scenario, max_power_dbm=10)


@pytest.mark.parametrize("error", ["TOO_LATE", "COLLISION_BEACON", "GPS_UNLOCKED"])
def test_tx_ack_error_is_tx_rejected_with_the_reason(error: str) -> None:
    async def scenario(radio, device, air) -> None:
        with pytest.raises(TxRejected) as info:
            await radio.transmit(BEACON)
        assert info.value.reason == error
        assert device.sent == []

    run(scenario, tx_error=error)


def test_forwarder_that_stops_answering_times_out_and_late_ack_is_dropped() -> None:
    async def scenario(radio, device, air) -> None:
        with pytest.raises(DeviceTimeout, match="no TX_ACK"):
            await radio.transmit(BEACON)
        # The forwarder wakes up and answers the old token: counted, not crashed on.
        resp = device.pull_resps[0]
        device.config = ForwarderConfig(**{**_fields(device.config), "tx_ack_form": "empty"})
        device._downlink(resp)
        for _ in range(100):
            if radio.server.drops["unknown_token"]:
                break
            await asyncio.sleep(0.01)
        assert radio.server.drops["unknown_token"] == 1

    run(scenario, tx_ack_timeout_s=0.2, tx_ack_form="silent")


def _fields(config: ForwarderConfig) -> dict[str, object]:
    return {name: getattr(config, name) for name in config.__slots__}


@pytest.mark.parametrize(
    ("style", "rssi"),
    [("sx1302", -97.0), ("sx1302-flat", -97.0), ("sx1301", -92.0)],
)
def test_frames_from_the_air_arrive_with_signal_rssi_preferred(style: str, rssi: float) -> None:
    async def scenario(radio, device, air) -> None:
        other = TxPacket(payload=b"\xe0" + bytes(51), freq_hz=867_100_000,
                         datarate="SF9BW125", power_dbm=14)
        air.transmit("neighbour", other, 1_700_000_000_000_000_000)
        frame = await next_frame(radio)
        assert frame.payload == other.payload
        assert frame.freq_hz == 867_100_000 and frame.datarate == "SF9BW125"
        # sx1301 has only the channel RSSI (signal + noise); the SX1302 forms carry rssis.
        assert frame.rssi_dbm == rssi and frame.snr_db == -3.5
        assert 0 <= frame.tmst_us < 2**32

    run(scenario, style=style)


def test_stat_reports_reach_the_server() -> None:
    async def scenario(radio, device, air) -> None:
        device.send_stat()
        for _ in range(100):
            if radio.server.last_stat is not None:
                break
            await asyncio.sleep(0.01)
        assert radio.server.last_stat is not None
        assert radio.server.last_stat.time is not None

    run(scenario)


def test_transmit_without_forwarder_is_refused_not_a_lost_radio() -> None:
    async def main() -> None:
        radio = SemtechUdpRadio("127.0.0.1", 0)
        with pytest.raises(DeviceUnavailable, match="not started"):
            await radio.transmit(BEACON)
        await radio.start()
        try:
            # The server is fine and a forwarder may pull any moment: a refusal (TxRejected),
            # not DeviceUnavailable, which would make the hotspot reopen the server.
            with pytest.raises(NoForwarder, match="no packet forwarder") as info:
                await radio.transmit(BEACON)
            assert isinstance(info.value, TxRejected) and info.value.reason == "NO_FORWARDER"
        finally:
            await radio.stop()

    asyncio.run(main())


def test_a_stopped_radio_frees_its_port_for_the_next_one() -> None:
    """The transceiver reopens a lost radio on the same port at once; asyncio closes a UDP
    socket a loop turn after close(), so stop() waits for that (EADDRINUSE otherwise)."""
    async def main() -> None:
        first = SemtechUdpRadio("127.0.0.1", 0)
        await first.start()
        port = first.address[1]
        await first.stop()
        second = SemtechUdpRadio("127.0.0.1", port)
        await second.start()
        await second.stop()
        await second.stop()   # twice is harmless

    asyncio.run(main())


@pytest.mark.parametrize(
    "bad",
    [
        TxPacket(b"x", 868_100_000, "SF13BW125", 14),
        TxPacket(b"x", 868_100_000, "SF7BW125", 99),
        TxPacket(bytes(256), 868_100_000, "SF7BW125", 14),
    ],
)
def test_unsendable_packet_is_a_caller_error(bad: TxPacket) -> None:
    with pytest.raises(ValueError):
        txpk_for(bad)


def test_txpk_carries_the_protocol_framing() -> None:
    txpk = txpk_for(TxPacket(b"\x01", 868_100_000, "SF7BW125", 14, preamble_symbols=10))
    assert (txpk.imme, txpk.ipol, txpk.ncrc, txpk.rfch, txpk.prea, txpk.powe) == (
        True, False, False, 0, 10, 14)
    assert txpk_for(BEACON).prea is None  # 8 is the forwarder's default: left out


def test_stop_ends_the_received_iterator() -> None:
    async def main() -> None:
        radio = SemtechUdpRadio("127.0.0.1", 0, queue_size=1)
        await radio.start()
        frames = [f async for f in _drain_after_stop(radio)]
        assert frames == []

    asyncio.run(main())


async def _drain_after_stop(radio: SemtechUdpRadio):
    await radio.stop()
    async for frame in radio.received():
        yield frame


def _push(token: int, rxpk: list[dict]) -> bytes:
    body = json.dumps({"rxpk": rxpk}).encode()
    return b"\x02" + token.to_bytes(2, "big") + b"\x00" + bytes(8) + body


GOOD = {"tmst": 7, "freq": 868.1, "stat": 1, "modu": "LORA", "datr": "SF12BW125",
        "codr": "4/5", "rssi": -80, "lsnr": 9.0, "size": 3, "data": "AQID"}


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("rssi", 1e12, "rssi_out_of_range"),      # issue 10: overflowed the witness's int32
    ("rssi", -1e12, "rssi_out_of_range"),
    ("lsnr", 1e9, "snr_out_of_range"),
    ("freq", 2400.0, "freq_out_of_range"),    # 2.4 GHz LoRa is no sub-GHz plan's
])
def test_a_frame_outside_physical_bounds_is_dropped_counted_and_the_rest_delivered(
    field: str, value: float, reason: str
) -> None:
    async def main() -> None:
        radio = SemtechUdpRadio("127.0.0.1", 0)
        await radio.start()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            await loop.sock_sendto(sock, _push(1, [GOOD | {field: value, "tmst": 1}, GOOD]),
                                   radio.address)
            ack, _ = await asyncio.wait_for(loop.sock_recvfrom(sock, 64), 5)
            assert ack == b"\x02\x00\x01\x01"
            frame = await next_frame(radio)
            assert (frame.tmst_us, frame.rssi_dbm) == (7, -80.0)
            assert radio.frames_rejected == {reason: 1}
        finally:
            sock.close()
            await radio.stop()

    asyncio.run(main())


# --- a concentrator with a GPS time reference ---

HOST_NS = 1_796_515_200_000_000_000  # 2026-12-06T00:00:00Z (`date -u -d ... +%s`)
HEARD_NS = HOST_NS - 2_345_000  # the reception, 2.345 ms before its datagram reaches the host
# GPS ms at HOST_NS: (Unix s − 315,964,800 s to the GPS epoch 1980-01-06 + 18 leap s) × 1000.
HOST_TMMS = (1_796_515_200 - 315_964_800 + 18) * 1000
NEIGHBOUR = TxPacket(payload=b"\xe0" + bytes(51), freq_hz=867_100_000, datarate="SF9BW125",
                     power_dbm=14)


async def hear_on_gps_time(radio: SemtechUdpRadio, air: LoopbackAir) -> RxPacket:
    air.transmit("neighbour", NEIGHBOUR, HEARD_NS)
    return await next_frame(radio)


def test_a_frame_on_gps_time_carries_its_instant_and_the_host_stamp() -> None:
    async def scenario(radio, device, air) -> None:
        frame = await hear_on_gps_time(radio, air)
        assert frame.gps_ns == HEARD_NS
        assert frame.received_ns == HOST_NS

    run(scenario, clocks=(lambda: HOST_NS, lambda: HOST_NS), gps_time_ref=True)


def test_without_a_gps_reference_frames_have_no_gps_instant_and_go_out_at_once() -> None:
    async def scenario(radio, device, air) -> None:
        assert (await hear_on_gps_time(radio, air)).gps_ns is None
        receipt = await radio.transmit(BEACON)
        assert receipt.emitted_ns is None
        assert [r.txpk.imme for r in device.pull_resps] == [True]

    run(scenario, clocks=(lambda: HOST_NS, lambda: HOST_NS))


def test_once_a_frame_gave_gps_time_a_frame_goes_out_at_a_gps_millisecond() -> None:
    """Half a second ahead on the forwarder's GPS time (the host's clock plus the last rxpk's
    GPS time less the host's at its arrival: −2.345 ms), floored to the ms: 497 ms after
    HOST_NS; the receipt says that instant."""
    async def scenario(radio, device, air) -> None:
        await hear_on_gps_time(radio, air)
        receipt = await radio.transmit(BEACON)
        txpk = device.pull_resps[-1].txpk
        assert (txpk.imme, txpk.tmst, txpk.tmms) == (False, None, HOST_TMMS + 497)
        assert receipt.emitted_ns == HOST_NS + 497_000_000
        assert receipt.power_dbm == 14 and radio.sent_at_gps_time == 1

    run(scenario, clocks=(lambda: HOST_NS, lambda: HOST_NS), gps_time_ref=True)


def test_a_forwarder_that_lost_its_gps_reference_sends_at_once_until_gps_time_is_back() -> None:
    async def scenario(radio, device, air) -> None:
        await hear_on_gps_time(radio, air)
        device.config = replace(device.config, gps_time_ref=False)
        receipt = await radio.transmit(BEACON)
        assert receipt.emitted_ns is None and receipt.power_dbm == 14
        assert [r.txpk.imme for r in device.pull_resps] == [False, True]
        assert radio.gps_tx_fallbacks == {"GPS_UNLOCKED": 1}
        await radio.transmit(BEACON)  # not tried at GPS time again
        assert [r.txpk.imme for r in device.pull_resps] == [False, True, True]
        device.config = replace(device.config, gps_time_ref=True)
        await hear_on_gps_time(radio, air)
        assert (await radio.transmit(BEACON)).emitted_ns == HOST_NS + 497_000_000

    run(scenario, clocks=(lambda: HOST_NS, lambda: HOST_NS), gps_time_ref=True)


def test_an_instant_the_forwarder_finds_past_is_sent_at_once_and_gps_time_kept() -> None:
    """The forwarder's clock 0.6 s ahead of what its last rxpk said: 497 ms ahead is in its
    past (TOO_LATE)."""
    async def scenario(radio, device, air) -> None:
        await hear_on_gps_time(radio, air)
        receipt = await radio.transmit(BEACON)
        assert receipt.emitted_ns is None
        assert [r.txpk.imme for r in device.pull_resps] == [False, True]
        assert radio.gps_tx_fallbacks == {"TOO_LATE": 1}
        await radio.transmit(BEACON)
        assert [r.txpk.imme for r in device.pull_resps] == [False, True, False, True]

    run(scenario, clocks=(lambda: HOST_NS, lambda: HOST_NS + 600_000_000), gps_time_ref=True)


def test_other_tx_ack_errors_at_gps_time_are_the_radios_refusal() -> None:
    async def scenario(radio, device, air) -> None:
        await hear_on_gps_time(radio, air)
        device.config = replace(device.config, tx_error="COLLISION_BEACON")
        with pytest.raises(TxRejected) as info:
            await radio.transmit(BEACON)
        assert info.value.reason == "COLLISION_BEACON"
        assert [r.txpk.imme for r in device.pull_resps] == [False]

    run(scenario, clocks=(lambda: HOST_NS, lambda: HOST_NS), gps_time_ref=True)


def _rxpk_at(utc_ns: int) -> Rxpk:
    return Rxpk(tmst=1, freq_hz=867_100_000, stat=1, datr="SF9BW125", data=b"\xe0" + bytes(51),
                rssi=-97.0, lsnr=-3.5,
                time=datetime.fromtimestamp(utc_ns // 1_000_000_000, UTC).replace(
                    microsecond=utc_ns // 1_000 % 1_000_000))


@pytest.mark.parametrize(("gps_less_host_us", "kept"), [
    (600_000_000, True), (600_000_001, False), (-600_000_000, True), (-600_000_001, False),
])
def test_a_gps_time_ten_minutes_from_the_host_clock_is_the_last_one_kept(
        gps_less_host_us: int, kept: bool) -> None:
    gps_ns = HOST_NS + gps_less_host_us * 1_000
    packet = rxpk_to_packet(_rxpk_at(gps_ns), HOST_NS)
    assert packet.gps_ns == (gps_ns if kept else None)
