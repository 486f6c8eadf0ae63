"""Serving-cell measurements as the wire's `CellMeasurement`, ready for a `CoverageReport`.

Pure conversion, no signing: the hotspot owns its key, adds the GPS fix and signs the report.
Measurements the modem could not take (None, from -32768) stay unset on the wire, which the
proto marks `optional`, so "not measured" never reads as 0 dBm.
"""

from __future__ import annotations

from firmware_bridge.bounds import cell_violation
from firmware_bridge.errors import FrameError
from firmware_bridge.types import CellMeasurement
from pocnet.wire import reports_pb2

# CellMeasurement.tech (the modem's own words) -> reports.proto CellTech.
TECH = {
    "LTE": reports_pb2.LTE,
    "NR5G-SA": reports_pb2.NR5G_SA,
    "NR5G-NSA": reports_pb2.NR5G_NSA,
}
_UINT32_MAX = 0xFFFF_FFFF
_UINT64_MAX = 0xFFFF_FFFF_FFFF_FFFF


def cell_to_wire(cell: CellMeasurement) -> reports_pb2.CellMeasurement:
    """One measurement; FrameError if it cannot be represented (unknown tech, out of range)."""
    tech = TECH.get(cell.tech)
    if tech is None:
        raise FrameError(f"unknown cell technology {cell.tech!r}")
    for name in ("mcc", "mnc", "pci", "arfcn", "band"):
        value = getattr(cell, name)
        if not 0 <= value <= _UINT32_MAX:
            raise FrameError(f"{name}={value} does not fit the report")
    if not 0 <= cell.cell_id <= _UINT64_MAX:
        raise FrameError(f"cell_id={cell.cell_id} does not fit the report")
    if (reason := cell_violation(cell)) is not None:
        raise FrameError(f"{reason}: {cell}")
    msg = reports_pb2.CellMeasurement(
        tech=tech,
        mcc=cell.mcc,
        mnc=cell.mnc,
        cell_id=cell.cell_id,
        pci=cell.pci,
        arfcn=cell.arfcn,
        band=cell.band,
    )
    if cell.rsrp_dbm is not None:
        msg.rsrp_dbm = cell.rsrp_dbm
    if cell.rsrq_db is not None:
        msg.rsrq_db = cell.rsrq_db
    if cell.sinr_db is not None:
        msg.sinr_db = cell.sinr_db
    return msg


def cells_to_wire(cells: list[CellMeasurement]) -> list[reports_pb2.CellMeasurement]:
    """Every measurement of one `serving_cells()` call, in the modem's order."""
    return [cell_to_wire(cell) for cell in cells]
