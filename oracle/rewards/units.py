"""HIP-15 reward units per beacon (docs/protocol.md §6), exact.

w = the beacon's valid selected witnesses (HIP-83 caps selection at 14; the formulas are
defined for any w ≥ 0 and tests cover w = 0..20):
- witness unit = 1 if w ≤ 4, else (4 − (1 − 0.8^(w−4))) / w
- beaconer unit = w/4 if w ≤ 4, else min(2, 2 − 0.8^(w−4))
- both 0 when w = 0; both rounded to 4 places, half to even, from the exact rational value.
Source: HIP-15 "Beaconing rewards" (helium/HIP 0015), as summarised in docs/protocol.md §6.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from oracle.density.rounding import fraction_to_decimal

UNIT_PLACES = 4
# HIP-15: full units up to this many witnesses, decaying by DECAY per witness beyond it.
FULL_UNIT_WITNESSES = 4
DECAY = Fraction(4, 5)
MAX_BEACONER_UNIT = Fraction(2)


@lru_cache(maxsize=64)
def witness_unit(w: int) -> Decimal:
    """Each witness's unit for a beacon with `w` valid selected witnesses."""
    _check(w)
    if w == 0:
        return fraction_to_decimal(Fraction(0), UNIT_PLACES)
    if w <= FULL_UNIT_WITNESSES:
        return fraction_to_decimal(Fraction(1), UNIT_PLACES)
    exact = (FULL_UNIT_WITNESSES - (1 - DECAY ** (w - FULL_UNIT_WITNESSES))) / w
    return fraction_to_decimal(exact, UNIT_PLACES)


@lru_cache(maxsize=64)
def beaconer_unit(w: int) -> Decimal:
    """The beaconer's unit for a beacon with `w` valid selected witnesses."""
    _check(w)
    if w <= FULL_UNIT_WITNESSES:
        return fraction_to_decimal(Fraction(w, FULL_UNIT_WITNESSES), UNIT_PLACES)
    exact = min(MAX_BEACONER_UNIT, MAX_BEACONER_UNIT - DECAY ** (w - FULL_UNIT_WITNESSES))
    return fraction_to_decimal(exact, UNIT_PLACES)


def _check(w: int) -> None:
    if w < 0:
        raise ValueError(f"witness count must be >= 0, got {w}")
