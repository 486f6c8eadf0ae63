"""The bar past chance (oracle/detect/chance.py): Poisson tails against the distribution's
definition, and the chance rate fitted on a sample drawn at a known rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oracle.detect.chance import chance_rate, poisson_tail


@pytest.mark.parametrize(("k", "mean", "tail"), [
    (0, 2.0, 1.0),
    (1, 0.5, 1 - math.exp(-0.5)),
    (3, 1.0, 1 - math.exp(-1.0) * (1 + 1 + 1 / 2)),
    (2, 4.0, 1 - math.exp(-4.0) * (1 + 4)),
    (1, 0.0, 0.0),
])
def test_poisson_tail_is_one_less_the_terms_below_k(k: int, mean: float, tail: float) -> None:
    """P(X ≥ k) = 1 − Σ_{j<k} e^−m m^j / j!."""
    assert math.isclose(poisson_tail(k, mean), tail, rel_tol=1e-12, abs_tol=1e-15)


def test_a_small_tail_keeps_its_precision() -> None:
    """Far in the tail, 1 − (terms below) cancels to nothing; the sum upward does not: its
    terms, e^−m m^j / j! from j = k, fall by m / (j + 1) each."""
    first = math.exp(-0.01) * 0.01 ** 8 / math.factorial(8)
    assert math.isclose(poisson_tail(8, 0.01), first * (1 + 0.01 / 9 + 0.01 ** 2 / 90),
                        rel_tol=1e-6)


def test_no_hit_no_rate() -> None:
    assert chance_rate(np.zeros(5, np.int64), np.full(5, 30)) == 0.0


@pytest.mark.parametrize("cheaters", [200, 1_000])
def test_the_rate_is_the_honest_ones_among_cheaters_found_few_times(cheaters: int) -> None:
    """4,000 honest hotspots found by chance at 0.4 % of 50–400 chances, and cheaters found
    at 25 % of 2–40 chances (early in a history, many of them once or twice, as often as
    chance finds an honest hotspot): the lower rate is the honest one (within 10 %). Hotspots
    without chances have no say."""
    rng = np.random.default_rng(7)
    chances = np.concatenate((rng.integers(50, 401, 4_000), rng.integers(2, 41, cheaters)))
    hits = np.concatenate((rng.poisson(0.004 * chances[:4_000]),
                           rng.poisson(0.25 * chances[4_000:])))
    assert math.isclose(chance_rate(hits, chances), 0.004, rel_tol=0.1)
    assert chance_rate(np.append(hits, 50), np.append(chances, 0)) == chance_rate(hits, chances)


def test_too_few_hotspots_give_no_rate() -> None:
    """A rate fitted on fewer than `least` hotspots with chances is no rate (0)."""
    hits, chances = np.array([1, 0, 2, 0]), np.array([20, 20, 20, 0])
    assert chance_rate(hits, chances, least=4) == 0.0
    assert chance_rate(hits, chances, least=3) > 0.0
