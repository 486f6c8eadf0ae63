"""The virtual u-blox receiver: its epochs decode as a real receiver's, on a script, on a pty."""

from __future__ import annotations

import asyncio
import io
import os
from datetime import UTC, datetime

import pytest
from pyubx2 import SET, UBXMessage, UBXReader

from sim_radio.devices.ublox import UbloxDevice, UbloxScript, epoch_messages


def _decode(frames: list[bytes]) -> list[object]:
    return [p for _, p in UBXReader(io.BytesIO(b"".join(frames)), quitonerror=2)]


async def _read(fd: int, n: int, timeout_s: float = 2.0) -> bytes:
    """Poll a non-blocking fd without blocking the loop the device runs on."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    got = b""
    while len(got) < n and loop.time() < deadline:
        try:
            got += os.read(fd, 65536)
        except BlockingIOError:
            await asyncio.sleep(0.005)
    return got


def test_one_epoch_is_nav_pvt_gga_rmc_with_valid_checksums() -> None:
    script = UbloxScript(lat=-33.5, lon=151.25, height_m=40.0, acquire_after_s=0,
                         two_d_for_s=0, h_acc_m=3.0, satellites=14,
                         start=datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC))
    pvt, gga, rmc = _decode(epoch_messages(script, 2))
    assert pvt.identity == "NAV-PVT" and pvt.fixType == 3 and pvt.gnssFixOk == 1
    assert pvt.lat == pytest.approx(-33.5) and pvt.lon == pytest.approx(151.25)
    assert (pvt.hMSL, pvt.hAcc, pvt.numSV) == (40_000, 3_000, 14)
    assert (pvt.hour, pvt.min, pvt.second) == (12, 0, 2)
    assert gga.msgID == "GGA" and gga.quality == 1 and gga.lat == pytest.approx(-33.5)
    assert gga.alt == 40.0 and gga.numSV == 14
    assert rmc.msgID == "RMC" and rmc.status == "A" and rmc.date.isoformat() == "2025-06-01"


def test_no_fix_epoch() -> None:
    pvt, gga, rmc = _decode(epoch_messages(UbloxScript(acquire_after_s=10), 3))
    assert pvt.fixType == 0 and pvt.gnssFixOk == 0 and pvt.hAcc == 0xFFFFFFFF
    assert gga.quality == 0 and gga.lat == ""
    assert rmc.status == "V"
    assert len(epoch_messages(UbloxScript(), 0, nmea=False)) == 1


def test_script_timeline() -> None:
    s = UbloxScript(acquire_after_s=5, two_d_for_s=2, lose_at_s=20, lose_for_s=5,
                    drift_m_per_s=1.0)
    assert [s.fix_at(t) for t in (0, 4.9, 5, 6.9, 7, 19, 20, 24.9, 25)] == [
        "none", "none", "2d", "2d", "3d", "3d", "none", "none", "3d"]
    lat0, _ = s.position_at(0)
    lat100, _ = s.position_at(100)
    assert (lat100 - lat0) * 111_320 == pytest.approx(100.0)


def test_bad_rate() -> None:
    with pytest.raises(ValueError):
        UbloxDevice(rate_hz=-1)


def test_step_writes_to_the_pty_and_config_is_acked() -> None:
    async def main() -> None:
        device = UbloxDevice(UbloxScript(acquire_after_s=0), rate_hz=0)
        task = asyncio.create_task(device.run())
        fd = os.open(device.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            written = device.step(2)
            assert device.epoch == 2
            assert await _read(fd, len(written)) == written
            cfg = UBXMessage("CFG", "CFG-RATE", SET, measRate=1000, navRate=1, timeRef=1)
            os.write(fd, cfg.serialize() + b"\xb5\x62\x06\x99\x00\x00\x00\x00")
            acks = [p.identity for _, p in UBXReader(io.BytesIO(await _read(fd, 20)))]
            assert acks == ["ACK-ACK", "ACK-NAK"]
            assert device.configured == ["CFG-RATE"]
        finally:
            os.close(fd)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


def test_run_steps_on_its_own_at_the_given_rate() -> None:
    async def main() -> None:
        device = UbloxDevice(rate_hz=200)
        task = asyncio.create_task(device.run())
        await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert device.epoch >= 3

    asyncio.run(main())
