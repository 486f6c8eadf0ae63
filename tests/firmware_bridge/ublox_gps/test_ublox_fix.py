"""NAV-PVT and NMEA -> Fix, on messages built with pyubx2 / pynmeagps."""

from __future__ import annotations

import datetime as dt

import pytest
from pynmeagps import NMEAMessage
from pyubx2 import GET, UBXMessage, UBXReader

from firmware_bridge.ublox_gps.fix import FixBuilder, fix_from_nav_pvt


def _pvt(**fields: object) -> object:
    base = dict(year=2025, month=3, day=4, hour=5, min=6, second=7, validDate=1, validTime=1,
                fixType=3, gnssFixOk=1, numSV=9, lat=48.1, lon=11.5, hMSL=520_000,
                hAcc=12_345, nano=-250_000_000)
    base.update(fields)
    return UBXReader.parse(UBXMessage("NAV", "NAV-PVT", GET, **base).serialize())


@pytest.mark.parametrize(
    ("fix_type", "kind"), [(0, "none"), (1, "none"), (2, "2d"), (3, "3d"), (4, "3d"), (5, "time")]
)
def test_nav_pvt_fix_types(fix_type: int, kind: str) -> None:
    assert str(fix_from_nav_pvt(_pvt(fixType=fix_type)).kind) == kind


def test_nav_pvt_fields_and_units() -> None:
    fix = fix_from_nav_pvt(_pvt())
    assert fix.lat == pytest.approx(48.1) and fix.lon == pytest.approx(11.5)
    assert fix.height_m == pytest.approx(520.0)
    assert fix.h_acc_m == pytest.approx(12.345)          # mm -> m
    assert fix.satellites == 9 and fix.gnss_fix_ok
    # nano is signed: 05:06:07 - 0.25 s
    assert fix.time == dt.datetime(2025, 3, 4, 5, 6, 6, 750_000, tzinfo=dt.UTC)
    assert fix.usable


def test_usability_gates() -> None:
    assert not fix_from_nav_pvt(_pvt(gnssFixOk=0)).usable
    assert not fix_from_nav_pvt(_pvt(hAcc=50_001)).usable
    assert fix_from_nav_pvt(_pvt(hAcc=50_000)).usable
    assert not fix_from_nav_pvt(_pvt(fixType=2)).usable
    assert fix_from_nav_pvt(_pvt(validTime=0)).time is None


def _nmea(msg_id: str, **fields: object) -> object:
    return NMEAMessage("GN", msg_id, GET, **fields)


def _gga(quality: int = 1, alt: object = 100.0, hdop: float = 1.2) -> object:
    return _nmea("GGA", time=dt.time(10, 0, 1), lat=52.0, NS="N", lon=4.0, EW="E",
                 quality=quality, numSV=7, HDOP=hdop, alt=alt, altUnit="M", sep=0, sepUnit="M")


def test_nmea_fallback_combines_rmc_date_and_gga() -> None:
    b = FixBuilder()
    assert b.feed(_nmea("RMC", time=dt.time(10, 0, 1), status="A", lat=52.0, NS="N",
                        lon=4.0, EW="E", date=dt.date(2024, 2, 29))) is None
    fix = b.feed(_gga())
    assert fix is not None and str(fix.kind) == "3d"
    assert fix.time == dt.datetime(2024, 2, 29, 10, 0, 1, tzinfo=dt.UTC)
    assert fix.h_acc_m == pytest.approx(6.0)              # HDOP 1.2 x 5 m
    assert fix.height_m == 100.0 and fix.satellites == 7 and fix.usable


def test_nmea_gsa_mode_gst_accuracy_and_invalid_rmc() -> None:
    b = FixBuilder()
    b.feed(_nmea("GSA", opMode="A", navMode=2))
    b.feed(_nmea("GST", time=dt.time(10, 0, 1), stdLat=3.0, stdLong=4.0))
    b.feed(_nmea("RMC", time=dt.time(10, 0, 1), status="V", date=dt.date(2024, 1, 1)))
    fix = b.feed(_gga())
    assert fix is not None and str(fix.kind) == "2d" and fix.height_m is None
    assert fix.h_acc_m == pytest.approx(5.0)              # hypot(3, 4) from GST
    assert not fix.gnss_fix_ok and not fix.usable


def test_nmea_no_fix_and_dead_reckoning() -> None:
    for quality in (0, 6):
        fix = FixBuilder().feed(_gga(quality=quality))
        assert fix is not None and str(fix.kind) == "none" and fix.lat is None


def test_nmea_is_ignored_once_nav_pvt_is_seen() -> None:
    b = FixBuilder()
    assert b.feed(_gga()) is not None
    assert b.feed(_pvt()) is not None
    assert b.feed(_gga()) is None
