"""Exact rounding of a rational number to a fixed number of decimal places, half to even.

docs/protocol.md §6 rounds exact values (density products, HIP-15 units, reward per share) to a
fixed number of places. Doing it on integer numerator/denominator pairs keeps the rounding
of the *exact* value (never of an already-rounded intermediate) and is much faster than
`fractions.Fraction` on the density hot path.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction


def round_half_even(num: int, den: int, places: int) -> int:
    """`num/den × 10^places` rounded to an integer, ties to even. `den` must be positive."""
    if den <= 0:
        raise ValueError("denominator must be positive")
    q, r = divmod(num * 10**places, den)
    twice = 2 * r
    if twice > den or (twice == den and q % 2 == 1):
        q += 1
    return q


def to_decimal(num: int, den: int, places: int) -> Decimal:
    """`num/den` rounded half to even, as a Decimal with exactly `places` decimal places."""
    return scaled_decimal(round_half_even(num, den, places), places)


def fraction_to_decimal(value: Fraction, places: int) -> Decimal:
    return to_decimal(value.numerator, value.denominator, places)


def scaled_decimal(units: int, places: int) -> Decimal:
    """The Decimal `units × 10^-places` (e.g. 6000, 4 → 0.6000), built without rounding."""
    sign = 1 if units < 0 else 0
    return Decimal((sign, tuple(int(d) for d in str(abs(units))), -places))
