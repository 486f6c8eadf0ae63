"""Serving-cell measurements to the wire's CellMeasurement (reports.proto)."""

from __future__ import annotations

import pytest

from firmware_bridge.errors import FrameError
from firmware_bridge.modem_5g.coverage import cell_to_wire, cells_to_wire
from firmware_bridge.types import CellMeasurement
from pocnet.wire import reports_pb2

SA = CellMeasurement("NR5G-SA", 460, 1, 0x9013B004, 299, 633984, 78, -107, -13, 2)


def test_every_field_is_carried() -> None:
    msg = cell_to_wire(SA)
    assert msg.tech == reports_pb2.NR5G_SA
    assert (msg.mcc, msg.mnc, msg.cell_id, msg.pci, msg.arfcn, msg.band) == (
        460, 1, 0x9013B004, 299, 633984, 78)
    assert (msg.rsrp_dbm, msg.rsrq_db, msg.sinr_db) == (-107, -13, 2)
    again = reports_pb2.CellMeasurement.FromString(msg.SerializeToString())
    assert again == msg


def test_unmeasured_values_stay_unset_and_zero_is_kept() -> None:
    cell = CellMeasurement("NR5G-NSA", 460, 1, 0, 747, 627264, 78, None, 0, None)
    msg = cell_to_wire(cell)
    assert msg.tech == reports_pb2.NR5G_NSA
    assert not msg.HasField("rsrp_dbm") and not msg.HasField("sinr_db")
    assert msg.HasField("rsrq_db") and msg.rsrq_db == 0


def test_report_holds_the_list_in_order() -> None:
    lte = CellMeasurement("LTE", 460, 1, 0x5F1EA15, 12, 1650, 3, -99, -12, 11)
    report = reports_pb2.CoverageReport(cells=cells_to_wire([lte, SA]))
    assert [c.tech for c in report.cells] == [reports_pb2.LTE, reports_pb2.NR5G_SA]
    assert cells_to_wire([]) == []


@pytest.mark.parametrize(
    "cell",
    [
        CellMeasurement("WCDMA", 460, 1, 1, 1, 1, 1, None, None, None),
        CellMeasurement("LTE", 460, 1, 1, -1, 1, 1, None, None, None),
        CellMeasurement("LTE", 460, 1, 2**64, 1, 1, 1, None, None, None),
        CellMeasurement("LTE", 460, 1, 1, 1, 1, 1, -10**12, None, None),
    ],
)
def test_unrepresentable_cells_are_frame_errors(cell: CellMeasurement) -> None:
    with pytest.raises(FrameError):
        cell_to_wire(cell)
