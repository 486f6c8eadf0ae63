"""AT+QENG / AT+QGPSLOC parsing against the examples printed in Quectel's manuals.

Examples: "RG50xQ & RM5xxQ Series AT Commands Manual", AT+QENG="servingcell" (LTE, EN-DC and
SA examples), and the Quectel GNSS manual's AT+QGPSLOC=2 example.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from firmware_bridge.errors import FrameError
from firmware_bridge.modem_5g import commands as at
from firmware_bridge.types import CellMeasurement
from pocnet.gnss import FixKind

MANUAL_LTE = ['+QENG: "servingcell","NOCONN","LTE","FDD",460,01,5F1EA15,12,1650,3,5,5,DE10,'
              '-100,-12,-68,11,-,-,27']
MANUAL_NSA = ['+QENG: "servingcell","NOCONN"',
              '+QENG: "LTE","FDD",460,01,5F1EA15,12,1650,3,5,5,DE10,-99,-12,-67,11,9,230,-',
              '+QENG:"NR5G-NSA",460,01,747,-71,13,-11,627264,78,12,1']
MANUAL_SA = ['+QENG: "servingcell","NOCONN","NR5G-SA","TDD",460,01,9013B004,299,690E0F,633984,'
             '78,12,-107,-13,2,1,-']
LTE_CELL = CellMeasurement("LTE", 460, 1, 0x5F1EA15, 12, 1650, 3, -100, -12, 11)


def test_manual_lte_example() -> None:
    assert at.parse_servingcell(MANUAL_LTE) == [LTE_CELL]


def test_manual_nsa_example_orders_rsrp_sinr_rsrq() -> None:
    lte, nr = at.parse_servingcell(MANUAL_NSA)
    assert lte == CellMeasurement("LTE", 460, 1, 0x5F1EA15, 12, 1650, 3, -99, -12, 11)
    assert nr == CellMeasurement("NR5G-NSA", 460, 1, 0, 747, 627264, 78,
                                 rsrp_dbm=-71, rsrq_db=-11, sinr_db=13)


def test_manual_sa_example() -> None:
    assert at.parse_servingcell(MANUAL_SA) == [
        CellMeasurement("NR5G-SA", 460, 1, 0x9013B004, 299, 633984, 78, -107, -13, 2)]


def test_not_available_values_become_none() -> None:
    sa = MANUAL_SA[0].replace("-107,-13,2", "-32768,-13,-32768")
    (cell,) = at.parse_servingcell([sa])
    assert (cell.rsrp_dbm, cell.rsrq_db, cell.sinr_db) == (None, -13, None)
    nsa = [*MANUAL_NSA[:2], '+QENG:"NR5G-NSA",460,01,747,-32768,-32768,-32768,627264,78,12,1']
    assert at.parse_servingcell(nsa)[1].rsrp_dbm is None
    lte = MANUAL_LTE[0].replace("-68,11,", "-68,-,")
    assert at.parse_servingcell([lte])[0].sinr_db is None


def test_searching_and_noise_lines() -> None:
    assert at.parse_servingcell(['+QENG: "servingcell","SEARCH"']) == []
    assert at.parse_servingcell(["RDY", "+QIND: SMS DONE", *MANUAL_LTE, "junk"]) == [LTE_CELL]


def test_older_firmware_nsa_line_without_arfcn_and_band() -> None:
    short = [*MANUAL_NSA[:2], '+QENG: "NR5G-NSA",460,01,747,-71,13,-11']
    nr = at.parse_servingcell(short)[1]
    assert (nr.arfcn, nr.band, nr.rsrp_dbm, nr.sinr_db, nr.rsrq_db) == (0, 0, -71, 13, -11)


@pytest.mark.parametrize(
    "lines",
    [
        ['+QENG: "servingcell","NOCONN","LTE","FDD",460,01'],                # truncated
        ['+QENG: "NR5G-NSA",460,01,747,-71'],                               # truncated NSA
        [MANUAL_SA[0].replace("9013B004", "XYZ")],                          # cell id not hex
        [MANUAL_LTE[0].replace(",12,1650,", ",-5,1650,")],                   # negative PCI
        [MANUAL_LTE[0].replace("-100,", "strong,")],                        # RSRP not a number
        ["+QENG:"],
    ],
)
def test_malformed_servingcell_is_a_frame_error(lines: list[str]) -> None:
    with pytest.raises(FrameError):
        at.parse_servingcell(lines)


def test_qgpsloc_mode_2() -> None:
    fix = at.parse_qgpsloc(
        ["+QGPSLOC: 061951.000,31.82240,117.11578,0.7,79.7,3,0.00,0.0,0.0,110513,09"])
    assert fix.kind is FixKind.THREE_D and fix.gnss_fix_ok
    assert (fix.lat, fix.lon, fix.height_m, fix.satellites) == (31.8224, 117.11578, 79.7, 9)
    assert fix.time == datetime(2013, 5, 11, 6, 19, 51, tzinfo=UTC)
    assert fix.h_acc_m is None and not fix.usable  # HDOP is not an accuracy


def test_qgpsloc_accuracy_from_hdop_when_uere_given() -> None:
    fix = at.parse_qgpsloc(
        ["+QGPSLOC: 202008.5,-22.98486,-43.35916,2.5,4.0,2,0.00,0.0,0.0,290119,09"], uere_m=4.0)
    assert fix.kind is FixKind.TWO_D and fix.h_acc_m == 10.0 and not fix.usable
    assert fix.time == datetime(2019, 1, 29, 20, 20, 8, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    "lines",
    [
        [],
        ["+QGPSLOC: 061951.000,31.82240,117.11578"],
        ["+QGPSLOC: 061951.000,north,117.11578,0.7,79.7,3,0.00,0.0,0.0,110513,09"],
        ["+QGPSLOC: 061951.000,131.8,117.11578,0.7,79.7,3,0.00,0.0,0.0,110513,09"],
        ["+QGPSLOC: 061951.000,31.8,117.1,0.7,79.7,3,0.00,0.0,0.0,321399,09"],
    ],
)
def test_malformed_qgpsloc_is_a_frame_error(lines: list[str]) -> None:
    with pytest.raises(FrameError):
        at.parse_qgpsloc(lines)


def test_final_result_codes() -> None:
    assert at.final_result("OK") == (True, None)
    assert at.final_result("ERROR") == (False, None)
    assert at.final_result("+CME ERROR: 516") == (False, 516)
    assert at.final_result("+CME ERROR: SIM not inserted") == (False, None)
    assert at.final_result("+QENG: x") is None


@pytest.mark.parametrize(("measured", "reason"), [
    ("1e400,-13,2", "OverflowError"),        # inf: escaped as OverflowError before issue 10
    ("inf,-13,2", "OverflowError"),
    ("-157,-13,2", "rsrp_out_of_range"),     # TS 38.133 SS-RSRP ends at -156 dBm
    ("-107,21,2", "rsrq_out_of_range"),      # ... SS-RSRQ at 20 dB
    ("-107,-13,41", "sinr_out_of_range"),    # ... SS-SINR at 40 dB
    ("-107,-13,99999999999", "sinr_out_of_range"),
])
def test_out_of_range_modem_values_are_one_frame_error(measured: str, reason: str) -> None:
    sa = MANUAL_SA[0].replace("-107,-13,2", measured)
    with pytest.raises(FrameError, match=reason if "range" in reason else "SA"):
        at.parse_servingcell([sa])


def test_measurements_at_the_3gpp_edges_are_kept() -> None:
    (cell,) = at.parse_servingcell([MANUAL_SA[0].replace("-107,-13,2", "-156,20,-23")])
    assert (cell.rsrp_dbm, cell.rsrq_db, cell.sinr_db) == (-156, 20, -23)


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("79.7", "1e12", "height_out_of_range"),    # overflowed the report's sint32 height_mm
    ("79.7", "nan", "height_out_of_range"),
    (",09", ",99999999999", "satellites_out_of_range"),
])
def test_qgpsloc_outside_physical_bounds_is_a_frame_error(field: str, value: str,
                                                         reason: str) -> None:
    line = "+QGPSLOC: 061951.000,31.82240,117.11578,0.7,79.7,3,0.00,0.0,0.0,110513,09"
    with pytest.raises(FrameError, match=reason):
        at.parse_qgpsloc([line.replace(field, value)], uere_m=4.0)
