"""LoRa link physics as pure functions: time on air, noise, sensitivity, path loss and the
plausibility bounds the verifier applies (docs/protocol.md §5 rules 11 and 12).

Every constant names its source. Datarates are the names of docs/protocol.md §2's DataRate enum
("SF12BW125"); LR-FHSS and FSK have no LoRa link budget here and are refused.
"""

from __future__ import annotations

import math
import re

from pocnet.errors import DecodeError

# Speed of light used by docs/protocol.md §5's FSPL formula, m/s.
SPEED_OF_LIGHT_M_S = 299_792_458.0

# Thermal noise density at 290 K, dBm/Hz (kTB with k·290 K = -173.98 dBm/Hz, rounded as
# docs/protocol.md §5 and Semtech AN1200.22 use it).
THERMAL_NOISE_DBM_HZ = -174.0

# Default receiver noise figure, dB (Semtech SX1276/SX1302 sensitivity tables assume 6 dB).
DEFAULT_NOISE_FIGURE_DB = 6.0

# Minimum demodulation SNR per spreading factor, dB (Semtech SX1276 datasheet, table 13: the
# floor falls 2.5 dB per spreading-factor step).
DEMOD_SNR_FLOOR_DB: dict[int, float] = {
    7: -7.5,
    8: -10.0,
    9: -12.5,
    10: -15.0,
    11: -17.5,
    12: -20.0,
}

# Sensitivity at 125 kHz the verifier compares RSSI with, dBm (docs/protocol.md §5 rule 12:
# "SF7 -124 ... SF12 -137"; the intermediate values are Semtech SX1272 datasheet, table 10).
VERIFIER_SENSITIVITY_DBM: dict[int, float] = {
    7: -124.0,
    8: -127.0,
    9: -130.0,
    10: -133.0,
    11: -135.0,
    12: -137.0,
}

# docs/protocol.md §5 rule 12: an SNR more than 3 dB above what the RSSI allows over thermal noise.
SNR_MARGIN_DB = 3.0
# docs/protocol.md §5 rule 12: RSSI more than 10 dB below the datarate's sensitivity.
SENSITIVITY_MARGIN_DB = 10.0

# Semtech AN1200.13: low data rate optimisation is mandated above 16 ms per symbol.
LDRO_SYMBOL_TIME_S = 0.016

_DATARATE = re.compile(r"SF(7|8|9|10|11|12)BW(125|250|500)")


def parse_datarate(name: str) -> tuple[int, int]:
    """("SF12BW125") -> (12, 125_000): spreading factor and bandwidth in Hz."""
    match = _DATARATE.fullmatch(name)
    if match is None:
        raise DecodeError(f"not a LoRa datarate: {name!r}")
    return int(match.group(1)), int(match.group(2)) * 1000


def datarate_name(sf: int, bw_hz: int) -> str:
    name = f"SF{sf}BW{bw_hz // 1000}"
    parse_datarate(name)
    return name


def symbol_time_s(sf: int, bw_hz: int) -> float:
    return (1 << sf) / bw_hz


def time_on_air_s(
    payload_len: int,
    sf: int,
    bw_hz: int,
    cr: int = 1,
    preamble: int = 8,
    explicit_header: bool = True,
    crc: bool = True,
    ldro: bool | None = None,
) -> float:
    """Semtech AN1200.13 (SX1276 datasheet §4.1.1.7): preamble + 4.25 symbols, then payload.

    `cr` is 1..4 for code rates 4/5..4/8. `ldro=None` applies the datasheet's rule (on when a
    symbol lasts more than 16 ms: SF11 and SF12 at 125 kHz).
    """
    if not 7 <= sf <= 12 or not 1 <= cr <= 4 or payload_len < 0:
        raise ValueError(f"bad LoRa parameters: sf={sf} cr={cr} len={payload_len}")
    t_sym = symbol_time_s(sf, bw_hz)
    de = int(t_sym > LDRO_SYMBOL_TIME_S) if ldro is None else int(ldro)
    ih = 0 if explicit_header else 1
    numerator = 8 * payload_len - 4 * sf + 28 + 16 * int(crc) - 20 * ih
    payload_symbols = 8 + max(math.ceil(numerator / (4 * (sf - 2 * de))) * (cr + 4), 0)
    return (preamble + 4.25 + payload_symbols) * t_sym


def thermal_noise_dbm(bw_hz: float) -> float:
    return THERMAL_NOISE_DBM_HZ + 10.0 * math.log10(bw_hz)


def noise_floor_dbm(bw_hz: float, noise_figure_db: float = DEFAULT_NOISE_FIGURE_DB) -> float:
    return thermal_noise_dbm(bw_hz) + noise_figure_db


def sensitivity_dbm(
    sf: int, bw_hz: int, noise_figure_db: float = DEFAULT_NOISE_FIGURE_DB
) -> float:
    """Noise floor plus the demodulation SNR floor: the weakest signal a receiver decodes."""
    return noise_floor_dbm(bw_hz, noise_figure_db) + DEMOD_SNR_FLOOR_DB[sf]


def fspl_db(distance_m: float, freq_hz: float) -> float:
    """Free-space path loss, 20·log10(4π·d·f/c) (docs/protocol.md §5 rule 11)."""
    if distance_m <= 0 or freq_hz <= 0:
        raise ValueError(f"free-space loss needs a positive distance and frequency: {distance_m}")
    return 20.0 * math.log10(4.0 * math.pi * distance_m * freq_hz / SPEED_OF_LIGHT_M_S)


def _trunc_div10(value_x10: int) -> int:
    """trunc(value/10) for deci-units, rounding toward zero as docs/protocol.md §5 says."""
    return -(-value_x10 // 10) if value_x10 < 0 else value_x10 // 10


def rssi_bound_dbm(
    tx_power_dbm: int,
    gain_tx_dbi_x10: int,
    gain_rx_dbi_x10: int,
    distance_m: float,
    freq_hz: float,
) -> float:
    """The strongest RSSI free space allows (docs/protocol.md §5 rule 11); no margin is added."""
    return (
        tx_power_dbm
        + _trunc_div10(gain_tx_dbi_x10)
        + _trunc_div10(gain_rx_dbi_x10)
        - fspl_db(distance_m, freq_hz)
    )


def snr_plausible(snr_db: float, rssi_dbm: float, bw_hz: float) -> bool:
    """False when no receiver could measure this SNR at this RSSI (docs/protocol.md §5 rule 12)."""
    return snr_db <= rssi_dbm - thermal_noise_dbm(bw_hz) + SNR_MARGIN_DB


def verifier_sensitivity_dbm(sf: int, bw_hz: int) -> float:
    """The table value at 125 kHz, scaled by the noise bandwidth for 250 and 500 kHz."""
    return VERIFIER_SENSITIVITY_DBM[sf] + 10.0 * math.log10(bw_hz / 125_000)


def below_sensitivity(
    rssi_dbm: float, sf: int, bw_hz: int, margin_db: float = SENSITIVITY_MARGIN_DB
) -> bool:
    """True when the RSSI is more than `margin_db` under the datarate's sensitivity."""
    return rssi_dbm < verifier_sensitivity_dbm(sf, bw_hz) - margin_db
