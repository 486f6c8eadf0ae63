"""`Rak3172Radio` against the virtual RUI3 module over a real pseudo-terminal."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from at_radio_harness import RADIO_TIMEOUTS, run_module, until

from firmware_bridge.errors import DeviceTimeout, DeviceUnavailable, TxRejected
from firmware_bridge.serial_at.rak3172 import Rak3172Radio
from firmware_bridge.types import TxPacket
from sim_radio.air import LoopbackAir
from sim_radio.devices.rak3172 import Rak3172Device

Body = Callable[[LoopbackAir, Rak3172Device, Rak3172Radio], Awaitable[None]]
BEACON = bytes(range(52))


def _run(
    body: Body,
    two_line: bool = False,
    air: LoopbackAir | None = None,
    prepare: Callable[[Rak3172Device], None] | None = None,
) -> None:
    medium = air or LoopbackAir(rssi_dbm=-97.0, snr_db=-3.0)

    def make_device() -> Rak3172Device:
        device = Rak3172Device(medium, "module", two_line_rx=two_line)
        if prepare is not None:
            prepare(device)
        return device

    run_module(
        make_device,
        lambda path: Rak3172Radio(path, **RADIO_TIMEOUTS),
        lambda device, radio: body(medium, device, radio),
    )


def test_start_switches_to_p2p_and_listens() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, radio: Rak3172Radio) -> None:
        assert dev.nwm == 0
        assert dev.precv == 65533
        assert "AT+P2P=868100000:12:125:0:8:14" in dev.commands
        assert dev.commands.index("AT+NWM=0") < dev.commands.index("AT+PRECV=65533")
        assert radio.resets_seen == 0  # the P2P reboot was expected, not a reset
        assert dev.sync_word == "3444" and not dev.iq_inverted   # LoRaWAN public, normal IQ

    _run(body)


def test_transmit_on_receive_settings_is_one_psend() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, radio: Rak3172Radio) -> None:
        before = len(dev.commands)
        receipt = await radio.transmit(TxPacket(BEACON, 868_100_000, "SF12BW125", 14))
        assert receipt.power_dbm == 14
        assert dev.commands[before:] == [f"AT+PSEND={BEACON.hex().upper()}"]
        (node, sent), = air.sent
        assert node == "module" and sent.payload == BEACON
        assert (sent.freq_hz, sent.datarate, sent.power_dbm) == (868_100_000, "SF12BW125", 14)

    _run(body)


def test_transmit_on_other_settings_retunes_and_comes_back() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, radio: Rak3172Radio) -> None:
        before = len(dev.commands)
        receipt = await radio.transmit(TxPacket(b"\x01\x02", 867_500_000, "SF10BW125", 30))
        assert receipt.power_dbm == 22            # clamped to the module's maximum
        assert dev.commands[before:] == [
            "AT+PRECV=0",
            "AT+P2P=867500000:10:125:0:8:22",
            "AT+PSEND=0102",
            "AT+P2P=868100000:12:125:0:8:14",
            "AT+PRECV=65533",
        ]
        assert air.sent[-1][1].freq_hz == 867_500_000
        assert dev.p2p.freq_hz == 868_100_000 and dev.precv == 65533

    _run(body)


@pytest.mark.parametrize(
    ("packet", "reason"),
    [
        (TxPacket(b"x", 868_100_000, "SF12BW125", 2), "below"),
        (TxPacket(b"x", 868_100_000, "LORA", 14), "datarate"),
        (TxPacket(bytes(256), 868_100_000, "SF12BW125", 14), "payload"),
        (TxPacket(b"x", 868_100_000, "SF12BW62", 14), "datarate"),
    ],
)
def test_impossible_transmissions_are_rejected_before_the_module(
    packet: TxPacket, reason: str
) -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, radio: Rak3172Radio) -> None:
        before = len(dev.commands)
        with pytest.raises(TxRejected, match=reason):
            await radio.transmit(packet)
        assert len(dev.commands) == before and not air.sent

    _run(body)


def test_module_error_becomes_tx_rejected_with_its_word() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, radio: Rak3172Radio) -> None:
        dev.precv = 65534          # a receive mode that refuses AT+PSEND
        with pytest.raises(TxRejected) as info:
            await radio.transmit(TxPacket(b"x", 868_100_000, "SF12BW125", 14))
        assert info.value.reason == "AT_BUSY_ERROR"

    _run(body)


@pytest.mark.parametrize("two_line", [False, True])
def test_frames_from_the_air_are_received(two_line: bool) -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, radio: Rak3172Radio) -> None:
        frames = radio.received().__aiter__()
        air.transmit("other", TxPacket(BEACON, 868_100_000, "SF12BW125", 14), 1)
        air.transmit("other", TxPacket(b"late", 868_100_000, "SF12BW125", 14), 2)
        first = await asyncio.wait_for(frames.__anext__(), 2)
        second = await asyncio.wait_for(frames.__anext__(), 2)
        assert first.payload == BEACON and second.payload == b"late"
        assert (first.freq_hz, first.datarate) == (868_100_000, "SF12BW125")
        assert (first.rssi_dbm, first.snr_db) == (-97.0, -3.0)

    _run(body, two_line=two_line)


def test_reset_mid_stream_reconfigures() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, radio: Rak3172Radio) -> None:
        dev.reset()
        await until(lambda: radio.resets_seen == 1 and dev.precv == 65533)
        frames = radio.received().__aiter__()
        air.transmit("other", TxPacket(b"after", 868_100_000, "SF12BW125", 14), 1)
        assert (await asyncio.wait_for(frames.__anext__(), 2)).payload == b"after"
        await radio.transmit(TxPacket(b"x", 868_100_000, "SF12BW125", 14))

    _run(body)


def test_garbled_and_partial_lines_do_not_break_the_driver() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, radio: Rak3172Radio) -> None:
        dev.inject(b"\xff\xfe\x80\x81\r\n+EVT:RXP2P:-1:2:ABC\r\n+EVT:RX\x00P2P\r\n\x13\x10")
        await until(lambda: radio.transport.garbled_lines >= 2 and radio.bad_frames >= 1)
        receipt = await radio.transmit(TxPacket(b"ok", 868_100_000, "SF12BW125", 14))
        assert receipt.power_dbm == 14
        assert air.sent[-1][1].payload == b"ok"

    _run(body)


def test_a_module_that_stops_answering_times_out_then_recovers() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, radio: Rak3172Radio) -> None:
        dev.mute = True
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(DeviceTimeout, match="no answer"):
            await radio.transmit(TxPacket(b"x", 868_100_000, "SF12BW125", 14))
        assert loop.time() - started < 1.5
        dev.mute = False
        dev.precv = 0              # it lost its receive mode meanwhile
        await radio.transmit(TxPacket(b"y", 868_100_000, "SF12BW125", 14))
        assert dev.precv == 65533  # reconfigured before transmitting
        assert air.sent[-1][1].payload == b"y"

    _run(body)


def test_no_tx_done_is_a_timeout() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, radio: Rak3172Radio) -> None:
        dev.tx_delay_s = 5.0       # TXP2P DONE comes far too late
        with pytest.raises(DeviceTimeout):
            await radio.transmit(TxPacket(b"x", 868_100_000, "SF12BW125", 14))

    _run(body)


def test_silent_module_fails_start_quickly() -> None:
    async def main() -> None:
        device = Rak3172Device(LoopbackAir(), "module")
        device.mute = True
        task = asyncio.create_task(device.run())
        radio = Rak3172Radio(device.path, command_timeout_s=0.2)
        with pytest.raises(DeviceUnavailable, match="not ready"):
            await asyncio.wait_for(radio.start(), 3)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


def test_unplugged_module_ends_reception_with_an_error() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, radio: Rak3172Radio) -> None:
        frames = radio.received().__aiter__()
        dev.close()                # the pty disappears, like a USB adapter pulled out
        with pytest.raises(DeviceUnavailable):
            await asyncio.wait_for(frames.__anext__(), 5)
        with pytest.raises(DeviceUnavailable):
            await radio.transmit(TxPacket(b"x", 868_100_000, "SF12BW125", 14))

    _run(body)


def test_missing_port() -> None:
    async def main() -> None:
        with pytest.raises(DeviceUnavailable, match="cannot open"):
            await Rak3172Radio("/dev/pocnet-no-such-port").start()

    asyncio.run(main())


def test_early_rui3_without_syncword_still_starts() -> None:
    def old_firmware(dev: Rak3172Device) -> None:
        dev._syncword = lambda value: dev.send_line("AT_COMMAND_NOT_FOUND")  # type: ignore

    async def body(air: LoopbackAir, dev: Rak3172Device, radio: Rak3172Radio) -> None:
        assert dev.precv == 65533 and dev.sync_word == "1424"
        await radio.transmit(TxPacket(b"x", 868_100_000, "SF12BW125", 14))

    _run(body, prepare=old_firmware)


def test_a_sent_frame_is_confirmed_even_when_returning_to_receive_times_out() -> None:
    # `+EVT:TXP2P DONE` confirms the transmission; a hang while retuning for reception must
    # not turn it into a DeviceTimeout (the beacon would go unreported). The driver brings the
    # module back to continuous receive by itself once it answers again (issue 4: recover
    # from a timeout), without waiting for the next transmit.
    async def body(air: LoopbackAir, dev: Rak3172Device, radio: Rak3172Radio) -> None:
        answer, hung = dev.handle_line, []

        def handle(line: str) -> None:
            if line.startswith("AT+P2P=868100000") and not hung:
                hung.append(line)
                dev.mute = True
                return
            answer(line)

        dev.handle_line = handle  # type: ignore[method-assign]
        receipt = await radio.transmit(TxPacket(b"\x01\x02", 867_500_000, "SF10BW125", 14))
        assert receipt.power_dbm == 14 and hung and radio.timeouts == 1
        assert air.sent[-1][1].freq_hz == 867_500_000
        dev.mute = False
        await until(lambda: dev.p2p.freq_hz == 868_100_000 and dev.precv == 65533)

    _run(body)


@pytest.mark.parametrize("two_line", [False, True])
def test_a_frame_with_impossible_rssi_is_dropped_and_counted(two_line: bool) -> None:
    """Issue 10: `+EVT:RXP2P:1000000000000:...` once reached the witness's int32 field."""
    async def body(air: LoopbackAir, dev: Rak3172Device, radio: Rak3172Radio) -> None:
        frames = radio.received().__aiter__()
        air.rssi_dbm = 1e12
        air.transmit("other", TxPacket(b"bad", 868_100_000, "SF12BW125", 14), 1)
        await until(lambda: radio.frames_rejected == {"rssi_out_of_range": 1})
        air.rssi_dbm = -97.0
        air.transmit("other", TxPacket(BEACON, 868_100_000, "SF12BW125", 14), 2)
        frame = await asyncio.wait_for(frames.__anext__(), 2)
        assert (frame.payload, frame.rssi_dbm) == (BEACON, -97.0)

    _run(body, two_line=two_line)
