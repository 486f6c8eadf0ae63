"""The virtual RN2483 against DS40001784's command examples and malformed commands, over a pty."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from pty_terminal import Client, run_on_pty

from firmware_bridge.types import TxPacket
from sim_radio.air import LoopbackAir
from sim_radio.devices.rn2483 import Rn2483Device

Body = Callable[[LoopbackAir, Rn2483Device, Client], Awaitable[None]]


def _run(body: Body, firmware: str = "1.0.5") -> None:
    run_on_pty(lambda air: Rn2483Device(air, "module", firmware=firmware), 57600, body,
               LoopbackAir(rssi_dbm=-110.4, snr_db=-5.6))


def test_version_and_mac_pause() -> None:
    async def body(air: LoopbackAir, dev: Rn2483Device, c: Client) -> None:
        assert await c.ask("sys get ver") == ["RN2483 1.0.5 Oct 31 2019 15:24:46"]
        assert await c.ask("radio set freq 868100000") == ["busy"]   # LoRaWAN stack active
        assert await c.ask("mac pause") == ["4294967245"]
        assert await c.ask("radio set freq 868100000") == ["ok"]
        assert await c.ask("sys reset") == ["RN2483 1.0.5 Oct 31 2019 15:24:46"]
        assert not dev.mac_paused

    _run(body)


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("radio set freq 868100000", "ok"),
        ("radio set freq 600000000", "invalid_param"),
        ("radio set freq abc", "invalid_param"),
        ("radio set sf sf12", "ok"),
        ("radio set sf sf13", "invalid_param"),
        ("radio set sf 12", "invalid_param"),
        ("radio set bw 250", "ok"),
        ("radio set bw 62", "invalid_param"),
        ("radio set cr 4/8", "ok"),
        ("radio set cr 4/9", "invalid_param"),
        ("radio set pwr 15", "ok"),
        ("radio set pwr 16", "invalid_param"),
        ("radio set crc on", "ok"),
        ("radio set crc maybe", "invalid_param"),
        ("radio set prlen 8", "ok"),
        ("radio set iqi off", "ok"),
        ("radio set sync 34", "ok"),
        ("radio set sync 345", "invalid_param"),
        ("radio set nonsense 1", "invalid_param"),
        ("radio tx ZZ", "invalid_param"),
        ("radio tx ABC", "invalid_param"),
        ("radio rx x", "invalid_param"),
        ("radio get bogus", "invalid_param"),
        ("what", "invalid_param"),
    ],
)
def test_radio_commands(command: str, answer: str) -> None:
    async def body(air: LoopbackAir, dev: Rn2483Device, c: Client) -> None:
        await c.ask("mac pause")
        assert await c.ask(command) == [answer]

    _run(body)


def test_tx_and_rx_with_the_air() -> None:
    async def body(air: LoopbackAir, dev: Rn2483Device, c: Client) -> None:
        await c.ask("mac pause")
        assert await c.ask("radio tx 48656C6C6F", 2) == ["ok", "radio_tx_ok"]
        assert air.sent[-1][1].payload == b"Hello"
        assert air.sent[-1][1].datarate == "SF12BW125"
        assert await c.ask("radio rx 0") == ["ok"]
        assert await c.ask("radio tx 00") == ["busy"]                 # receiving
        assert await c.ask("radio set sf sf7") == ["invalid_param"]   # not while busy
        air.transmit("other", TxPacket(b"\x07\x08", 867_100_000, "SF12BW125", 14), 1)
        assert await c.silent()                                       # other channel
        air.transmit("other", TxPacket(b"\x07\x08", 868_100_000, "SF12BW125", 14), 1)
        assert await c.t.read_line(1.0) == "radio_rx  0708"            # two spaces
        assert await c.ask("radio get snr") == ["-6"]
        assert await c.ask("radio get rssi") == ["-110"]
        assert await c.ask("radio rx 0") == ["ok"]
        assert await c.ask("radio rxstop") == ["ok"]
        air.transmit("other", TxPacket(b"\x07", 868_100_000, "SF12BW125", 14), 1)
        assert await c.silent()

    _run(body)


def test_tx_failure_hook() -> None:
    async def body(air: LoopbackAir, dev: Rn2483Device, c: Client) -> None:
        await c.ask("mac pause")
        dev.tx_fails = True
        assert await c.ask("radio tx 00", 2) == ["ok", "radio_err"]

    _run(body)


def test_old_firmware_has_no_radio_get_rssi() -> None:
    async def body(air: LoopbackAir, dev: Rn2483Device, c: Client) -> None:
        await c.ask("mac pause")
        assert await c.ask("radio get rssi") == ["invalid_param"]
        assert await c.ask("radio get snr") == ["-128"]

    _run(body, firmware="1.0.3")


def test_a_transmission_the_air_refuses_ends_in_radio_err() -> None:
    async def body(air: LoopbackAir, dev: Rn2483Device, c: Client) -> None:
        await c.ask("mac pause")
        air.refusal = "duty cycle"
        assert await c.ask("radio tx 00", 2) == ["ok", "radio_err"]
        assert not air.sent
        air.refusal = None
        assert await c.ask("radio tx 00", 2) == ["ok", "radio_tx_ok"]

    _run(body)
