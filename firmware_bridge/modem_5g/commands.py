"""Quectel RM500Q / RM520N AT commands: the serving-cell and GNSS responses, as tables.

Source: Quectel "RG50xQ & RM5xxQ Series AT Commands Manual", AT+QENG="servingcell" (response
forms and examples per mode), and the Quectel GNSS application note, AT+QGPSLOC (response
`+QGPSLOC: <UTC>,<latitude>,<longitude>,<HDOP>,<altitude>,<fix>,<COG>,<spkm>,<spkn>,<date>,
<nsat>`; `+CME ERROR: 516` = "Not fixed now"). Field names are the manual's, verbatim.

The three `AT+QENG="servingcell"` forms:

  LTE:   +QENG: "servingcell",<state>,"LTE",<is_tdd>,<MCC>,<MNC>,<cellID>,<PCID>,<earfcn>,
         <freq_band_ind>,<UL_bandwidth>,<DL_bandwidth>,<TAC>,<RSRP>,<RSRQ>,<RSSI>,<SINR>,
         <CQI>,<tx_power>,<srxlev>
  EN-DC (5G NSA), three lines:
         +QENG: "servingcell",<state>
         +QENG: "LTE",<is_tdd>,<MCC>,... (the LTE fields above, from <is_tdd>)
         +QENG: "NR5G-NSA",<MCC>,<MNC>,<PCID>,<RSRP>,<SINR>,<RSRQ>,<ARFCN>,<band>,
         <NR_DL_bandwidth>,<scs>            (note: SINR before RSRQ, and no cell id)
  SA:    +QENG: "servingcell",<state>,"NR5G-SA",<duplex_mode>,<MCC>,<MNC>,<cellID>,<PCID>,
         <TAC>,<ARFCN>,<band>,<NR_DL_bandwidth>,<RSRP>,<RSRQ>,<SINR>,<scs>,<srxlev>

`cellID` and `TAC` are hexadecimal. A value the modem cannot measure is `-32768` (or `-`).
Older firmware stops the NR5G-NSA line after <RSRQ>; ARFCN and band are then unknown (0).
"""

from __future__ import annotations

from datetime import UTC, datetime

from firmware_bridge.bounds import cell_violation, fix_violation
from firmware_bridge.errors import FrameError
from firmware_bridge.types import CellMeasurement, Fix
from pocnet.gnss import FixKind

QENG_SERVINGCELL = 'AT+QENG="servingcell"'
QGPSLOC = "AT+QGPSLOC=2"  # mode 2: latitude/longitude in signed decimal degrees
QGPS_ON = "AT+QGPS=1"
ECHO_OFF = "ATE0"

NOT_AVAILABLE = -32768
CME_GNSS_SESSION_ONGOING = 504  # AT+QGPS=1 while GNSS is already on
CME_GNSS_SESSION_NOT_ACTIVE = 505  # AT+QGPSLOC while GNSS is off (e.g. after a modem reset)
CME_GNSS_NOT_FIXED = 516  # "Not fixed now"

FINAL_OK = "OK"
FINAL_ERROR = "ERROR"
CME_ERROR_PREFIX = "+CME ERROR:"

# Field positions after the tech name, per response form (the manual's names).
LTE_FIELDS = ("is_tdd", "MCC", "MNC", "cellID", "PCID", "earfcn", "freq_band_ind",
              "UL_bandwidth", "DL_bandwidth", "TAC", "RSRP", "RSRQ", "RSSI", "SINR", "CQI",
              "tx_power", "srxlev")
NR5G_SA_FIELDS = ("duplex_mode", "MCC", "MNC", "cellID", "PCID", "TAC", "ARFCN", "band",
                  "NR_DL_bandwidth", "RSRP", "RSRQ", "SINR", "scs", "srxlev")
NR5G_NSA_FIELDS = ("MCC", "MNC", "PCID", "RSRP", "SINR", "RSRQ", "ARFCN", "band",
                   "NR_DL_bandwidth", "scs")
NR5G_NSA_MIN_FIELDS = 6  # up to RSRQ

# tech name on the wire -> (field table, fields that must be present, CellMeasurement.tech)
FORMS: dict[str, tuple[tuple[str, ...], int, str]] = {
    "LTE": (LTE_FIELDS, LTE_FIELDS.index("SINR") + 1, "LTE"),
    "NR5G-SA": (NR5G_SA_FIELDS, NR5G_SA_FIELDS.index("SINR") + 1, "NR5G-SA"),
    "NR5G-NSA": (NR5G_NSA_FIELDS, NR5G_NSA_MIN_FIELDS, "NR5G-NSA"),
}

QGPSLOC_FIELDS = ("UTC", "latitude", "longitude", "HDOP", "altitude", "fix", "COG", "spkm",
                  "spkn", "date", "nsat")
QGPSLOC_FIX = {2: FixKind.TWO_D, 3: FixKind.THREE_D}


def final_result(line: str) -> tuple[bool, int | None] | None:
    """(ok, cme code) when `line` ends a response, else None."""
    if line == FINAL_OK:
        return True, None
    if line == FINAL_ERROR:
        return False, None
    if line.startswith(CME_ERROR_PREFIX):
        code = line[len(CME_ERROR_PREFIX):].strip()
        return False, int(code) if code.isdigit() else None
    return None


def split_fields(text: str) -> list[str]:
    """Comma-separated values with their double quotes removed (no field contains a comma)."""
    return [part.strip().strip('"') for part in text.split(",")]


def parse_servingcell(lines: list[str]) -> list[CellMeasurement]:
    """Measurements from an `AT+QENG="servingcell"` answer: [] while searching, 1 for LTE or
    SA, 2 for NSA (the LTE anchor, then the NR cell). Other lines (URCs, echo) are ignored."""
    cells: list[CellMeasurement] = []
    for line in lines:
        if not line.startswith("+QENG:"):
            continue
        fields = split_fields(line[len("+QENG:"):])
        if not fields[0]:
            raise FrameError(f"+QENG line without a type: {line!r}")
        if fields[0] == "servingcell":
            if len(fields) < 2:
                raise FrameError(f"servingcell line without state: {line!r}")
            fields = fields[2:]  # drop "servingcell",<state>; a tech may follow (LTE, SA)
            if not fields:
                continue  # SEARCH/LIMSRV, or the first line of the NSA form
        if fields[0] in FORMS:  # other technologies (WCDMA fallback ...) are not reported
            cells.append(_measurement(fields[0], fields[1:], line))
    return cells


def _measurement(tech: str, values: list[str], line: str) -> CellMeasurement:
    names, required, label = FORMS[tech]
    if len(values) < required:
        raise FrameError(f"{tech} line has {len(values)} fields, expected {required}: {line!r}")
    field = dict(zip(names, values, strict=False))
    try:
        cell = CellMeasurement(
            tech=label,
            mcc=_required(field["MCC"]),
            mnc=_required(field["MNC"]),
            cell_id=_required(field.get("cellID", "0"), base=16),
            pci=_required(field["PCID"]),
            arfcn=_required(field.get("earfcn", field.get("ARFCN", "0"))),
            band=_required(field.get("freq_band_ind", field.get("band", "0"))),
            rsrp_dbm=_measured(field["RSRP"]),
            rsrq_db=_measured(field["RSRQ"]),
            sinr_db=_measured(field["SINR"]),
        )
    except (ValueError, OverflowError) as exc:  # OverflowError: "inf" read as a measurement
        raise FrameError(f"{tech}: {exc} in {line!r}") from None
    if (reason := cell_violation(cell)) is not None:
        raise FrameError(f"{tech}: {reason} in {line!r}")
    return cell


def _required(text: str, base: int = 10) -> int:
    value = int(text, base)
    if value < 0:
        raise ValueError(f"negative identifier {text!r}")
    return value


def _measured(text: str) -> int | None:
    if text in ("", "-"):
        return None
    value = round(float(text))
    return None if value == NOT_AVAILABLE else value


def parse_qgpsloc(lines: list[str], uere_m: float | None = None) -> Fix:
    """The fix in an `AT+QGPSLOC=2` answer.

    The modem reports HDOP, not an accuracy: `h_acc_m` is HDOP x `uere_m` when the caller
    supplies a user-equivalent range error, else None (and the fix is then never "usable").
    """
    line = next((x for x in lines if x.startswith("+QGPSLOC:")), None)
    if line is None:
        raise FrameError(f"no +QGPSLOC line in {lines!r}")
    values = split_fields(line[len("+QGPSLOC:"):])
    if len(values) != len(QGPSLOC_FIELDS):
        raise FrameError(f"+QGPSLOC has {len(values)} fields, expected 11: {line!r}")
    f = dict(zip(QGPSLOC_FIELDS, values, strict=True))
    try:
        lat, lon = float(f["latitude"]), float(f["longitude"])
        hdop, fix_code = float(f["HDOP"]), int(f["fix"])
        time = datetime.strptime(f["date"] + f["UTC"].split(".")[0], "%d%m%y%H%M%S")
        fraction_us = round(float("0." + f["UTC"].split(".")[1]) * 1e6) if "." in f["UTC"] else 0
        fix = Fix(
            kind=QGPSLOC_FIX.get(fix_code, FixKind.NONE),
            lat=lat,
            lon=lon,
            height_m=float(f["altitude"]),
            h_acc_m=None if uere_m is None else hdop * uere_m,
            satellites=int(f["nsat"]),
            time=time.replace(microsecond=fraction_us, tzinfo=UTC),
            gnss_fix_ok=fix_code in QGPSLOC_FIX,
        )
    except ValueError as exc:
        raise FrameError(f"+QGPSLOC: {exc} in {line!r}") from None
    if (reason := fix_violation(fix)) is not None:
        raise FrameError(f"+QGPSLOC {reason}: {line!r}")
    return fix
