"""The virtual RAK3172 against the RUI3 manual's examples and malformed commands, over a pty."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pty_terminal import Client, run_on_pty

from firmware_bridge.types import TxPacket
from sim_radio.air import LoopbackAir
from sim_radio.devices.rak3172 import Rak3172Device

Body = Callable[[LoopbackAir, Rak3172Device, Client], Awaitable[None]]


def _run(body: Body, **kwargs: object) -> None:
    run_on_pty(lambda air: Rak3172Device(air, "module", **kwargs), 115200, body,  # type: ignore[arg-type]
               LoopbackAir(rssi_dbm=-97.0, snr_db=-3.0))


def test_basic_and_malformed_commands() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, c: Client) -> None:
        assert await c.ask("AT") == ["OK"]
        assert await c.ask("AT+VER=?", 2) == ["AT+VER=RUI_4.0.6_RAK3172-E", "OK"]
        assert await c.ask("AT+NOPE=1") == ["AT_COMMAND_NOT_FOUND"]
        assert await c.ask("hello") == ["AT_ERROR"]
        assert await c.ask("AT=5") == ["AT_PARAM_ERROR"]
        assert await c.ask("AT+NWM=7") == ["AT_PARAM_ERROR"]
        await c.t.write_line("\x01\x02\x03")
        assert await c.t.read_line(1.0) == "AT_ERROR"
        dev.on_bytes(b"\xff\xfe\r\n")                      # not even ASCII
        assert await c.t.read_line(1.0) == "AT_ERROR"

    _run(body)


def test_p2p_commands_need_p2p_mode_and_switching_reboots() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, c: Client) -> None:
        assert await c.ask("AT+P2P=868000000:7:125:0:10:14") == ["AT_MODE_NO_SUPPORT"]
        assert await c.ask("AT+NWM=?", 2) == ["AT+NWM=1", "OK"]
        answer = await c.ask("AT+NWM=0", 5)
        assert answer[0] == "OK" and answer[1].startswith("RAKwireless")
        assert answer[-1] == "Current Work Mode: LoRa P2P."
        assert await c.ask("AT+NWM=0") == ["OK"]            # no reboot when unchanged

    _run(body)


def test_p2p_settings_from_the_manual() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, c: Client) -> None:
        dev.nwm = 0
        assert await c.ask("AT+P2P=868000000:7:125:0:10:14") == ["OK"]
        assert await c.ask("AT+P2P=?", 2) == ["AT+P2P=868000000:7:125:0:10:14", "OK"]
        for bad in ("AT+P2P=868000000:7:125:0:10", "AT+P2P=868000000:7:126:0:10:14",
                    "AT+P2P=868000000:7:125:0:10:99", "AT+P2P="):
            assert await c.ask(bad) == ["AT_PARAM_ERROR"], bad
        assert dev.p2p.sf == 7 and dev.p2p.preamble_symbols == 10

    _run(body)


def test_psend_goes_on_the_air_and_reports_done() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, c: Client) -> None:
        dev.nwm = 0
        assert await c.ask("AT+PSEND=DEADBEEF", 2) == ["OK", "+EVT:TXP2P DONE"]
        (node, packet), = air.sent
        assert node == "module" and packet.payload == bytes.fromhex("deadbeef")
        assert (packet.freq_hz, packet.datarate, packet.power_dbm) == (868_000_000, "SF7BW125", 14)
        for bad in ("AT+PSEND=ABC", "AT+PSEND=ZZ", "AT+PSEND", "AT+PSEND=" + "00" * 256):
            assert await c.ask(bad) == ["AT_PARAM_ERROR"], bad
        assert await c.ask("AT+PRECV=65534") == ["OK"]
        assert await c.ask("AT+PSEND=00") == ["AT_BUSY_ERROR"]
        assert await c.ask("AT+PRECV=70000") == ["AT_PARAM_ERROR"]

    _run(body)


def test_reception_only_while_listening_on_the_right_channel() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, c: Client) -> None:
        dev.nwm = 0
        assert await c.ask("AT+P2P=868100000:12:125:0:8:14") == ["OK"]
        frame = TxPacket(b"\x01\x02", 868_100_000, "SF12BW125", 14)
        air.transmit("other", frame, 1)
        assert await c.silent()                              # not listening yet
        assert await c.ask("AT+PRECV=65533") == ["OK"]
        air.transmit("other", frame, 2)
        assert await c.t.read_line(1.0) == "+EVT:RXP2P:-97:-3:0102"
        air.transmit("other", TxPacket(b"\x09", 868_300_000, "SF12BW125", 14), 3)
        air.transmit("other", TxPacket(b"\x09", 868_100_000, "SF7BW125", 14), 4)
        assert await c.silent()                              # other channel / SF
        assert await c.ask("AT+PRECV=65535") == ["OK"]       # one frame, then stop
        air.transmit("other", frame, 5)
        assert await c.t.read_line(1.0) == "+EVT:RXP2P:-97:-3:0102"
        assert dev.precv == 0
        assert len(dev.heard) == 2

    _run(body)


def test_older_two_line_receive_form() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, c: Client) -> None:
        dev.nwm, dev.precv = 0, 65533
        air.transmit("other", TxPacket(b"0134", 868_000_000, "SF7BW125", 14), 1)
        assert await c.t.read_line(1.0) == "+EVT:RXP2P, RSSI -97, SNR -3"
        assert await c.t.read_line(1.0) == "+EVT:30313334"

    _run(body, two_line_rx=True)


def test_mute_and_reset_hooks() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, c: Client) -> None:
        dev.mute = True
        await c.t.write_line("AT")
        assert await c.silent(0.1)
        dev.mute = False
        dev.nwm, dev.precv = 0, 65533
        assert await c.ask("ATZ", 4) == [
            "RAKwireless RAK3172-E Example",
            "------------------------------------------------------",
            "Version: RUI_4.0.6_RAK3172-E",
            "Current Work Mode: LoRa P2P.",
        ]
        assert dev.precv == 0

    _run(body)


def test_sync_word_and_iq() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, c: Client) -> None:
        assert await c.ask("AT+SYNCWORD=?", 2) == ["AT+SYNCWORD=1424", "OK"]
        assert await c.ask("AT+SYNCWORD=3444") == ["OK"]
        assert await c.ask("AT+SYNCWORD=XYZ") == ["AT_PARAM_ERROR"]
        assert await c.ask("AT+IQINVER=1") == ["OK"]
        assert await c.ask("AT+IQINVER=?", 2) == ["AT+IQINVER=1", "OK"]
        assert await c.ask("AT+IQINVER=2") == ["AT_PARAM_ERROR"]

    _run(body)


def test_a_transmission_the_air_refuses_is_answered_busy() -> None:
    async def body(air: LoopbackAir, dev: Rak3172Device, c: Client) -> None:
        dev.nwm = 0
        air.refusal = "duty cycle"
        assert await c.ask("AT+PSEND=E0AA") == ["AT_BUSY_ERROR"]
        assert not air.sent and not dev.transmitting
        air.refusal = None
        assert await c.ask("AT+PSEND=E0AA", 2) == ["OK", "+EVT:TXP2P DONE"]
        assert len(air.sent) == 1

    _run(body)
