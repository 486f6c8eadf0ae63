"""The network parameters the verifier applies, with docs/protocol.md §5's values as defaults.

Every pocnet addition has a switch here (docs/protocol.md: "it can be switched off by a network
parameter"), so an operator can run Helium's rules alone. Values are validated at construction:
a bad parameter is a configuration error found at load, not a wrong verdict found later.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pocnet.gnss import MAX_USABLE_H_ACC_M

HOUR_MS = 3_600_000
MINUTE_MS = 60_000


@dataclass(frozen=True)
class VerifierParams:
    """docs/protocol.md §5 numbers. Units are in the names; trust values are exact decimals."""

    # HIP-83: the first N valid witnesses by receive time are selected.
    max_witnesses: int = 14
    # §4: entropy is valid for 180 s from its timestamp (whole seconds, both ends inclusive).
    entropy_lifetime_s: int = 180
    # Witness rule 4: at most 4000 ms after the beacon; 1500 ms after the first early witness.
    witness_late_ms: int = 4000
    early_witness_ms: int = 1500
    # Witness rule 7: |Δf| above this is invalid; exactly this passes.
    max_freq_diff_hz: int = 100_000
    # Witness rule 9: grid steps between the res-11 parents of the asserted cells.
    min_grid_steps: int = 8
    min_distance_res: int = 11
    # Witness rule 10: whole metres // 1000 above this is invalid.
    max_distance_km: int = 100
    # Rules beacon 8 / witness 14 (HIP-106): the reciprocity look-back; a report exactly this
    # old no longer counts (Helium: `received - last < 48 h`).
    reciprocity_window_ms: int = 48 * HOUR_MS
    # §5 "Reports still unverified 45 min after arrival are stale".
    stale_after_ms: int = 45 * MINUTE_MS
    # pocnet: GPS location trust (docs/protocol.md §5 "location trust from GPS").
    gps_rules: bool = True
    gps_full_trust_m: float = 300.0
    gps_partial_trust_m: float = 400.0
    partial_trust: Decimal = Decimal("0.25")
    missing_fix_trust: Decimal = Decimal("0.5")
    # pocnet: a fix moving faster than this since the hotspot's previous fix.
    gps_motion_rule: bool = True
    max_speed_kmh: int = 300
    # Two usable fixes (each within 50 m of the truth) of a hotspot standing still can be up to
    # 100 m apart; only movement beyond this counts, or GPS jitter between two reports a second
    # apart would read as thousands of km/h.
    gps_motion_tolerance_m: float = 2 * MAX_USABLE_H_ACC_M
    # pocnet: beacon rule 7 and witness rule 12.
    tx_power_rule: bool = True
    snr_rule: bool = True
    sensitivity_rule: bool = True
    sensitivity_margin_db: float = 10.0

    def __post_init__(self) -> None:
        positive = {
            "max_witnesses": self.max_witnesses,
            "entropy_lifetime_s": self.entropy_lifetime_s,
            "witness_late_ms": self.witness_late_ms,
            "early_witness_ms": self.early_witness_ms,
            "max_freq_diff_hz": self.max_freq_diff_hz,
            "max_distance_km": self.max_distance_km,
            "reciprocity_window_ms": self.reciprocity_window_ms,
            "stale_after_ms": self.stale_after_ms,
            "max_speed_kmh": self.max_speed_kmh,
        }
        for name, value in positive.items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"verifier parameter {name} must be a positive integer: {value!r}")
        if self.min_grid_steps < 0 or not 0 <= self.min_distance_res <= 15:
            raise ValueError("min_grid_steps must be >= 0 and min_distance_res in 0..15")
        if not 0 < self.gps_full_trust_m <= self.gps_partial_trust_m:
            raise ValueError("need 0 < gps_full_trust_m <= gps_partial_trust_m")
        for name in ("partial_trust", "missing_fix_trust"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not Decimal(0) <= value <= Decimal(1):
                raise ValueError(f"{name} must be a Decimal in [0, 1]: {value!r}")
        if self.gps_motion_tolerance_m < 0:
            raise ValueError("gps_motion_tolerance_m must be >= 0")
        if self.sensitivity_margin_db < 0:
            raise ValueError("sensitivity_margin_db must be >= 0")
