"""`UbloxGps` on a real pseudo-terminal against the virtual u-blox receiver, and bad input."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from firmware_bridge.errors import DeviceUnavailable, FrameError
from firmware_bridge.types import Fix
from firmware_bridge.ublox_gps.gnss import UbloxGps
from sim_radio.devices.ublox import UbloxDevice, UbloxScript

Body = Callable[[UbloxDevice, UbloxGps], Awaitable[None]]


async def _take(gps: UbloxGps, n: int, timeout_s: float = 3.0) -> list[Fix]:
    it = gps.fixes().__aiter__()
    return [await asyncio.wait_for(it.__anext__(), timeout_s) for _ in range(n)]


async def _until(cond: Callable[[], bool], timeout_s: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not cond():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


def _run(body: Body, script: UbloxScript | None = None, policy: str = "skip",
         configure: str | None = None) -> None:
    async def main() -> None:
        device = UbloxDevice(script, rate_hz=0)      # epochs only when the test steps
        task = asyncio.create_task(device.run())
        gps = UbloxGps(port=device.path, policy=policy, configure=configure,
                       reopen_delay_s=0.05)
        await gps.start()
        try:
            await asyncio.wait_for(body(device, gps), 10)
        finally:
            await asyncio.wait_for(gps.stop(), 3)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


def test_scripted_acquisition_loss_and_drift() -> None:
    script = UbloxScript(lat=10.0, lon=20.0, acquire_after_s=3, two_d_for_s=1,
                         lose_at_s=6, lose_for_s=2, drift_m_per_s=111.32)

    async def body(device: UbloxDevice, gps: UbloxGps) -> None:
        device.step(10)
        fixes = await _take(gps, 10)
        kinds = [str(f.kind) for f in fixes]
        assert kinds == ["none"] * 3 + ["2d"] + ["3d"] * 2 + ["none"] * 2 + ["3d"] * 2
        assert [f.usable for f in fixes] == [k == "3d" for k in kinds]
        # 111.32 m/s north is 0.001 degree of latitude per second
        assert fixes[4].lat == pytest.approx(10.004, abs=1e-6)
        assert fixes[9].lat == pytest.approx(10.009, abs=1e-6)
        assert fixes[9].lon == pytest.approx(20.0)
        assert (fixes[9].time - fixes[0].time).total_seconds() == 9
        await _until(lambda: gps.counters.by_identity.get("GNRMC") == 10)
        assert gps.counters.bad_frames == 0 and gps.counters.by_identity["GNGGA"] == 10

    _run(body, script)


def test_configuration_is_sent_and_acknowledged() -> None:
    async def body(device: UbloxDevice, gps: UbloxGps) -> None:
        await _until(lambda: device.configured == ["CFG-VALSET"])
        device.step()
        await _take(gps, 1)
        await _until(lambda: gps.counters.by_identity.get("ACK-ACK") == 1)

    _run(body, configure="m9")


def test_garbage_and_truncated_frames_are_counted_and_skipped() -> None:
    async def body(device: UbloxDevice, gps: UbloxGps) -> None:
        device.step()
        good = device.step()
        device.write(b"\x00\xffnoise$GPGGA,garbage*00\r\n" + good[:50])  # cut NAV-PVT
        device.step(2)
        fixes = await _take(gps, 3)
        assert len(fixes) == 3
        assert gps.counters.bad_frames >= 1

    _run(body, UbloxScript(acquire_after_s=0))


def test_raise_policy_surfaces_a_bad_frame() -> None:
    async def body(device: UbloxDevice, gps: UbloxGps) -> None:
        frame = bytearray(device.step())
        await _take(gps, 1)
        frame[10] ^= 0xFF                      # corrupt the payload: checksum fails
        device.write(bytes(frame))
        with pytest.raises(FrameError):
            await _take(gps, 5)

    _run(body, UbloxScript(acquire_after_s=0), policy="raise")


def test_silent_receiver_neither_hangs_nor_crashes() -> None:
    async def body(device: UbloxDevice, gps: UbloxGps) -> None:
        with pytest.raises(TimeoutError):
            await _take(gps, 1, timeout_s=0.3)
        device.step()                             # it comes back
        assert len(await _take(gps, 1)) == 1

    _run(body)


def test_missing_port_and_missing_file() -> None:
    async def main() -> None:
        with pytest.raises(DeviceUnavailable, match="cannot open"):
            await UbloxGps(port="/dev/pocnet-no-gps").start()
        with pytest.raises(DeviceUnavailable, match="cannot open"):
            await UbloxGps(replay="/nonexistent/capture.ubx").start()
    asyncio.run(main())
    with pytest.raises(ValueError):
        UbloxGps()
    with pytest.raises(ValueError):
        UbloxGps(port="/dev/x", replay="y")


def test_unplugged_receiver_is_reopened_when_it_comes_back(tmp_path: Path) -> None:
    link = tmp_path / "gps"              # like /dev/serial/by-id/..., a link that udev moves

    async def main() -> None:
        first = UbloxDevice(UbloxScript(acquire_after_s=0), rate_hz=0)
        link.symlink_to(first.path)
        task1 = asyncio.create_task(first.run())
        gps = UbloxGps(port=str(link), reopen_delay_s=0.05)
        await gps.start()
        try:
            first.step()
            assert len(await _take(gps, 1)) == 1
            first.close()                    # unplugged
            task1.cancel()
            second = UbloxDevice(UbloxScript(acquire_after_s=0, lat=1.0), rate_hz=0)
            task2 = asyncio.create_task(second.run())
            link.unlink()
            link.symlink_to(second.path)     # plugged in again
            await _until(lambda: gps.reopens == 1)
            second.step()
            (fix,) = await _take(gps, 1)
            assert fix.lat == pytest.approx(1.0)
            task2.cancel()
        finally:
            await asyncio.wait_for(gps.stop(), 3)

    asyncio.run(main())


@pytest.mark.parametrize("noise", [b"$GNGGA,\xff\xfe,1*00\r\n", b"$G\xffGGA,1,2*33\r\n"])
def test_a_non_utf8_byte_in_an_nmea_line_is_a_bad_frame_not_the_end(noise: bytes) -> None:
    """Issue 10: pynmeagps's UnicodeDecodeError once ended the reader thread for good."""
    async def body(device: UbloxDevice, gps: UbloxGps) -> None:
        device.step()
        await _take(gps, 1)
        device.write(noise)
        device.step()
        (fix,) = await _take(gps, 1)           # the reader thread is still alive
        assert fix.lat is not None
        await _until(lambda: gps.counters.bad_frames == 1)
        assert "utf-8" in gps.counters.last_error

    _run(body, UbloxScript(acquire_after_s=0))


def _gga(alt: object, sats: int = 9) -> bytes:
    from datetime import time

    from pynmeagps import GET, NMEAMessage
    return NMEAMessage("GN", "GGA", GET, time=time(12, 0, 0), quality=1, numSV=sats, HDOP=0.9,
                       lat=52.1, NS="N", lon=5.3, EW="E", alt=alt, altUnit="M", sep=0.0,
                       sepUnit="M").serialize()


@pytest.mark.parametrize(("alt", "sats", "reason"), [
    (1e12, 9, "height_out_of_range"),     # overflowed the report's sint32 height_mm
    (100.0, 300, "satellites_out_of_range"),
])
def test_a_solution_outside_physical_bounds_is_dropped(alt: float, sats: int,
                                                        reason: str) -> None:
    async def body(device: UbloxDevice, gps: UbloxGps) -> None:
        device.write(_gga(alt, sats) + _gga(49_999.0))   # an NMEA-only receiver
        (fix,) = await _take(gps, 1)
        assert (fix.height_m, fix.satellites) == (49_999.0, 9)   # 50 km is the edge
        assert gps.counters.fixes_out_of_bounds == 1 and gps.counters.last_error == reason

    _run(body)
