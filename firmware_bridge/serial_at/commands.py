"""AT command tables and response parsing for the RAK3172 (RUI3) and the RN2483.

Pure functions and constants only: the drivers in `rak3172.py`/`rn2483.py` and the virtual
modules in `sim_radio.devices` both build and parse lines here, so the two cannot drift.

Sources:
- RAKwireless, "RUI3 AT Command Manual" (P2P section): `AT+NWM=0`, `AT+P2P=freq:sf:bw:cr:
  preamble:txp` with the bandwidth in kHz (125/250/500) and the coding rate as 0..3 for
  4/5..4/8, `AT+PSEND=<hex>` answered by `OK` then `+EVT:TXP2P DONE`, `AT+PRECV=65533`
  (continuous receive that still allows transmitting), receive events
  `+EVT:RXP2P:<rssi>:<snr>:<hex>` (RUI3 >= 4.0) and, in older RUI3, the two lines
  `+EVT:RXP2P, RSSI <r>, SNR <s>` then `+EVT:<hex>`; status words OK, AT_ERROR,
  AT_PARAM_ERROR, AT_BUSY_ERROR, ...
- Microchip, "RN2483 LoRa Technology Module Command Reference User's Guide" (DS40001784):
  `mac pause`, `radio set freq|sf|bw|cr|pwr|crc|prlen|iqi|sync`, `radio tx <hex>` answered by
  `ok` then `radio_tx_ok` / `radio_err`, `radio rx 0` answered by `ok` then `radio_rx  <hex>`
  (two spaces) / `radio_err`, `radio get snr`, `radio get rssi` (firmware 1.0.5), `radio
  rxstop`; errors `invalid_param`, `busy`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from firmware_bridge.errors import FrameError
from pocnet.link import datarate_name, parse_datarate

__all__ = ["datarate_name", "parse_datarate"]  # re-exported: the drivers speak `at.*`

# --- shared -----------------------------------------------------------------------------

MAX_PAYLOAD_BYTES = 255


def check_payload(payload: bytes) -> str:
    """The payload as uppercase hex, refusing what neither module can send."""
    if not payload or len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload must be 1..{MAX_PAYLOAD_BYTES} bytes, got {len(payload)}")
    return payload.hex().upper()


def parse_hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise FrameError(f"not hex: {text[:40]!r}") from exc


@dataclass(frozen=True, slots=True)
class P2pParams:
    """The LoRa settings both modules take before a P2P transmission or reception."""

    freq_hz: int
    sf: int
    bw_hz: int
    code_rate: str = "4/5"
    preamble_symbols: int = 8
    power_dbm: int = 14


# --- RAK3172 / RUI3 ---------------------------------------------------------------------

RUI3_BAUDRATE = 115_200
RUI3_OK = "OK"
# Status words that end a command unsuccessfully (RUI3 AT Command Manual, "status codes").
RUI3_ERRORS = frozenset({
    "AT_ERROR",
    "AT_PARAM_ERROR",
    "AT_BUSY_ERROR",
    "AT_TEST_PARAM_OVERFLOW",
    "AT_NO_CLASSB_ENABLE",
    "AT_NO_NETWORK_JOINED",
    "AT_RX_ERROR",
    "AT_MODE_NO_SUPPORT",
    "AT_COMMAND_NOT_FOUND",
    "RESTRICTED",
})
RUI3_BANDWIDTH_KHZ = (125, 250, 500)
RUI3_CODE_RATE = {"4/5": 0, "4/6": 1, "4/7": 2, "4/8": 3}
RUI3_TX_POWER_DBM = (5, 22)  # RAK3172 (high-power SX1262 path)
RUI3_PRECV_CONTINUOUS_TX = 65533
RUI3_PRECV_STOP = 0
RUI3_TX_DONE = "+EVT:TXP2P DONE"
# LoRaWAN public sync word 0x34 as the SX126x sync-word register pair (Semtech SX1261/2
# datasheet, LoRa sync word registers 0x0740/0x0741: public 0x3444, private 0x1424), which
# RUI3 takes in `AT+SYNCWORD`; normal IQ with `AT+IQINVER=0` (docs/protocol.md §4 beacons).
RUI3_SYNC_WORD_PUBLIC = "3444"

_RUI3_RX = re.compile(r"^\+EVT:RXP2P:(-?\d+):(-?\d+):([0-9A-Fa-f]*)$")
_RUI3_RX_HEADER = re.compile(
    r"^\+EVT:RXP2P[ ,]+(?:RECEIVE[ ,]*)?RSSI[: ]*(-?\d+)[, ]+SNR[: ]*(-?\d+)"
)
_RUI3_EVT_HEX = re.compile(r"^\+EVT:([0-9A-Fa-f]+)$")
# The boot banner RUI3 prints after a reset or a work-mode change.
_RUI3_BANNER = re.compile(r"^(RAKwireless|Current Work Mode|Version: ?RUI|RUI_\d)")


def rui3_p2p(params: P2pParams) -> str:
    bw_khz = params.bw_hz // 1000
    if bw_khz not in RUI3_BANDWIDTH_KHZ:
        raise ValueError(f"RUI3 P2P has no {bw_khz} kHz bandwidth")
    if params.code_rate not in RUI3_CODE_RATE:
        raise ValueError(f"unknown coding rate {params.code_rate!r}")
    cr = RUI3_CODE_RATE[params.code_rate]
    return (
        f"AT+P2P={params.freq_hz}:{params.sf}:{bw_khz}:{cr}:"
        f"{params.preamble_symbols}:{params.power_dbm}"
    )


def parse_rui3_p2p(value: str) -> P2pParams:
    """The argument of `AT+P2P=...` back into settings (used by the virtual module)."""
    parts = value.split(":")
    if len(parts) != 6 or not all(re.fullmatch(r"-?\d+", p) for p in parts):
        raise ValueError(f"bad P2P parameters {value!r}")
    freq, sf, bw, cr, pre, txp = (int(p) for p in parts)
    rates = {v: k for k, v in RUI3_CODE_RATE.items()}
    if (
        not 150_000_000 <= freq <= 960_000_000
        or not 5 <= sf <= 12
        or bw not in RUI3_BANDWIDTH_KHZ
        or cr not in rates
        or not 2 <= pre <= 65535
        or not RUI3_TX_POWER_DBM[0] <= txp <= RUI3_TX_POWER_DBM[1]
    ):
        raise ValueError(f"P2P parameter out of range in {value!r}")
    return P2pParams(freq, sf, bw * 1000, rates[cr], pre, txp)


def is_rui3_banner(line: str) -> bool:
    return _RUI3_BANNER.match(line) is not None


@dataclass(frozen=True, slots=True)
class Rui3Rx:
    """A received P2P frame; `payload` is None for the header line of the two-line form."""

    rssi_dbm: int
    snr_db: int
    payload: bytes | None


def parse_rui3_rx(line: str) -> Rui3Rx | None:
    """`+EVT:RXP2P:...` or the old header line; None if the line is neither."""
    if (m := _RUI3_RX.match(line)) is not None:
        return Rui3Rx(int(m.group(1)), int(m.group(2)), parse_hex(m.group(3)))
    if (m := _RUI3_RX_HEADER.match(line)) is not None:
        return Rui3Rx(int(m.group(1)), int(m.group(2)), None)
    return None


def parse_rui3_evt_hex(line: str) -> bytes | None:
    """The payload line `+EVT:<hex>` that follows the old two-line header."""
    m = _RUI3_EVT_HEX.match(line)
    return None if m is None else parse_hex(m.group(1))


def rui3_rx_line(rssi_dbm: int, snr_db: int, payload: bytes, two_line: bool = False) -> list[str]:
    """What a RUI3 module prints for a received frame (for the virtual module)."""
    if two_line:
        return [f"+EVT:RXP2P, RSSI {rssi_dbm}, SNR {snr_db}", f"+EVT:{payload.hex().upper()}"]
    return [f"+EVT:RXP2P:{rssi_dbm}:{snr_db}:{payload.hex().upper()}"]


# --- RN2483 -----------------------------------------------------------------------------

RN2483_BAUDRATE = 57_600
RN_OK = "ok"
RN_ERRORS = frozenset({"invalid_param", "busy", "radio_err", "err"})
RN_TX_OK = "radio_tx_ok"
RN_RADIO_ERR = "radio_err"
RN_BANDWIDTH_KHZ = (125, 250, 500)
RN_CODE_RATES = ("4/5", "4/6", "4/7", "4/8")
RN_TX_POWER_DBM = (-3, 15)  # 868 MHz band, DS40001784 `radio set pwr`
# LoRaWAN public sync word, which Helium hotspots listen on.
RN_SYNC_WORD = "34"

_RN_BANNER = re.compile(r"^RN2483 (\d+\.\d+\.\d+)\b")
_RN_RX = re.compile(r"^radio_rx\s+([0-9A-Fa-f]+)$")


def rn_radio_setup(params: P2pParams) -> list[str]:
    """The `radio set` lines for one configuration, in the order the module applies them."""
    bw_khz = params.bw_hz // 1000
    if bw_khz not in RN_BANDWIDTH_KHZ:
        raise ValueError(f"RN2483 has no {bw_khz} kHz bandwidth")
    if params.code_rate not in RN_CODE_RATES:
        raise ValueError(f"unknown coding rate {params.code_rate!r}")
    return [
        "radio set mod lora",
        f"radio set freq {params.freq_hz}",
        f"radio set sf sf{params.sf}",
        f"radio set bw {bw_khz}",
        f"radio set cr {params.code_rate}",
        f"radio set pwr {params.power_dbm}",
        "radio set crc on",
        f"radio set prlen {params.preamble_symbols}",
        "radio set iqi off",
        f"radio set sync {RN_SYNC_WORD}",
    ]


def rn_banner_version(line: str) -> str | None:
    """"RN2483 1.0.5 Oct 31 2019 15:24:46" -> "1.0.5" (also the answer to `sys get ver`)."""
    m = _RN_BANNER.match(line)
    return None if m is None else m.group(1)


def parse_rn_rx(line: str) -> bytes | None:
    m = _RN_RX.match(line)
    return None if m is None else parse_hex(m.group(1))


def parse_rn_int(line: str) -> int | None:
    """An integer answer (`radio get snr`, `radio get rssi`), None for `invalid_param`."""
    if re.fullmatch(r"-?\d+", line):
        return int(line)
    return None
