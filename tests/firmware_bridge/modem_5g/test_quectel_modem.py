"""`QuectelModem` against the virtual RM520N on a real pseudo-terminal: every serving-cell form,
GNSS before and after the fix, and a modem that garbles, truncates or stops answering."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import pytest

from firmware_bridge.errors import DeviceTimeout, DeviceUnavailable, FrameError, ModemError
from firmware_bridge.modem_5g.coverage import cells_to_wire
from firmware_bridge.modem_5g.modem import QuectelModem
from pocnet.gnss import FixKind
from sim_radio.devices.quectel import QuectelConfig, QuectelDevice

Scenario = Callable[[QuectelModem, QuectelDevice], Awaitable[None]]


def run(scenario: Scenario, config: QuectelConfig | None = None, **modem_opts: object) -> None:
    async def main() -> None:
        device = QuectelDevice(config or QuectelConfig(), now_ns=lambda: 1_764_061_200 * 10**9)
        serving = asyncio.create_task(device.run())
        modem = QuectelModem(device.path, command_timeout_s=0.5, **modem_opts)  # type: ignore[arg-type]
        try:
            await modem.start()
            await scenario(modem, device)
        finally:
            await modem.stop()
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving

    asyncio.run(asyncio.wait_for(main(), 20))


@pytest.mark.parametrize(
    ("mode", "techs"),
    [("sa", ["NR5G-SA"]), ("nsa", ["LTE", "NR5G-NSA"]), ("lte", ["LTE"]), ("search", [])],
)
def test_serving_cells_in_every_form(mode: str, techs: list[str]) -> None:
    async def scenario(modem, device) -> None:
        cells = await modem.serving_cells()
        assert [c.tech for c in cells] == techs
        by_tech = {c.tech: c for c in cells}
        if "NR5G-SA" in by_tech:
            sa = by_tech["NR5G-SA"]
            assert (sa.cell_id, sa.pci, sa.arfcn, sa.band) == (0x105FB012D, 153, 501390, 41)
            assert (sa.rsrp_dbm, sa.rsrq_db, sa.sinr_db) == (-76, -10, 26)
        if "NR5G-NSA" in by_tech:
            nsa = by_tech["NR5G-NSA"]
            assert (nsa.rsrp_dbm, nsa.rsrq_db, nsa.sinr_db, nsa.cell_id) == (-76, -10, 26, 0)
        if "LTE" in by_tech:
            assert by_tech["LTE"].cell_id == 0x1C3C70B and by_tech["LTE"].band == 2
        assert device.echo is False  # the driver turned echo off
        assert len(cells_to_wire(cells)) == len(techs)

    run(scenario, QuectelConfig(mode=mode))


def test_unavailable_measurements_are_none() -> None:
    async def scenario(modem, device) -> None:
        lte, nr = await modem.serving_cells()
        assert lte.sinr_db is None and nr.sinr_db is None and nr.rsrp_dbm == -76
        wire_lte, wire_nr = cells_to_wire([lte, nr])
        assert not wire_lte.HasField("sinr_db") and wire_lte.rsrp_dbm == -94
        assert not wire_nr.HasField("sinr_db") and wire_nr.HasField("rsrp_dbm")

    run(scenario, QuectelConfig(mode="nsa", unavailable=frozenset({"SINR"})))


def test_gnss_reports_no_fix_until_the_modem_has_one() -> None:
    async def scenario(modem, device) -> None:
        assert device.gnss_on
        assert await modem.gnss_fix() is None
        assert await modem.gnss_fix() is None
        fix = await modem.gnss_fix()
        assert fix is not None and fix.kind is FixKind.THREE_D
        assert (fix.lat, fix.lon, fix.satellites) == (45.18806, 5.72452, 9)
        assert fix.h_acc_m == pytest.approx(0.8 * 5.0) and fix.usable
        assert fix.time is not None and fix.time.year == 2025

    run(scenario, QuectelConfig(fix_after_queries=2), uere_m=5.0)


def test_gnss_already_on_is_fine_and_gnss_can_be_disabled() -> None:
    async def scenario(modem, device) -> None:
        assert await modem.gnss_fix() is None
        assert "AT+QGPS=1" not in device.commands

    run(scenario, gnss=False)

    async def restart(modem, device) -> None:
        await modem.stop()
        await modem.start()  # AT+QGPS=1 now answers +CME ERROR: 504, which is success
        assert device.commands.count("AT+QGPS=1") == 2

    run(restart)


def test_modem_reset_turns_gnss_off_and_echo_on_the_driver_recovers() -> None:
    async def scenario(modem, device) -> None:
        device.inject(b"\r\nRDY\r\n")  # the modem rebooted: echo back on, GNSS off
        device.echo, device.gnss_on = True, False
        assert await modem.gnss_fix() is None  # 505, so GNSS is switched on again
        assert device.gnss_on and not device.echo
        assert [c.tech for c in await modem.serving_cells()] == ["NR5G-SA"]
        assert (await modem.gnss_fix()) is not None

    run(scenario, QuectelConfig(fix_after_queries=0))


def test_garbage_bytes_and_partial_lines_are_skipped() -> None:
    async def scenario(modem, device) -> None:
        device.inject(b"\xff\xfe\x00\x81garbage\r\n+QE")   # noise, then half a line
        device.inject(b"\r\nline noise #!\r\n" + b"X" * 3000)   # printable junk, overlong line
        device.inject(b"\r\n")
        cells = await modem.serving_cells()
        assert [c.tech for c in cells] == ["NR5G-SA"]
        assert modem.channel.garbled_lines >= 2

    run(scenario)


def test_unknown_command_is_a_modem_error() -> None:
    async def scenario(modem, device) -> None:
        with pytest.raises(ModemError) as info:
            await modem.channel.command("AT+QFOO")
        assert info.value.code is None
        assert [c.tech for c in await modem.serving_cells()] == ["NR5G-SA"]

    run(scenario)


def test_modem_that_stops_answering_times_out_then_recovers_from_late_lines() -> None:
    async def scenario(modem, device) -> None:
        device.mute = True
        with pytest.raises(DeviceTimeout, match="no final result"):
            await modem.serving_cells()
        device.mute = False
        device.inject(b'\r\n+QENG: "servingcell","SEARCH"\r\n\r\nOK\r\n')  # the late answer
        cells = await modem.serving_cells()
        assert [c.tech for c in cells] == ["NR5G-SA"]
        assert modem.channel.stray_lines == 2

    run(scenario)


def test_malformed_answer_is_a_frame_error_not_a_hang() -> None:
    async def scenario(modem, device) -> None:
        device.mute = True
        task = asyncio.create_task(modem.serving_cells())
        await asyncio.sleep(0)  # let the command go out
        device.inject(b'\r\n+QENG: "servingcell","NOCONN","NR5G-SA","TDD",310\r\n\r\nOK\r\n')
        with pytest.raises(FrameError):
            await task

    run(scenario)


def test_start_fails_cleanly() -> None:
    async def main() -> None:
        with pytest.raises(DeviceUnavailable, match="cannot open"):
            await QuectelModem("/dev/does-not-exist").start()
        device = QuectelDevice(QuectelConfig())
        serving = asyncio.create_task(device.run())
        device.mute = True
        modem = QuectelModem(device.path, command_timeout_s=0.2)
        with pytest.raises(DeviceTimeout):
            await modem.start()
        with pytest.raises(DeviceUnavailable, match="not started"):
            await modem.serving_cells()
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving

    asyncio.run(asyncio.wait_for(main(), 10))
