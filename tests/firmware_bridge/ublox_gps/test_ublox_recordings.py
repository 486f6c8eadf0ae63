"""Every recorded capture in data/ (real receivers; see its README), replayed through `UbloxGps`.

Expected fixes are computed here independently of `fix.py`: straight from pyubx2's raw
NAV-PVT / GGA fields with the u-blox fixType table written out again, plus the facts the
data README states about each file.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest
from pyubx2 import ERR_IGNORE, UBXReader

from firmware_bridge.errors import FrameError
from firmware_bridge.types import Fix
from firmware_bridge.ublox_gps.gnss import UbloxGps
from firmware_bridge.ublox_gps.reader import ErrorPolicy, GnssReader

GPS_DATA = Path(__file__).resolve().parent / "data"
FILES = sorted(p.name for p in GPS_DATA.iterdir() if p.suffix in {".log", ".ubx"})
# UBX-13003221 §32.17.15: fixType 0 no fix, 2 2D, 3 3D, 4 GNSS+DR, 5 time only.
KIND = {0: "none", 1: "none", 2: "2d", 3: "3d", 4: "3d", 5: "time"}


def test_the_recordings_are_there() -> None:
    assert len(FILES) >= 11


def _replay(path: Path, policy: str = "skip") -> tuple[list[Fix], UbloxGps]:
    async def main() -> tuple[list[Fix], UbloxGps]:
        gps = UbloxGps(replay=str(path), policy=policy)
        await gps.start()
        try:
            return [f async for f in gps.fixes()], gps
        finally:
            await gps.stop()

    return asyncio.run(main())


def _raw(path: Path) -> tuple[list[object], list[object]]:
    """(NAV-PVT messages, GGA sentences) as pyubx2 parses them with errors ignored."""
    with path.open("rb") as stream:
        msgs = [p for _, p in UBXReader(stream, quitonerror=ERR_IGNORE) if p is not None]
    pvts = [m for m in msgs if getattr(m, "identity", "") == "NAV-PVT"]
    ggas = [m for m in msgs if getattr(m, "msgID", "") == "GGA"]
    return pvts, ggas


@pytest.mark.parametrize("name", FILES)
def test_every_capture_replays_to_the_expected_fixes(name: str) -> None:
    path = GPS_DATA / name
    fixes, gps = _replay(path)
    pvts, ggas = _raw(path)
    assert fixes, f"{name}: no fix at all"
    if pvts:
        tail = fixes[-len(pvts):]                  # NMEA before the first NAV-PVT may lead
        for fix, pvt in zip(tail, pvts, strict=True):
            assert fix.kind == KIND[pvt.fixType]
            assert fix.satellites == pvt.numSV
            assert fix.gnss_fix_ok == bool(pvt.gnssFixOk)
            if pvt.fixType == 0:
                assert fix.lat is None and fix.h_acc_m is None
            else:
                assert fix.lat == pytest.approx(pvt.lat, abs=1e-9)
                assert fix.lon == pytest.approx(pvt.lon, abs=1e-9)
                assert fix.h_acc_m == pytest.approx(pvt.hAcc / 1000)
            if pvt.validDate and pvt.validTime:
                assert fix.time is not None
                assert (fix.time.year, fix.time.month, fix.time.day) == (
                    pvt.year, pvt.month, pvt.day)
                assert (fix.time.hour, fix.time.minute) == (pvt.hour, pvt.min)
            assert fix.usable == (
                KIND[pvt.fixType] == "3d" and bool(pvt.gnssFixOk) and pvt.hAcc <= 50_000
            )
    else:
        assert len(fixes) == len(ggas)
        for fix, gga in zip(fixes, ggas, strict=True):
            if gga.quality in (0, 6, ""):
                assert fix.kind == "none" and fix.lat is None
            else:
                assert fix.kind in ("2d", "3d")
                assert fix.lat == pytest.approx(gga.lat)
                assert fix.lon == pytest.approx(gga.lon)
                assert fix.satellites == gga.numSV
    assert gps.last_fix == fixes[-1]


def test_synthetic_file_has_20_none_5_2d_35_3d_in_that_order() -> None:
    fixes, _ = _replay(GPS_DATA / "synthetic_navpvt_nofix_2d_3d_60s.ubx")
    assert [str(f.kind) for f in fixes] == ["none"] * 20 + ["2d"] * 5 + ["3d"] * 35
    assert not any(f.usable for f in fixes[:25])
    assert all(f.usable for f in fixes[25:])
    # no valid time before the first fix; then one epoch per second
    assert all(f.time is None for f in fixes[:20])
    times = [f.time for f in fixes[20:]]
    assert all(a is not None and b is not None and (b - a).total_seconds() == 1
               for a, b in itertools.pairwise(times))


def test_zed_f9t_is_time_only_and_never_usable() -> None:
    fixes, gps = _replay(GPS_DATA / "gpsd__test_daemon_ublox-zed-f9t-rtcm3.log")
    assert {str(f.kind) for f in fixes} == {"time"}
    assert not any(f.usable for f in fixes)
    assert gps.counters.by_identity.get("1005", 0) > 0   # RTCM3 frames were read too


def test_com3_capture_has_no_fix() -> None:
    fixes, _ = _replay(GPS_DATA / "pyubx2__examples_2023-4-17_82912_serial-COM3.ubx")
    assert {str(f.kind) for f in fixes} == {"none"}
    assert all(f.lat is None for f in fixes)


def test_neo_m8n_ubx_ends_with_a_truncated_frame_that_is_counted() -> None:
    fixes, gps = _replay(GPS_DATA / "gpsd__test_daemon_ublox-neo-m8n.log")
    assert len(fixes) == 24 and all(str(f.kind) == "3d" for f in fixes)
    assert gps.counters.truncated_frames == 1


def test_neo_m8n_nmea_only_falls_back_to_gga_rmc() -> None:
    fixes, _ = _replay(GPS_DATA / "gpsd__test_daemon_neo-m8n.log")
    last = fixes[-1]
    assert str(last.kind) == "3d" and last.time is not None
    assert last.time.date().isoformat() == "2015-03-18"    # from RMC; GGA has no date
    assert last.height_m == pytest.approx(1139.4)


def test_badck2_skips_and_counts_the_bad_checksum() -> None:
    fixes, gps = _replay(GPS_DATA / "pyubx2__tests_pygpsdata-BADCK2.log")
    assert gps.counters.bad_frames == 1
    assert len(fixes) == 1 and str(fixes[0].kind) == "3d"


def test_badck2_raises_at_the_third_message_with_the_raise_policy() -> None:
    with (GPS_DATA / "pyubx2__tests_pygpsdata-BADCK2.log").open("rb") as stream:
        reader = GnssReader(stream, ErrorPolicy.RAISE)
        seen = []
        with pytest.raises(FrameError, match="checksum"):
            for msg in reader.messages():
                seen.append(msg.identity)
    assert len(seen) == 2 and seen[0] == "NAV-PVT"


def test_replay_with_raise_policy_ends_fixes_with_frame_error() -> None:
    async def main() -> None:
        gps = UbloxGps(replay=str(GPS_DATA / "pyubx2__tests_pygpsdata-BADCK2.log"),
                       policy="raise")
        await gps.start()
        got = []
        with pytest.raises(FrameError):
            async for fix in gps.fixes():
                got.append(fix)
        assert len(got) == 1
        await gps.stop()

    asyncio.run(main())
