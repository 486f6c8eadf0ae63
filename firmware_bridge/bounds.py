"""Physical bounds of every value a driver hands over: one table, applied by every driver.

A radio, GPS or modem is input from the outside world: a faulty module, a hostile packet
forwarder on the UDP port or a noisy UART can print any number. A value outside what the
hardware can physically measure is not a measurement, and passed on it overflows the wire's
int32/uint32 fields downstream (an RSSI of 1e12 dBm once ended the hotspot). So each driver
passes every frame through `RxGate` before delivering it; a frame outside the table is
dropped and counted under its reason, never raised. The hotspot's witnesser applies the same
rule again before it builds a report (`rx_violation`), so there is one rule in two places.

Sources of the limits, per row below.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from firmware_bridge.types import CellMeasurement, Fix, RxPacket
from pocnet.wire import reports_pb2


@dataclass(frozen=True, slots=True)
class Bound:
    """`lo <= value <= hi` for the attribute `field`; a violation is counted as `reason`."""

    field: str
    lo: float
    hi: float
    reason: str


# RxPacket, as every Radio driver delivers it.
RX_BOUNDS: tuple[Bound, ...] = (
    # Thermal noise density at 290 K is -174 dBm/Hz; no receiver measures a signal below it.
    # Above +10 dBm (absolute maximum RF input of SX1276 / SX1261 / SX1302 / SX1250, their
    # datasheets' "absolute maximum ratings") the front end is destroyed, not measuring.
    Bound("rssi_dbm", -174.0, 10.0, "rssi_out_of_range"),
    # SX127x report packet SNR as a signed byte of quarter dB (RegPktSnrValue, -32 .. +31.75);
    # no LoRa chip reports beyond it, and demodulation ends near -20 dB (SF12).
    Bound("snr_db", -32.0, 32.0, "snr_out_of_range"),
    # LoRa sub-GHz silicon tunes 137 .. 1020 MHz (SX1276 datasheet §1, the widest of them).
    Bound("freq_hz", 137_000_000, 1_020_000_000, "freq_out_of_range"),
    # LoRa's largest payload is 255 bytes (the SX127x / SX126x FIFO, PayloadLength register).
    Bound("payload_size", 0, 255, "payload_size_out_of_range"),
    # The wire's uint64 `timestamp` (ns since the Unix epoch), signed int64 on the host.
    Bound("received_ns", 0, (1 << 63) - 1, "timestamp_out_of_range"),
    # The concentrator's free-running 32-bit microsecond counter (the wire's uint32 `tmst`).
    Bound("tmst_us", 0, (1 << 32) - 1, "tmst_out_of_range"),
)
# The datarates docs/protocol.md §2's DataRate enum can carry; any other name cannot be reported.
RX_DATARATES = frozenset(reports_pb2.DataRate.keys())
DATARATE_REASON = "datarate_unknown"

# CellMeasurement signal fields (None = not measured is always fine). Reporting ranges of
# 3GPP TS 38.133 §10.1 (NR SS-RSRP -156 .. -31 dBm, SS-RSRQ -43 .. 20 dB, SS-SINR -23 .. 40
# dB); LTE's (TS 36.133 §9.1: RSRP -140 .. -44, RSRQ -34 .. 2.5) lie inside them.
CELL_BOUNDS: tuple[Bound, ...] = (
    Bound("rsrp_dbm", -156, -31, "rsrp_out_of_range"),
    Bound("rsrq_db", -43, 20, "rsrq_out_of_range"),
    Bound("sinr_db", -23, 40, "sinr_out_of_range"),
)


# Fix, as a GNSS receiver or a modem's GNSS reports it (None = not known is always fine). A
# value outside these overflows the report's GpsFix (sint32 mm, uint32) or is no position.
FIX_BOUNDS: tuple[Bound, ...] = (
    Bound("lat", -90.0, 90.0, "lat_out_of_range"),
    Bound("lon", -180.0, 180.0, "lon_out_of_range"),
    # The lowest land is the Dead Sea shore, -430 m, and the geoid lies within about 110 m of
    # the ellipsoid; u-blox receivers stop at 50 km altitude ("operational limits" in the
    # M8/M9/M10 datasheets).
    Bound("height_m", -1_000.0, 50_000.0, "height_out_of_range"),
    # NAV-PVT hAcc is a U4 in mm (UBX-13003221 §32.17.15), the wire's uint32 h_acc_mm.
    Bound("h_acc_m", 0.0, 4_294_967.295, "h_acc_out_of_range"),
    # NAV-PVT numSV is a U1.
    Bound("satellites", 0, 255, "satellites_out_of_range"),
)


def _value(record: object, field: str) -> object:
    if field == "payload_size":
        return len(record.payload)  # type: ignore[attr-defined]
    return getattr(record, field)


def _outside(bound: Bound, value: object) -> bool:
    """True also for NaN and for anything that is not a number (a driver's bug)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True
    return not bound.lo <= value <= bound.hi


def rx_violation(packet: RxPacket) -> str | None:
    """The reason `packet` is not a physical measurement, or None when it is one."""
    for bound in RX_BOUNDS:
        if _outside(bound, _value(packet, bound.field)):
            return bound.reason
    if packet.datarate not in RX_DATARATES:
        return DATARATE_REASON
    return None


def _optional_violation(record: object, bounds: tuple[Bound, ...]) -> str | None:
    for bound in bounds:
        value = getattr(record, bound.field)
        if value is not None and _outside(bound, value):
            return bound.reason
    return None


def cell_violation(cell: CellMeasurement) -> str | None:
    """The reason a serving-cell measurement is not physical, or None."""
    return _optional_violation(cell, CELL_BOUNDS)


def fix_violation(fix: Fix) -> str | None:
    """The reason a GNSS fix is not a position on or above the Earth, or None."""
    return _optional_violation(fix, FIX_BOUNDS)


class RxGate:
    """A driver's door for received frames: admits physical ones, counts the rest by reason.

    `dropped` is the driver's public tally (the hotspot exports it as a metric); a driver may
    add its own decoding failures to it, so one counter says what the driver threw away.
    """

    def __init__(self) -> None:
        self.dropped: Counter[str] = Counter()

    def admit(self, packet: RxPacket) -> bool:
        reason = rx_violation(packet)
        if reason is None:
            return True
        self.dropped[reason] += 1
        return False
