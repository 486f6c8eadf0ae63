"""A virtual Quectel RM500Q / RM520N 5G modem on a pseudo-terminal.

Answers the AT commands a coverage reader uses, in the forms of Quectel's "RG50xQ & RM5xxQ
Series AT Commands Manual": `AT+QENG="servingcell"` in the LTE, 5G NSA (three lines, the NR
line written `+QENG:"NR5G-NSA"` without a space, as in the manual's example) and 5G SA forms,
the GNSS commands (`AT+QGPS`, `AT+QGPSEND`, `AT+QGPSLOC=2` with `+CME ERROR: 516` until the
scripted fix), echo on until `ATE0`, and `ERROR` for any other AT command. Like a real modem it
ignores input that does not start with "AT". The expected responses are built from the
manual's field tables in `firmware_bridge.modem_5g.commands`, so both sides share one source.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from firmware_bridge.modem_5g import commands as at
from pocnet.cli import integer, number
from sim_radio.air import Air
from sim_radio.pty_device import PtyLineDevice

MODES = ("sa", "nsa", "lte", "search")
DEFAULT_LAT, DEFAULT_LON = 45.18806, 5.72452


@dataclass(frozen=True, slots=True)
class CellValues:
    """One cell as the modem prints it; `cell_id`/`tac` are hex strings like the manual's."""

    cell_id: str
    pci: int
    arfcn: int
    band: int
    rsrp: int
    rsrq: int
    sinr: int
    tac: str = "A800"
    rssi: int = -66


@dataclass(frozen=True, slots=True)
class QuectelConfig:
    mode: str = "sa"
    state: str = "NOCONN"
    model: str = "RM520N-GL"
    revision: str = "RM520NGLAAR03A03M4G"
    mcc: int = 310
    mnc: int = 260
    lte: CellValues = CellValues("1C3C70B", 126, 854, 2, -94, -11, 15, tac="A800")
    nr: CellValues = CellValues("105FB012D", 153, 501390, 41, -76, -10, 26, tac="A80000")
    unavailable: frozenset[str] = field(default_factory=frozenset)  # e.g. {"SINR"}: -32768
    fix_after_queries: int = 2  # AT+QGPSLOC answers 516 this many times first
    lat: float = DEFAULT_LAT
    lon: float = DEFAULT_LON
    alt_m: float = 212.4
    hdop: float = 0.8
    satellites: int = 9


class QuectelDevice(PtyLineDevice):
    """The modem's state: echo, GNSS on/off and how often the position was asked for."""

    def __init__(self, config: QuectelConfig, now_ns: Callable[[], int] = time.time_ns) -> None:
        super().__init__()
        if config.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.config = config
        self.now_ns = now_ns
        self.echo = True
        self.gnss_on = False
        self.loc_queries = 0

    def handle_line(self, line: str) -> None:
        if not line[:2].upper() == "AT":
            return
        if self.echo:
            self.send_line(line)
        for answer in self.respond(line):
            self.send_line(answer)

    def respond(self, line: str) -> list[str]:
        """The lines the modem writes for one command, final result code included."""
        command = line.strip().upper()
        if command in ("AT", "ATE0", "ATE1"):
            self.echo = self.echo if command == "AT" else command == "ATE1"
            return [at.FINAL_OK]
        if command == "ATI":
            return ["Quectel", self.config.model, f"Revision: {self.config.revision}", "OK"]
        if command == at.QENG_SERVINGCELL.upper():
            return [*self.servingcell_lines(), at.FINAL_OK]
        if command == at.QGPS_ON:
            if self.gnss_on:
                return [_cme(at.CME_GNSS_SESSION_ONGOING)]
            self.gnss_on = True
            return [at.FINAL_OK]
        if command == "AT+QGPS?":
            return [f"+QGPS: {int(self.gnss_on)}", at.FINAL_OK]
        if command == "AT+QGPSEND":
            was_on, self.gnss_on = self.gnss_on, False
            return [at.FINAL_OK] if was_on else [_cme(at.CME_GNSS_SESSION_NOT_ACTIVE)]
        if command == at.QGPSLOC:
            return self._location()
        return [at.FINAL_ERROR]

    def servingcell_lines(self) -> list[str]:
        c = self.config
        head = f'+QENG: "servingcell","{c.state}"'
        if c.mode == "search":
            return ['+QENG: "servingcell","SEARCH"']
        if c.mode == "sa":
            n = c.nr
            return [head + "," + self._row(
                '"NR5G-SA"', '"TDD"', c.mcc, self._mnc(), n.cell_id, n.pci, n.tac, n.arfcn,
                n.band, 12, self._v("RSRP", n.rsrp), self._v("RSRQ", n.rsrq),
                self._v("SINR", n.sinr), 1, "-")]
        lte = self._row(
            '"LTE"', '"FDD"', c.mcc, self._mnc(), c.lte.cell_id, c.lte.pci, c.lte.arfcn,
            c.lte.band, 3, 3, c.lte.tac, self._v("RSRP", c.lte.rsrp),
            self._v("RSRQ", c.lte.rsrq), self._v("RSSI", c.lte.rssi), self._v("SINR", c.lte.sinr),
            "-", "-", "-")
        if c.mode == "lte":
            return [f"{head},{lte}"]
        n = c.nr
        nsa = self._row('"NR5G-NSA"', c.mcc, self._mnc(), n.pci, self._v("RSRP", n.rsrp),
                        self._v("SINR", n.sinr), self._v("RSRQ", n.rsrq), n.arfcn, n.band, 12, 1)
        return [head, f"+QENG: {lte}", f"+QENG:{nsa}"]

    def _location(self) -> list[str]:
        if not self.gnss_on:
            return [_cme(at.CME_GNSS_SESSION_NOT_ACTIVE)]
        self.loc_queries += 1
        if self.loc_queries <= self.config.fix_after_queries:
            return [_cme(at.CME_GNSS_NOT_FIXED)]
        c = self.config
        now = datetime.fromtimestamp(self.now_ns() / 1e9, UTC)
        utc = now.strftime("%H%M%S.") + f"{now.microsecond // 1000:03d}"
        return [
            f"+QGPSLOC: {utc},{c.lat:.5f},{c.lon:.5f},{c.hdop:.1f},{c.alt_m:.1f},3,0.00,0.0,0.0,"
            f"{now:%d%m%y},{c.satellites:02d}",
            at.FINAL_OK,
        ]

    def _mnc(self) -> str:
        return f"{self.config.mnc:02d}"

    def _v(self, name: str, value: int) -> int:
        return at.NOT_AVAILABLE if name in self.config.unavailable else value

    @staticmethod
    def _row(*values: object) -> str:
        return ",".join(str(v) for v in values)


def _cme(code: int) -> str:
    return f"{at.CME_ERROR_PREFIX} {code}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=MODES, default="sa",
                        help="serving-cell form: sa (default), nsa (three lines), lte, search")
    parser.add_argument("--fix-after", type=integer(), default=2, metavar="N",
                        help="answer AT+QGPSLOC with +CME ERROR: 516 N times first (default 2)")
    parser.add_argument("--lat", type=number(-90, 90), default=DEFAULT_LAT, help="GNSS latitude")
    parser.add_argument("--lon", type=number(-180, 180), default=DEFAULT_LON, help="GNSS longitude")
    parser.add_argument("--unavailable", action="append", default=[],
                        choices=("RSRP", "RSRQ", "SINR", "RSSI"),
                        help="report this measurement as -32768 (repeatable)")


def config_from_args(args: argparse.Namespace) -> QuectelConfig:
    return replace(QuectelConfig(), mode=args.mode, fix_after_queries=args.fix_after,
                   lat=args.lat, lon=args.lon, unavailable=frozenset(args.unavailable))


async def serve(args: argparse.Namespace, air: Air | None, ready: Callable[[str], None]) -> None:
    """The modem is not on the LoRa air: `air` is accepted for the common device API only."""
    device = QuectelDevice(config_from_args(args))
    ready(device.path)
    await device.run()
