"""A virtual u-blox receiver on a pseudo-terminal: UBX NAV-PVT plus NMEA GGA/RMC each epoch.

What it reports follows a `UbloxScript`: no fix until `acquire_after_s`, a 2D period, then 3D;
optionally a loss of fix and a steady drift of the position. Time is the epoch count, not the
wall clock: `step()` emits the next epoch, so tests advance the receiver without sleeping,
and `run()` steps at `rate_hz` epochs per wall-clock second (faster than 1 Hz to fast-forward;
0 leaves stepping to the caller).
Configuration messages sent to it (CFG-VALSET, CFG-MSG, CFG-RATE) are acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pynmeagps import NMEAMessage
from pyubx2 import GET, UBXMessage, UBXMessageError, UBXParseError, UBXReader, UBXTypeError

from firmware_bridge.gps_time import GPS_EPOCH, GPS_UTC_LEAP_S
from pocnet.cli import number
from sim_radio.air import Air
from sim_radio.pty_device import PtyDevice

_METRES_PER_DEG_LAT = 111_320.0
_FIX_TYPE = {"none": 0, "2d": 2, "3d": 3}


@dataclass(frozen=True)
class UbloxScript:
    """The receiver's story, in seconds since it was switched on."""

    lat: float = 52.3676
    lon: float = 4.9041
    height_m: float = 12.0
    acquire_after_s: float = 5.0        # no fix before this
    two_d_for_s: float = 2.0            # then a 2D fix for this long, then 3D
    lose_at_s: float | None = None      # fix lost at this time ...
    lose_for_s: float = 10.0            # ... for this long
    drift_m_per_s: float = 0.0          # northward drift of the reported position
    h_acc_m: float = 2.5
    satellites: int = 12
    start: datetime = field(default_factory=lambda: datetime(2025, 1, 1, tzinfo=UTC))

    def fix_at(self, t_s: float) -> str:
        if t_s < self.acquire_after_s:
            return "none"
        if self.lose_at_s is not None and self.lose_at_s <= t_s < self.lose_at_s + self.lose_for_s:
            return "none"
        return "2d" if t_s < self.acquire_after_s + self.two_d_for_s else "3d"

    def position_at(self, t_s: float) -> tuple[float, float]:
        return self.lat + self.drift_m_per_s * t_s / _METRES_PER_DEG_LAT, self.lon


def epoch_messages(script: UbloxScript, epoch: int, nmea: bool = True) -> list[bytes]:
    """The frames a receiver emits for one 1 Hz epoch (NAV-PVT, then GGA and RMC)."""
    t_s = float(epoch)
    kind = script.fix_at(t_s)
    fix_type = _FIX_TYPE[kind]
    lat, lon = script.position_at(t_s) if fix_type else (0.0, 0.0)
    when = script.start + timedelta(seconds=epoch)
    gps_s = (when - GPS_EPOCH).total_seconds() + GPS_UTC_LEAP_S
    h_acc_mm = round(script.h_acc_m * 1000) if fix_type else 0xFFFFFFFF
    pvt = UBXMessage(
        "NAV", "NAV-PVT", GET,
        iTOW=int(gps_s % (7 * 86400) * 1000),
        year=when.year, month=when.month, day=when.day,
        hour=when.hour, min=when.minute, second=when.second,
        validDate=1, validTime=1, fullyResolved=1,
        fixType=fix_type, gnssFixOk=1 if fix_type else 0,
        numSV=script.satellites if fix_type else 0,
        lat=lat, lon=lon,
        height=round(script.height_m * 1000) if fix_type == 3 else 0,
        hMSL=round(script.height_m * 1000) if fix_type == 3 else 0,
        hAcc=h_acc_mm, vAcc=h_acc_mm,
    )
    frames = [pvt.serialize()]
    if nmea:
        frames += _nmea(kind, lat, lon, script, when)
    return frames


def _nmea(kind: str, lat: float, lon: float, script: UbloxScript, when: datetime) -> list[bytes]:
    fixed = kind != "none"
    position = {
        "lat": lat if fixed else "", "NS": ("N" if lat >= 0 else "S") if fixed else "",
        "lon": lon if fixed else "", "EW": ("E" if lon >= 0 else "W") if fixed else "",
    }
    gga = NMEAMessage(
        "GN", "GGA", GET, time=when.time(), quality=1 if fixed else 0,
        numSV=script.satellites if fixed else 0, HDOP=round(script.h_acc_m / 5.0, 2),
        alt=script.height_m if kind == "3d" else "", altUnit="M", sep=0.0, sepUnit="M",
        **position,
    )
    rmc = NMEAMessage(
        "GN", "RMC", GET, time=when.time(), status="A" if fixed else "V", spd=0.0,
        date=when.date(), posMode="A" if fixed else "N", **position,
    )
    return [gga.serialize(), rmc.serialize()]


class UbloxDevice(PtyDevice):
    """Streams epochs on a pty; `step()` for tests, `run()` for the `pocnet-sim device`."""

    def __init__(self, script: UbloxScript | None = None, rate_hz: float = 1.0,
                 nmea: bool = True) -> None:
        super().__init__()
        if rate_hz < 0 or not math.isfinite(rate_hz):
            raise ValueError("rate_hz must be >= 0 (0: only step() emits epochs)")
        self.script = script or UbloxScript()
        self.rate_hz = rate_hz
        self.nmea = nmea
        self.epoch = 0
        self.configured: list[str] = []
        self._inbox = bytearray()

    def step(self, epochs: int = 1) -> bytes:
        """Emit the next `epochs` epochs to the pty; returns the bytes written."""
        out = b""
        for _ in range(epochs):
            out += b"".join(epoch_messages(self.script, self.epoch, self.nmea))
            self.epoch += 1
        self.write(out)
        return out

    async def run(self) -> None:
        ticker = asyncio.create_task(self._tick()) if self.rate_hz > 0 else None
        try:
            await super().run()
        finally:
            if ticker is not None:
                ticker.cancel()

    async def _tick(self) -> None:
        while True:
            self.step()
            await asyncio.sleep(1.0 / self.rate_hz)

    def on_bytes(self, data: bytes) -> None:
        """Acknowledge each UBX CFG message the host sends, as the receiver does."""
        self._inbox += data
        while (start := self._inbox.find(b"\xb5\x62")) >= 0 and len(self._inbox) >= start + 8:
            length = int.from_bytes(self._inbox[start + 4:start + 6], "little")
            end = start + 8 + length
            if len(self._inbox) < end:
                break
            frame, self._inbox = bytes(self._inbox[start:end]), self._inbox[end:]
            try:
                msg = UBXReader.parse(frame, msgmode=1)  # SET: host -> receiver
            except (UBXParseError, UBXMessageError, UBXTypeError):  # NAKed, like a receiver
                self.write(UBXMessage("ACK", "ACK-NAK", GET, clsID=frame[2],
                                      msgID=frame[3]).serialize())
                continue
            self.configured.append(msg.identity)
            self.write(UBXMessage("ACK", "ACK-ACK", GET, clsID=frame[2],
                                  msgID=frame[3]).serialize())
        del self._inbox[:-4096]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lat", type=number(-90, 90), default=52.3676, help="latitude, degrees")
    parser.add_argument("--lon", type=number(-180, 180), default=4.9041, help="longitude, degrees")
    parser.add_argument("--height-m", type=number(), default=12.0, help="height above MSL, m")
    parser.add_argument("--acquire-after-s", type=number(), default=5.0,
                        help="seconds without a fix after start (default 5)")
    parser.add_argument("--lose-at-s", type=number(), default=None,
                        help="lose the fix at this time")
    parser.add_argument("--lose-for-s", type=number(), default=10.0, help="... for this long")
    parser.add_argument("--drift-m-per-s", type=number(), default=0.0, help="northward drift")
    parser.add_argument("--h-acc-m", type=number(), default=2.5, help="horizontal accuracy, m")
    parser.add_argument("--rate", type=number(), default=1.0,
                        help="epochs per wall-clock second (default 1; higher fast-forwards)")
    parser.add_argument("--no-nmea", action="store_true", help="UBX NAV-PVT only")


async def serve(args: argparse.Namespace, air: Air | None, ready: Callable[[str], None]) -> None:
    del air  # a GNSS receiver does not use the radio medium
    script = UbloxScript(
        lat=args.lat, lon=args.lon, height_m=args.height_m,
        acquire_after_s=args.acquire_after_s, lose_at_s=args.lose_at_s,
        lose_for_s=args.lose_for_s, drift_m_per_s=args.drift_m_per_s, h_acc_m=args.h_acc_m,
    )
    device = UbloxDevice(script, rate_hz=args.rate, nmea=not args.no_nmea)
    ready(device.path)
    await device.run()
