"""A virtual Microchip RN2483 on a pseudo-terminal, driven at the radio layer.

Implements the commands a host uses for raw LoRa (DS40001784): `sys get ver`, `sys reset`,
`mac pause/resume`, `radio set ...`, `radio get snr|rssi`, `radio tx`, `radio rx 0`,
`radio rxstop`. Like the real module it answers `busy` to radio commands while the LoRaWAN
stack runs (before `mac pause`) or while the radio is in use, and `invalid_param` to anything
it cannot parse. Frames heard on the `Air` end a `radio rx 0` with `radio_rx  <hex>`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import replace

from firmware_bridge.errors import TxRejected
from firmware_bridge.serial_at import commands as at
from firmware_bridge.types import RxPacket, TxPacket
from pocnet.cli import number
from sim_radio.air import Air, LoopbackAir, deliver_on_loop
from sim_radio.pty_device import PtyLineDevice

VERSION_LINE = "RN2483 {version} Oct 31 2019 15:24:46"
MAC_PAUSE_MS = "4294967245"
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")


def _int_in(text: str, low: int, high: int) -> int | None:
    if re.fullmatch(r"-?\d+", text) and low <= int(text) <= high:
        return int(text)
    return None


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


class Rn2483Device(PtyLineDevice):
    """State of one module: MAC paused or not, radio settings, receive or transmit."""

    def __init__(
        self,
        air: Air,
        node_id: str = "rn2483",
        now_ns: Callable[[], int] = time.time_ns,
        tx_delay_s: float = 0.0,
        firmware: str = "1.0.5",
    ) -> None:
        super().__init__()
        self.air = air
        self.node_id = node_id
        self.now_ns = now_ns
        self.tx_delay_s = tx_delay_s
        self.firmware = firmware
        self.tx_fails = False             # test hook: end transmissions with radio_err
        self._power_on()
        self.heard: list[RxPacket] = []

    def _power_on(self) -> None:
        self.mac_paused = False
        self.params = at.P2pParams(868_100_000, 12, 125_000, "4/5", 8, 1)
        self.crc = True
        self.iqi = False
        self.sync = "34"
        self.receiving = False
        self.transmitting = False
        self.last_snr = -128
        self.last_rssi = -128

    async def run(self) -> None:
        self.air.attach(self.node_id, self._from_air)
        try:
            await super().run()
        finally:
            self.air.detach(self.node_id)

    def reset(self) -> None:
        """A reboot: every radio setting back to its default, then the version banner."""
        self._power_on()
        self.send_line(VERSION_LINE.format(version=self.firmware))

    # --- commands -------------------------------------------------------------------------

    def handle_garbage(self, raw: bytes) -> None:
        self.send_line("invalid_param")

    def handle_line(self, line: str) -> None:
        words = line.split()
        match words:
            case ["sys", "get", "ver"]:
                self.send_line(VERSION_LINE.format(version=self.firmware))
            case ["sys", "reset"]:
                self.reset()
            case ["mac", "pause"]:
                self.mac_paused = True
                self.send_line(MAC_PAUSE_MS)
            case ["mac", "resume"]:
                self.mac_paused = False
                self.send_line("ok")
            case ["radio", *rest] if not self.mac_paused:
                del rest
                self.send_line("busy")
            case ["radio", "set", name, value]:
                self.send_line("ok" if self._set(name, value) else "invalid_param")
            case ["radio", "get", name]:
                self._get(name)
            case ["radio", "tx", payload]:
                self._tx(payload)
            case ["radio", "rx", window]:
                self._rx(window)
            case ["radio", "rxstop"]:
                self.receiving = False
                self.send_line("ok")
            case _:
                self.send_line("invalid_param")

    def _set(self, name: str, value: str) -> bool:
        p = self.params
        if self.receiving or self.transmitting:
            return False
        if name == "mod":
            return value == "lora"
        if name == "freq":
            freq = _int_in(value, 433_050_000, 870_000_000)
            if freq is None or 434_790_000 < freq < 863_000_000:
                return False
            self.params = replace(p, freq_hz=freq)
        elif name == "sf" and value.startswith("sf") and (sf := _int_in(value[2:], 7, 12)):
            self.params = replace(p, sf=sf)
        elif name == "bw" and value in ("125", "250", "500"):
            self.params = replace(p, bw_hz=int(value) * 1000)
        elif name == "cr" and value in at.RN_CODE_RATES:
            self.params = replace(p, code_rate=value)
        elif name == "pwr" and (pwr := _int_in(value, *at.RN_TX_POWER_DBM)) is not None:
            self.params = replace(p, power_dbm=pwr)
        elif name == "prlen" and (pre := _int_in(value, 0, 65535)) is not None:
            self.params = replace(p, preamble_symbols=pre)
        elif name in ("crc", "iqi") and value in ("on", "off"):
            setattr(self, name, value == "on")
        elif name == "sync" and re.fullmatch(r"[0-9A-Fa-f]{1,2}", value):
            self.sync = value.lower()
        else:
            return False
        return True

    def _get(self, name: str) -> None:
        if name == "snr":
            self.send_line(str(self.last_snr))
        elif name == "rssi" and _version(self.firmware) >= (1, 0, 5):
            self.send_line(str(self.last_rssi))
        elif name == "freq":
            self.send_line(str(self.params.freq_hz))
        elif name == "sf":
            self.send_line(f"sf{self.params.sf}")
        else:
            self.send_line("invalid_param")

    def _tx(self, payload: str) -> None:
        if not _HEX.match(payload) or len(payload) > 2 * at.MAX_PAYLOAD_BYTES:
            self.send_line("invalid_param")
            return
        if self.receiving or self.transmitting:
            self.send_line("busy")
            return
        self.send_line("ok")
        self.transmitting = True
        p = self.params
        packet = TxPacket(
            payload=bytes.fromhex(payload),
            freq_hz=p.freq_hz,
            datarate=at.datarate_name(p.sf, p.bw_hz),
            power_dbm=p.power_dbm,
            code_rate=p.code_rate,
            preamble_symbols=p.preamble_symbols,
        )
        try:
            self.air.transmit(self.node_id, packet, self.now_ns())
            refused = False
        except TxRejected:
            # The medium refused (duty cycle, dwell time): the module reports `radio_err`.
            refused = True
        asyncio.get_running_loop().call_later(self.tx_delay_s, self._tx_done, refused)

    def _tx_done(self, refused: bool = False) -> None:
        if self.transmitting:
            self.transmitting = False
            failed = self.tx_fails or refused
            self.send_line(at.RN_RADIO_ERR if failed else at.RN_TX_OK)

    def _rx(self, window: str) -> None:
        if _int_in(window, 0, 65535) is None:
            self.send_line("invalid_param")
        elif self.receiving or self.transmitting:
            self.send_line("busy")
        else:
            self.receiving = True
            self.send_line("ok")

    # --- the air --------------------------------------------------------------------------

    def _from_air(self, frame: RxPacket) -> None:
        deliver_on_loop(self._loop, self._hear, frame)

    def _hear(self, frame: RxPacket) -> None:
        p = self.params
        if (
            not self.receiving
            or frame.freq_hz != p.freq_hz
            or frame.datarate != at.datarate_name(p.sf, p.bw_hz)
        ):
            return
        self.heard.append(frame)
        self.receiving = False            # `radio rx 0` ends with the first frame
        self.last_snr = round(frame.snr_db)
        self.last_rssi = round(frame.rssi_dbm)
        self.send_line(f"radio_rx  {frame.payload.hex().upper()}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--node-id", default="rn2483", help="name on the air (default rn2483)")
    parser.add_argument(
        "--tx-delay-s", type=number(), default=0.5,
        help="seconds between `radio tx` and radio_tx_ok (default 0.5)",
    )
    parser.add_argument(
        "--firmware", default="1.0.5",
        help="firmware version to report; before 1.0.5 `radio get rssi` is invalid_param",
    )


async def serve(args: argparse.Namespace, air: Air | None, ready: Callable[[str], None]) -> None:
    device = Rn2483Device(
        air or LoopbackAir(),
        node_id=args.node_id,
        tx_delay_s=args.tx_delay_s,
        firmware=args.firmware,
    )
    ready(device.path)
    await device.run()
