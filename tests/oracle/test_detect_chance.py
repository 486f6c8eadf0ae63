"""The bar past chance (oracle/detect/chance.py): Poisson tails against the distribution's
definition, and the chance rate fitted on a sample drawn at a known rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oracle.detect.chance import fitted_rate, poisson_tail


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


def test_without_truncation_the_rate_is_hits_over_chances() -> None:
    """The textbook Poisson MLE for means p·c_i: Σx / Σc (a bar far above the counts
    truncates nothing)."""
    hits = np.array([0, 1, 2, 0, 1, 0])
    chances = np.array([10, 40, 70, 5, 25, 0])  # no chances: no say
    assert math.isclose(fitted_rate(hits, chances, most=60), 4 / 150, rel_tol=1e-5)


def test_no_hit_no_rate() -> None:
    assert fitted_rate(np.zeros(5, np.int64), np.full(5, 30), most=2) == 0.0


def test_the_rate_is_the_honest_one_among_many_found_often() -> None:
    """4,000 hotspots hit by chance at 0.4 % of 50–400 chances, and 1,000 cheaters hit 5–30
    times: fitted on those hit at most twice, with the truncation in the likelihood, the rate
    is the honest one (within 10 %); the plain ratio over the same hotspots is lower, as it
    drops chance's own tail."""
    rng = np.random.default_rng(7)
    chances = rng.integers(50, 401, 5_000)
    hits = np.concatenate((rng.poisson(0.004 * chances[:4_000]), rng.integers(5, 31, 1_000)))
    assert math.isclose(fitted_rate(hits, chances, most=2), 0.004, rel_tol=0.1)
    low = hits <= 2
    assert hits[low].sum() / chances[low].sum() < 0.95 * fitted_rate(hits, chances, most=2)


def test_too_few_hotspots_give_no_rate() -> None:
    """A rate fitted on fewer than `least` hotspots with chances is no rate (0)."""
    hits, chances = np.array([1, 0, 2, 0]), np.array([20, 20, 20, 0])
    assert fitted_rate(hits, chances, most=2, least=4) == 0.0
    assert fitted_rate(hits, chances, most=2, least=3) > 0.0
