"""The modem parameters of one LoRa transmission, validated once."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SPREADING_FACTORS = range(7, 13)
BANDWIDTHS_HZ = (125_000, 250_000, 500_000)
# Code rate 4/(4+cr): the header's 3-bit CR field carries cr.
CODE_RATES = {"4/5": 1, "4/6": 2, "4/7": 3, "4/8": 4}
# Semtech: low data rate optimisation is mandated when a symbol lasts longer than 16 ms.
LDRO_SYMBOL_S = 16e-3
# Sync words a receiver accepts: 0x12 (private networks) and 0x34 (public LoRaWAN).
SYNC_WORDS = (0x12, 0x34)

_DATARATE = re.compile(r"SF(\d+)BW(\d+)")


class ParamError(ValueError):
    """Modem parameters no LoRa radio uses."""


@dataclass(frozen=True, slots=True)
class LoraParams:
    sf: int
    bw_hz: int = 125_000
    cr: int = 1                    # 4/(4+cr), 1..4
    crc: bool = True
    preamble_symbols: int = 8
    sync_word: int = 0x12

    def __post_init__(self) -> None:
        if self.sf not in SPREADING_FACTORS:
            raise ParamError(f"spreading factor {self.sf} not in 7..12")
        if self.bw_hz not in BANDWIDTHS_HZ:
            raise ParamError(f"bandwidth {self.bw_hz} Hz not one of {BANDWIDTHS_HZ}")
        if not 1 <= self.cr <= 4:
            raise ParamError(f"code rate index {self.cr} not in 1..4 (4/5..4/8)")
        if not 0 <= self.sync_word <= 0xFF:
            raise ParamError(f"sync word {self.sync_word:#x} is not one byte")
        if self.preamble_symbols < 6:
            raise ParamError("a preamble needs at least 6 symbols to be found")

    @property
    def n(self) -> int:
        """Chips (and FFT bins) per symbol, 2^SF."""
        return 1 << self.sf

    @property
    def symbol_s(self) -> float:
        return self.n / self.bw_hz

    @property
    def ldro(self) -> bool:
        return self.symbol_s > LDRO_SYMBOL_S

    @property
    def datarate(self) -> str:
        return f"SF{self.sf}BW{self.bw_hz // 1000}"

    def payload_symbols(self, length: int) -> int:
        """Data symbols after the preamble, header block included (explicit header)."""
        bits_per_block = self.sf - 2 * self.ldro
        nibbles = 2 * length - self.sf + 7 + 4 * self.crc
        return 8 + max(math.ceil(nibbles / bits_per_block) * (4 + self.cr), 0)

    def airtime_s(self, length: int) -> float:
        return (self.preamble_symbols + 4.25 + self.payload_symbols(length)) * self.symbol_s


def parse_datarate(datarate: str) -> tuple[int, int]:
    """"SF7BW125" -> (7, 125000); ParamError for anything else."""
    m = _DATARATE.fullmatch(datarate)
    if not m:
        raise ParamError(f"datarate {datarate!r} is not of the form SF7BW125")
    sf, bw_hz = int(m.group(1)), int(m.group(2)) * 1000
    LoraParams(sf, bw_hz)
    return sf, bw_hz


def parse_code_rate(code_rate: str) -> int:
    try:
        return CODE_RATES[code_rate]
    except KeyError:
        raise ParamError(f"code rate {code_rate!r} not one of {', '.join(CODE_RATES)}") from None
