"""Parsed u-blox messages -> `Fix`: UBX NAV-PVT first, NMEA GGA/RMC when there is no NAV-PVT.

`FixBuilder` is fed every parsed message in stream order and returns a `Fix` when an epoch is
complete: for each NAV-PVT, or (until the first NAV-PVT is seen) for each GGA. Once a
receiver has shown it sends NAV-PVT, its NMEA is ignored so one epoch never yields two fixes.

Sources: u-blox "u-blox 8 / M8 Receiver Description incl. Protocol Specification"
(UBX-13003221) §32.17.15 NAV-PVT (fixType 0 no fix, 1 dead reckoning only, 2 2D, 3 3D,
4 GNSS + dead reckoning, 5 time only; flags bit 0 gnssFixOK; hAcc in mm; hMSL in mm; valid
bits validDate/validTime); NMEA 0183 GGA (quality 0 = invalid, 6 = estimated), RMC (status A/V),
GSA (navMode 1/2/3), GST (lat/lon error standard deviations in metres).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from firmware_bridge.types import Fix
from pocnet.gnss import FixKind

# NAV-PVT fixType -> what owners see (4, GNSS + dead reckoning, is a 3D solution).
NAV_PVT_FIX_KIND: dict[int, FixKind] = {
    0: FixKind.NONE,
    1: FixKind.NONE,      # dead reckoning only: no satellite position
    2: FixKind.TWO_D,
    3: FixKind.THREE_D,
    4: FixKind.THREE_D,
    5: FixKind.TIME,
}
NMEA_NAV_MODE: dict[int, FixKind] = {1: FixKind.NONE, 2: FixKind.TWO_D, 3: FixKind.THREE_D}
# GGA carries no accuracy; without GST, horizontal accuracy is estimated as HDOP x UERE.
# 5 m is a typical single-frequency user-equivalent range error (Kaplan & Hegarty,
# "Understanding GPS/GNSS", 3rd ed., table 11.2 order of magnitude).
NMEA_UERE_M = 5.0
_GGA_NO_FIX = (0, 6)      # invalid, estimated (dead reckoning)


def fix_from_nav_pvt(msg: Any) -> Fix:
    """One NAV-PVT message (pyubx2 UBXMessage) as a Fix."""
    kind = NAV_PVT_FIX_KIND.get(int(msg.fixType), FixKind.NONE)
    has_position = kind is not FixKind.NONE
    return Fix(
        kind=kind,
        lat=float(msg.lat) if has_position else None,
        lon=float(msg.lon) if has_position else None,
        height_m=msg.hMSL / 1000.0 if kind in (FixKind.THREE_D, FixKind.TIME) else None,
        h_acc_m=msg.hAcc / 1000.0 if has_position else None,
        satellites=int(msg.numSV),
        time=_nav_pvt_time(msg),
        gnss_fix_ok=bool(msg.gnssFixOk),
    )


def _nav_pvt_time(msg: Any) -> datetime | None:
    if not (msg.validDate and msg.validTime):
        return None
    try:
        base = datetime(msg.year, msg.month, msg.day, msg.hour, msg.min, msg.second, tzinfo=UTC)
    except ValueError:
        return None
    # nano is the signed fraction of a second (-1e9..1e9) to add to the rounded UTC time.
    return base + timedelta(microseconds=msg.nano // 1000)


class FixBuilder:
    """Stateful: NMEA spreads one epoch over several sentences (RMC date, GSA mode, GST)."""

    def __init__(self) -> None:
        self.seen_nav_pvt = False
        self._date: date | None = None
        self._rmc_valid: bool | None = None
        self._nav_mode: int | None = None
        self._gst_h_acc_m: float | None = None

    def feed(self, msg: Any) -> Fix | None:
        identity = getattr(msg, "identity", "")
        if identity == "NAV-PVT":
            self.seen_nav_pvt = True
            return fix_from_nav_pvt(msg)
        if self.seen_nav_pvt or not hasattr(msg, "msgID"):
            return None
        kind = msg.msgID
        if kind == "RMC":
            if isinstance(msg.date, date):
                self._date = msg.date
            self._rmc_valid = msg.status == "A"
        elif kind == "GSA" and str(msg.navMode).isdigit():
            self._nav_mode = int(msg.navMode)
        elif kind == "GST":
            self._gst_h_acc_m = _gst_h_acc(msg)
        elif kind == "GGA":
            return self._from_gga(msg)
        return None

    def _from_gga(self, msg: Any) -> Fix:
        quality = int(msg.quality) if str(msg.quality).isdigit() else 0
        if quality in _GGA_NO_FIX or msg.lat == "" or msg.lon == "":
            kind = FixKind.NONE
        elif self._nav_mode in NMEA_NAV_MODE:
            kind = NMEA_NAV_MODE[self._nav_mode]
        else:
            kind = FixKind.THREE_D if msg.alt != "" else FixKind.TWO_D
        if kind is FixKind.NONE:
            # a receiver can report quality > 0 while GSA says no fix; trust the weaker
            return Fix(kind=FixKind.NONE, satellites=_int(msg.numSV), time=self._time(msg))
        h_acc = self._gst_h_acc_m
        if h_acc is None and isinstance(msg.HDOP, int | float):
            h_acc = round(float(msg.HDOP) * NMEA_UERE_M, 2)
        return Fix(
            kind=kind,
            lat=float(msg.lat),
            lon=float(msg.lon),
            height_m=float(msg.alt) if kind is FixKind.THREE_D and msg.alt != "" else None,
            h_acc_m=h_acc,
            satellites=_int(msg.numSV),
            time=self._time(msg),
            gnss_fix_ok=self._rmc_valid is not False,
        )

    def _time(self, msg: Any) -> datetime | None:
        day, clock = self._date, getattr(msg, "time", None)
        if day is None or not hasattr(clock, "hour"):
            return None
        return datetime.combine(day, clock).replace(tzinfo=UTC)


def _gst_h_acc(msg: Any) -> float | None:
    lat_sd, lon_sd = getattr(msg, "stdLat", ""), getattr(msg, "stdLong", "")
    if isinstance(lat_sd, int | float) and isinstance(lon_sd, int | float):
        return round(math.hypot(lat_sd, lon_sd), 2)
    return None


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int) or str(value).isdigit() else 0
