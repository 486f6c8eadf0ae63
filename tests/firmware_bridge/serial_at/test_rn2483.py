"""`Rn2483Radio` against the virtual RN2483 over a real pseudo-terminal."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from firmware_bridge.errors import DeviceTimeout, DeviceUnavailable, TxRejected
from firmware_bridge.serial_at.rn2483 import Rn2483Radio
from firmware_bridge.types import TxPacket
from sim_radio.air import LoopbackAir
from sim_radio.devices.rn2483 import Rn2483Device

Body = Callable[[LoopbackAir, Rn2483Device, Rn2483Radio], Awaitable[None]]
BEACON = bytes(range(52))


async def _until(cond: Callable[[], bool], timeout_s: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not cond():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


def _run(body: Body, firmware: str = "1.0.5") -> None:
    async def main() -> None:
        air = LoopbackAir(rssi_dbm=-112.0, snr_db=-9.0)
        device = Rn2483Device(air, "module", firmware=firmware)
        task = asyncio.create_task(device.run())
        radio = Rn2483Radio(
            device.path, command_timeout_s=0.3, tx_timeout_s=0.5, reconnect_attempts=1
        )
        await radio.start()
        try:
            await asyncio.wait_for(body(air, device, radio), 10)
        finally:
            await radio.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


def test_start_pauses_the_mac_configures_and_listens() -> None:
    async def body(air: LoopbackAir, dev: Rn2483Device, radio: Rn2483Radio) -> None:
        assert radio.firmware == "1.0.5"
        assert dev.mac_paused and dev.receiving
        assert (dev.params.freq_hz, dev.params.sf, dev.params.bw_hz) == (868_100_000, 12, 125_000)
        assert dev.sync == "34" and dev.crc and not dev.iqi
        assert dev.commands[:2] == ["sys get ver", "mac pause"]
        assert dev.commands[-1] == "radio rx 0"

    _run(body)


def test_transmit_stops_rx_sends_and_listens_again() -> None:
    async def body(air: LoopbackAir, dev: Rn2483Device, radio: Rn2483Radio) -> None:
        before = len(dev.commands)
        receipt = await radio.transmit(TxPacket(BEACON, 868_100_000, "SF12BW125", 20))
        assert receipt.power_dbm == 15           # the RN2483's maximum
        sent = dev.commands[before:]
        assert sent[0] == "radio rxstop"
        assert f"radio tx {BEACON.hex().upper()}" in sent
        assert "radio set pwr 15" in sent
        assert sent[-1] == "radio rx 0" and dev.receiving
        assert air.sent[-1][1].payload == BEACON
        assert dev.params.power_dbm == 14         # receive settings restored

    _run(body)


def test_radio_err_and_busy_become_tx_rejected() -> None:
    async def body(air: LoopbackAir, dev: Rn2483Device, radio: Rn2483Radio) -> None:
        dev.tx_fails = True
        with pytest.raises(TxRejected) as info:
            await radio.transmit(TxPacket(b"x", 868_100_000, "SF12BW125", 14))
        assert info.value.reason == "radio_err"
        assert dev.receiving                      # back to listening after the failure
        dev.tx_fails = False
        dev.mac_paused = False                    # LoRaWAN stack running: radio is busy
        with pytest.raises(TxRejected, match="busy"):
            await radio.transmit(TxPacket(b"x", 868_100_000, "SF12BW125", 14))

    _run(body)


def test_frames_are_received_with_snr_and_rssi() -> None:
    async def body(air: LoopbackAir, dev: Rn2483Device, radio: Rn2483Radio) -> None:
        frames = radio.received().__aiter__()
        for payload in (BEACON, b"second"):
            air.transmit("other", TxPacket(payload, 868_100_000, "SF12BW125", 14), 1)
            frame = await asyncio.wait_for(frames.__anext__(), 2)
            assert frame.payload == payload
            assert (frame.rssi_dbm, frame.snr_db) == (-112.0, -9.0)
            await _until(lambda: dev.receiving)   # `radio rx 0` issued again
        assert radio.rssi_estimated == 0
        # a frame on another channel is not heard
        air.transmit("other", TxPacket(b"nope", 867_300_000, "SF12BW125", 14), 1)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(frames.__anext__(), 0.1)

    _run(body)


def test_old_firmware_without_radio_get_rssi() -> None:
    async def body(air: LoopbackAir, dev: Rn2483Device, radio: Rn2483Radio) -> None:
        frames = radio.received().__aiter__()
        air.transmit("other", TxPacket(b"old", 868_100_000, "SF12BW125", 14), 1)
        frame = await asyncio.wait_for(frames.__anext__(), 2)
        assert frame.snr_db == -9.0
        # noise floor of 125 kHz with a 6 dB noise figure (-117 dBm) plus the SNR
        assert frame.rssi_dbm == -126.0
        assert radio.rssi_estimated == 1 and not radio.has_rssi

    _run(body, firmware="1.0.3")


def test_reset_mid_stream_restores_the_radio_settings() -> None:
    async def body(air: LoopbackAir, dev: Rn2483Device, radio: Rn2483Radio) -> None:
        dev.reset()                                # defaults: MAC running, pwr 1, not rx
        await _until(lambda: radio.resets_seen == 1 and dev.receiving and dev.mac_paused)
        assert dev.params.power_dbm == 14
        frames = radio.received().__aiter__()
        air.transmit("other", TxPacket(b"after", 868_100_000, "SF12BW125", 14), 1)
        assert (await asyncio.wait_for(frames.__anext__(), 2)).payload == b"after"

    _run(body)


def test_garbage_and_unsolicited_radio_err() -> None:
    async def body(air: LoopbackAir, dev: Rn2483Device, radio: Rn2483Radio) -> None:
        dev.receiving = False                      # a module is idle after any radio_rx
        dev.inject(b"\x00\xff\xfe\r\nradio_rx  ZZ\r\n")
        await _until(lambda: radio.transport.garbled_lines >= 1 and radio.bad_frames == 1)
        await _until(lambda: dev.receiving)        # listening again after the bad frame
        dev.receiving = False
        dev.inject(b"radio_err\r\n")              # the receive ended without a frame
        await _until(lambda: dev.receiving)        # driver listens again
        await radio.transmit(TxPacket(b"fine", 868_100_000, "SF12BW125", 14))
        assert air.sent[-1][1].payload == b"fine"

    _run(body)


def test_silence_is_a_timeout_and_the_driver_recovers() -> None:
    async def body(air: LoopbackAir, dev: Rn2483Device, radio: Rn2483Radio) -> None:
        dev.mute = True
        with pytest.raises(DeviceTimeout):
            await radio.transmit(TxPacket(b"x", 868_100_000, "SF12BW125", 14))
        dev.mute = False
        dev.reset()
        await _until(lambda: dev.receiving and dev.mac_paused)
        await radio.transmit(TxPacket(b"y", 868_100_000, "SF12BW125", 14))
        assert air.sent[-1][1].payload == b"y"

    _run(body)


def test_not_an_rn2483() -> None:
    async def main() -> None:
        device = Rn2483Device(LoopbackAir(), "module", firmware="x")
        device.firmware = "1.0.5"
        task = asyncio.create_task(device.run())
        # answer `sys get ver` like a different module would
        device.handle_line = lambda line: device.send_line("RN2903 1.0.5 Oct 31 2019")
        with pytest.raises(DeviceUnavailable, match="not an RN2483"):
            await Rn2483Radio(device.path, command_timeout_s=0.2).start()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
