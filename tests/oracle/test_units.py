"""HIP-15 reward units for w = 0..20 (docs/protocol.md §6), 4 dp half to even."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oracle.rewards.units import beaconer_unit, witness_unit

# w: (beaconer, witness). By hand, k = w - 4 and 0.8^k:
#   w=5: 0.8 -> beaconer 2-0.8 = 1.2, witness (3+0.8)/5 = 0.76 (docs/protocol.md §6 example)
#   w=6: 0.64 -> 1.36, 3.64/6 = 0.60666.. -> 0.6067
#   w=7: 0.512 -> 1.488, 3.512/7 = 0.501714.. -> 0.5017
#   w=14: 0.1073741824 -> 1.8926258176 -> 1.8926, 3.1073741824/14 = 0.221955.. -> 0.2220
#   w=20: 0.0281474976710656 -> 1.97185.. -> 1.9719, 3.02814.../20 = 0.151407.. -> 0.1514
EXPECTED = {
    0: ("0.0000", "0.0000"),
    1: ("0.2500", "1.0000"),
    2: ("0.5000", "1.0000"),
    3: ("0.7500", "1.0000"),
    4: ("1.0000", "1.0000"),
    5: ("1.2000", "0.7600"),
    6: ("1.3600", "0.6067"),
    7: ("1.4880", "0.5017"),
    8: ("1.5904", "0.4262"),
    9: ("1.6723", "0.3697"),
    10: ("1.7379", "0.3262"),
    11: ("1.7903", "0.2918"),
    12: ("1.8322", "0.2640"),
    13: ("1.8658", "0.2411"),
    14: ("1.8926", "0.2220"),
    15: ("1.9141", "0.2057"),
    16: ("1.9313", "0.1918"),
    17: ("1.9450", "0.1797"),
    18: ("1.9560", "0.1691"),
    19: ("1.9648", "0.1597"),
    20: ("1.9719", "0.1514"),
}


@pytest.mark.parametrize("w", range(21))
def test_units(w: int) -> None:
    beaconer, witness = EXPECTED[w]
    assert beaconer_unit(w) == Decimal(beaconer)
    assert witness_unit(w) == Decimal(witness)
    # Exactly 4 decimal places, as stored and shown.
    assert str(beaconer_unit(w)) == beaconer and str(witness_unit(w)) == witness


def test_half_even_on_exact_value() -> None:
    # w=8: 0.8^4 = 0.4096 -> witness 3.4096/8 = 0.4262 exactly; beaconer 1.5904 exactly.
    assert witness_unit(8) == Decimal("0.4262")
    # w=9: 3.32768/9 = 0.369742.. (no tie) ; w=10: 3.262144/10 = 0.3262144 -> 0.3262.
    assert witness_unit(10) == Decimal("0.3262")


def test_negative_w_is_refused() -> None:
    with pytest.raises(ValueError):
        witness_unit(-1)
