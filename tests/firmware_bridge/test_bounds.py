"""The physical bounds every driver applies, each tested exactly at its edges.

Expected edges come from the datasheets and standards cited in `firmware_bridge/bounds.py`
(thermal noise -174 dBm/Hz, +10 dBm absolute maximum RF input, SX127x RegPktSnrValue,
SX1276 137-1020 MHz, 255-byte LoRa payload, uint32 tmst, 3GPP TS 38.133 reporting ranges,
u-blox NAV-PVT field widths and 50 km operational altitude).
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from firmware_bridge.bounds import RxGate, cell_violation, fix_violation, rx_violation
from firmware_bridge.types import CellMeasurement, Fix, RxPacket
from pocnet.gnss import FixKind

GOOD = RxPacket(payload=b"x" * 52, freq_hz=868_100_000, datarate="SF12BW125", rssi_dbm=-97.0,
                snr_db=-3.5, received_ns=1_700_000_000_000_000_000, tmst_us=5)

# (field, lowest admitted, highest admitted, reason); the step beyond each edge is refused.
EDGES = [
    ("rssi_dbm", -174.0, 10.0, "rssi_out_of_range", 0.1),
    ("snr_db", -32.0, 32.0, "snr_out_of_range", 0.1),
    ("freq_hz", 137_000_000, 1_020_000_000, "freq_out_of_range", 1),
    ("received_ns", 0, 2**63 - 1, "timestamp_out_of_range", 1),
    ("tmst_us", 0, 2**32 - 1, "tmst_out_of_range", 1),
]


@pytest.mark.parametrize(("field", "lo", "hi", "reason", "step"), EDGES)
def test_each_bound_admits_its_edges_and_refuses_one_step_beyond(
    field: str, lo: float, hi: float, reason: str, step: float
) -> None:
    assert rx_violation(dataclasses.replace(GOOD, **{field: lo})) is None
    assert rx_violation(dataclasses.replace(GOOD, **{field: hi})) is None
    assert rx_violation(dataclasses.replace(GOOD, **{field: lo - step})) == reason
    assert rx_violation(dataclasses.replace(GOOD, **{field: hi + step})) == reason


@pytest.mark.parametrize("field", ["rssi_dbm", "snr_db"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e12])
def test_non_physical_floats_are_refused(field: str, value: float) -> None:
    assert rx_violation(dataclasses.replace(GOOD, **{field: value})) is not None


def test_payload_of_255_bytes_is_admitted_and_256_refused() -> None:
    assert rx_violation(dataclasses.replace(GOOD, payload=bytes(255))) is None
    assert rx_violation(dataclasses.replace(GOOD, payload=bytes(256))) == (
        "payload_size_out_of_range")


@pytest.mark.parametrize("datarate", ["SF13BW125", "sf12bw125", "SF12BW125 ", ""])
def test_a_datarate_the_report_cannot_carry_is_refused(datarate: str) -> None:
    assert rx_violation(dataclasses.replace(GOOD, datarate=datarate)) == "datarate_unknown"


@pytest.mark.parametrize("datarate", ["SF7BW125", "SF12BW125", "SF8BW500"])
def test_protocol_datarates_are_admitted(datarate: str) -> None:
    assert rx_violation(dataclasses.replace(GOOD, datarate=datarate)) is None


def test_gate_counts_refusals_by_reason() -> None:
    gate = RxGate()
    assert gate.admit(GOOD)
    assert not gate.admit(dataclasses.replace(GOOD, rssi_dbm=1e12))
    assert not gate.admit(dataclasses.replace(GOOD, rssi_dbm=-1e12))
    assert not gate.admit(dataclasses.replace(GOOD, snr_db=math.nan))
    assert gate.dropped == {"rssi_out_of_range": 2, "snr_out_of_range": 1}


CELL = CellMeasurement(tech="NR5G-SA", mcc=1, mnc=1, cell_id=1, pci=1, arfcn=1, band=78,
                       rsrp_dbm=-90, rsrq_db=-11, sinr_db=12)
CELL_EDGES = [("rsrp_dbm", -156, -31, "rsrp_out_of_range"),
              ("rsrq_db", -43, 20, "rsrq_out_of_range"),
              ("sinr_db", -23, 40, "sinr_out_of_range")]


@pytest.mark.parametrize(("field", "lo", "hi", "reason"), CELL_EDGES)
def test_cell_bounds_are_3gpp_reporting_ranges(field: str, lo: int, hi: int, reason: str) -> None:
    assert cell_violation(dataclasses.replace(CELL, **{field: lo})) is None
    assert cell_violation(dataclasses.replace(CELL, **{field: hi})) is None
    assert cell_violation(dataclasses.replace(CELL, **{field: None})) is None
    assert cell_violation(dataclasses.replace(CELL, **{field: lo - 1})) == reason
    assert cell_violation(dataclasses.replace(CELL, **{field: hi + 1})) == reason


FIX = Fix(kind=FixKind.THREE_D, lat=52.1, lon=5.3, height_m=10.0, h_acc_m=2.0, satellites=9)
FIX_EDGES = [("lat", -90.0, 90.0, "lat_out_of_range", 0.001),
             ("lon", -180.0, 180.0, "lon_out_of_range", 0.001),
             ("height_m", -1_000.0, 50_000.0, "height_out_of_range", 0.001),
             ("h_acc_m", 0.0, 4_294_967.295, "h_acc_out_of_range", 0.001),
             ("satellites", 0, 255, "satellites_out_of_range", 1)]


@pytest.mark.parametrize(("field", "lo", "hi", "reason", "step"), FIX_EDGES)
def test_fix_bounds(field: str, lo: float, hi: float, reason: str, step: float) -> None:
    assert fix_violation(dataclasses.replace(FIX, **{field: lo})) is None
    assert fix_violation(dataclasses.replace(FIX, **{field: hi})) is None
    assert fix_violation(dataclasses.replace(FIX, **{field: lo - step})) == reason
    assert fix_violation(dataclasses.replace(FIX, **{field: hi + step})) == reason
    if field != "satellites":
        assert fix_violation(dataclasses.replace(FIX, **{field: None})) is None
        assert fix_violation(dataclasses.replace(FIX, **{field: math.nan})) == reason
