"""A virtual RAK3172 (RUI3 firmware) in LoRa P2P mode on a pseudo-terminal.

Speaks the subset of RUI3 AT a P2P host uses (AT, ATZ, AT+VER, AT+NWM, AT+P2P, AT+PRECV,
AT+PSEND), answers malformed commands with the module's own status words, puts
transmissions on the `Air`, and reports frames from the air as `+EVT:RXP2P` while receiving.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import Callable

from firmware_bridge.errors import TxRejected
from firmware_bridge.serial_at import commands as at
from firmware_bridge.types import RxPacket, TxPacket
from pocnet.cli import number
from sim_radio.air import Air, LoopbackAir, deliver_on_loop
from sim_radio.pty_device import PtyLineDevice

FIRMWARE = "RUI_4.0.6_RAK3172-E"
BANNER = (
    "RAKwireless RAK3172-E Example",
    "------------------------------------------------------",
    f"Version: {FIRMWARE}",
)
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")


class Rak3172Device(PtyLineDevice):
    """State of one module: work mode, P2P settings, receive window, a transmission."""

    def __init__(
        self,
        air: Air,
        node_id: str = "rak3172",
        now_ns: Callable[[], int] = time.time_ns,
        tx_delay_s: float = 0.0,
        two_line_rx: bool = False,
    ) -> None:
        super().__init__()
        self.air = air
        self.node_id = node_id
        self.now_ns = now_ns
        self.tx_delay_s = tx_delay_s
        self.two_line_rx = two_line_rx
        self.nwm = 1                      # factory default: LoRaWAN
        self.p2p = at.P2pParams(868_000_000, 7, 125_000, "4/5", 8, 14)
        self.sync_word = "1424"           # RUI3 P2P default: the private sync word
        self.iq_inverted = False
        self.precv = 0                    # 0 = not receiving
        self.transmitting = False
        self.heard: list[RxPacket] = []

    async def run(self) -> None:
        self.air.attach(self.node_id, self._from_air)
        try:
            await super().run()
        finally:
            self.air.detach(self.node_id)

    # --- faults and lifecycle for tests ---------------------------------------------------

    def reset(self) -> None:
        """A reboot: receive mode and any transmission are lost; flash settings stay."""
        self.precv = 0
        self.transmitting = False
        for line in BANNER:
            self.send_line(line)
        self.send_line(f"Current Work Mode: {'LoRa P2P' if self.nwm == 0 else 'LoRaWAN'}.")

    # --- commands -------------------------------------------------------------------------

    def handle_garbage(self, raw: bytes) -> None:
        self.send_line("AT_ERROR")

    def handle_line(self, line: str) -> None:
        cmd, _, value = line.partition("=")
        cmd = cmd.upper()
        if not cmd.startswith("AT"):
            self.send_line("AT_ERROR")
            return
        handler = {
            "AT": self._at,
            "ATZ": self._atz,
            "AT+VER": self._ver,
            "AT+NWM": self._nwm,
            "AT+P2P": self._p2p,
            "AT+PRECV": self._precv,
            "AT+PSEND": self._psend,
            "AT+SYNCWORD": self._syncword,
            "AT+IQINVER": self._iqinver,
        }.get(cmd)
        if handler is None:
            self.send_line("AT_COMMAND_NOT_FOUND")
            return
        handler(value if "=" in line else None)

    def _at(self, value: str | None) -> None:
        self.send_line("OK" if value is None else "AT_PARAM_ERROR")

    def _atz(self, value: str | None) -> None:
        self.reset()

    def _ver(self, value: str | None) -> None:
        if value != "?":
            self.send_line("AT_PARAM_ERROR")
            return
        self.send_line(f"AT+VER={FIRMWARE}")
        self.send_line("OK")

    def _nwm(self, value: str | None) -> None:
        if value == "?":
            self.send_line(f"AT+NWM={self.nwm}")
            self.send_line("OK")
        elif value in ("0", "1"):
            changed = int(value) != self.nwm
            self.nwm = int(value)
            self.send_line("OK")
            if changed:       # RUI3 restarts to switch between LoRaWAN and P2P
                self.reset()
        else:
            self.send_line("AT_PARAM_ERROR")

    def _p2p(self, value: str | None) -> None:
        if self.nwm != 0:
            self.send_line("AT_MODE_NO_SUPPORT")
        elif value == "?":
            self.send_line(at.rui3_p2p(self.p2p))
            self.send_line("OK")
        elif self.transmitting:
            self.send_line("AT_BUSY_ERROR")
        else:
            try:
                self.p2p = at.parse_rui3_p2p(value or "")
            except ValueError:
                self.send_line("AT_PARAM_ERROR")
                return
            self.send_line("OK")

    def _syncword(self, value: str | None) -> None:
        if value == "?":
            self.send_line(f"AT+SYNCWORD={self.sync_word}")
            self.send_line("OK")
        elif value is not None and re.fullmatch(r"[0-9A-Fa-f]{1,4}", value):
            self.sync_word = value.upper()
            self.send_line("OK")
        else:
            self.send_line("AT_PARAM_ERROR")

    def _iqinver(self, value: str | None) -> None:
        if value == "?":
            self.send_line(f"AT+IQINVER={int(self.iq_inverted)}")
            self.send_line("OK")
        elif value in ("0", "1"):
            self.iq_inverted = value == "1"
            self.send_line("OK")
        else:
            self.send_line("AT_PARAM_ERROR")

    def _precv(self, value: str | None) -> None:
        if self.nwm != 0:
            self.send_line("AT_MODE_NO_SUPPORT")
            return
        if value is None or not value.isdigit() or int(value) > 65535:
            self.send_line("AT_PARAM_ERROR")
            return
        self.precv = int(value)
        self.send_line("OK")

    def _psend(self, value: str | None) -> None:
        if self.nwm != 0:
            self.send_line("AT_MODE_NO_SUPPORT")
            return
        if value is None or not _HEX.match(value) or len(value) > 2 * at.MAX_PAYLOAD_BYTES:
            self.send_line("AT_PARAM_ERROR")
            return
        # Only the 65533 receive mode lets a transmission interrupt listening.
        if self.transmitting or self.precv not in (0, at.RUI3_PRECV_CONTINUOUS_TX):
            self.send_line("AT_BUSY_ERROR")
            return
        packet = TxPacket(
            payload=bytes.fromhex(value),
            freq_hz=self.p2p.freq_hz,
            datarate=at.datarate_name(self.p2p.sf, self.p2p.bw_hz),
            power_dbm=self.p2p.power_dbm,
            code_rate=self.p2p.code_rate,
            preamble_symbols=self.p2p.preamble_symbols,
        )
        try:
            self.air.transmit(self.node_id, packet, self.now_ns())
        except TxRejected:
            # The medium refused (duty cycle, dwell time): the module cannot send now.
            self.send_line("AT_BUSY_ERROR")
            return
        self.send_line("OK")
        self.transmitting = True
        asyncio.get_running_loop().call_later(self.tx_delay_s, self._tx_done)

    def _tx_done(self) -> None:
        if self.transmitting:
            self.transmitting = False
            self.send_line(at.RUI3_TX_DONE)

    # --- the air --------------------------------------------------------------------------

    def _from_air(self, frame: RxPacket) -> None:
        deliver_on_loop(self._loop, self._hear, frame)

    def _hear(self, frame: RxPacket) -> None:
        p = self.p2p
        if (
            self.nwm != 0
            or self.precv == 0
            or self.transmitting
            or frame.freq_hz != p.freq_hz
            or frame.datarate != at.datarate_name(p.sf, p.bw_hz)
        ):
            return
        self.heard.append(frame)
        lines = at.rui3_rx_line(
            round(frame.rssi_dbm), round(frame.snr_db), frame.payload, self.two_line_rx
        )
        for line in lines:
            self.send_line(line)
        if self.precv not in (65533, 65534):
            self.precv = 0                # a one-shot window closes after one frame


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--node-id", default="rak3172", help="name on the air (default rak3172)")
    parser.add_argument(
        "--tx-delay-s", type=number(), default=0.5,
        help="seconds between AT+PSEND and +EVT:TXP2P DONE (default 0.5)",
    )
    parser.add_argument(
        "--two-line-rx", action="store_true",
        help="report frames in the older two-line +EVT:RXP2P form",
    )


async def serve(args: argparse.Namespace, air: Air | None, ready: Callable[[str], None]) -> None:
    device = Rak3172Device(
        air or LoopbackAir(),
        node_id=args.node_id,
        tx_delay_s=args.tx_delay_s,
        two_line_rx=args.two_line_rx,
    )
    ready(device.path)
    await device.run()
