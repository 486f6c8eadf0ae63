"""`Rn2483Radio` against the virtual RN2483 over a real pseudo-terminal."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from at_radio_harness import RADIO_TIMEOUTS, run_module, until

from firmware_bridge.errors import DeviceTimeout, DeviceUnavailable, TxRejected
from firmware_bridge.serial_at.rn2483 import Rn2483Radio
from firmware_bridge.types import TxPacket
from sim_radio.air import LoopbackAir
from sim_radio.devices.rn2483 import Rn2483Device

Body = Callable[[LoopbackAir, Rn2483Device, Rn2483Radio], Awaitable[None]]
BEACON = bytes(range(52))


def _run(body: Body, firmware: str = "1.0.5") -> None:
    air = LoopbackAir(rssi_dbm=-112.0, snr_db=-9.0)
    run_module(
        lambda: Rn2483Device(air, "module", firmware=firmware),
        lambda path: Rn2483Radio(path, **RADIO_TIMEOUTS),
        lambda device, radio: body(air, device, radio),
    )


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
            await until(lambda: dev.receiving)   # `radio rx 0` issued again
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
        await until(lambda: radio.resets_seen == 1 and dev.receiving and dev.mac_paused)
        assert dev.params.power_dbm == 14
        frames = radio.received().__aiter__()
        air.transmit("other", TxPacket(b"after", 868_100_000, "SF12BW125", 14), 1)
        assert (await asyncio.wait_for(frames.__anext__(), 2)).payload == b"after"

    _run(body)


def test_garbage_and_unsolicited_radio_err() -> None:
    async def body(air: LoopbackAir, dev: Rn2483Device, radio: Rn2483Radio) -> None:
        dev.receiving = False                      # a module is idle after any radio_rx
        dev.inject(b"\x00\xff\xfe\r\nradio_rx  ZZ\r\n")
        await until(lambda: radio.transport.garbled_lines >= 1 and radio.bad_frames == 1)
        await until(lambda: dev.receiving)        # listening again after the bad frame
        dev.receiving = False
        dev.inject(b"radio_err\r\n")              # the receive ended without a frame
        await until(lambda: dev.receiving)        # driver listens again
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
        await until(lambda: dev.receiving and dev.mac_paused)
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



def _hang_on(dev: Rn2483Device, command: str, after: str = "") -> list[str]:
    """Make the module hang (stop answering) at the first `command` that follows a line
    starting with `after`; the returned list fills when it hangs."""
    answer, hung, armed = dev.handle_line, [], [not after]

    def handle(line: str) -> None:
        if armed[0] and line.startswith(command) and not hung:
            hung.append(line)
            dev.mute = True
            return
        if after and line.startswith(after):
            armed[0] = True
        answer(line)

    dev.handle_line = handle  # type: ignore[method-assign]
    return hung


def test_a_timeout_while_receiving_recovers_without_waiting_for_a_transmit() -> None:
    # Issue 4: recover from a timeout. A module that hangs after a frame (no answer to
    # `radio get snr`) must be brought back to `radio rx 0` by the driver itself; before, the
    # driver reconfigured only on the next transmit, i.e. up to a beacon window later.
    async def body(air: LoopbackAir, dev: Rn2483Device, radio: Rn2483Radio) -> None:
        frames = radio.received().__aiter__()
        hung = _hang_on(dev, "radio get snr")
        air.transmit("other", TxPacket(b"lost", 868_100_000, "SF12BW125", 14), 1)
        await until(lambda: bool(hung) and radio.timeouts >= 1)
        dev.mute = False
        await until(lambda: dev.receiving)
        air.transmit("other", TxPacket(b"after", 868_100_000, "SF12BW125", 14), 1)
        assert (await asyncio.wait_for(frames.__anext__(), 2)).payload == b"after"

    _run(body)


def test_a_sent_frame_is_confirmed_even_when_returning_to_receive_times_out() -> None:
    # `radio_tx_ok` confirms the transmission (docs/protocol.md §4: only a confirmed beacon is
    # reported). A hang afterwards, while retuning for reception, must not turn that into a
    # DeviceTimeout (the beacon would go unreported); reception is recovered in the background.
    async def body(air: LoopbackAir, dev: Rn2483Device, radio: Rn2483Radio) -> None:
        hung = _hang_on(dev, "radio set", after="radio tx")
        receipt = await radio.transmit(TxPacket(b"beacon", 868_100_000, "SF9BW125", 14))
        assert receipt.power_dbm == 14 and hung
        assert air.sent[-1][1].payload == b"beacon"
        dev.mute = False
        await until(lambda: dev.receiving and dev.params.sf == 12)

    _run(body)


@pytest.mark.parametrize(("rssi", "snr", "reason"), [
    (1e12, -9.0, "rssi_out_of_range"),     # issue 10: `radio get rssi` answering nonsense
    (-112.0, 1e9, "snr_out_of_range"),
])
def test_a_frame_with_impossible_signal_is_dropped_and_counted(
    rssi: float, snr: float, reason: str
) -> None:
    async def body(air: LoopbackAir, dev: Rn2483Device, radio: Rn2483Radio) -> None:
        frames = radio.received().__aiter__()
        air.rssi_dbm, air.snr_db = rssi, snr
        air.transmit("other", TxPacket(b"bad", 868_100_000, "SF12BW125", 14), 1)
        await until(lambda: radio.frames_rejected == {reason: 1})
        await until(lambda: dev.receiving)         # listening again after the dropped frame
        air.rssi_dbm, air.snr_db = -112.0, -9.0
        air.transmit("other", TxPacket(BEACON, 868_100_000, "SF12BW125", 14), 2)
        frame = await asyncio.wait_for(frames.__anext__(), 2)
        assert (frame.payload, frame.rssi_dbm, frame.snr_db) == (BEACON, -112.0, -9.0)

    _run(body)
