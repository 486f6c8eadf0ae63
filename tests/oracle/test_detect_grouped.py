"""Per-group statistics over long columns (oracle/detect/grouped.py), against values worked
out by hand."""

from __future__ import annotations

import math

import numpy as np

from oracle.detect.grouped import (
    group_count,
    group_lower_median,
    group_median,
    group_spread,
    group_std,
)

GROUPS = np.array([0, 0, 0, 2, 2, 2, 2])
VALUES = np.array([5.0, 1.0, 3.0, 10.0, 40.0, 20.0, 30.0])


def test_medians_per_group_and_empty_groups() -> None:
    assert list(group_count(GROUPS, 4)) == [3, 0, 4, 0]
    median = group_median(GROUPS, VALUES, 4)
    assert median[0] == 3.0 and median[2] == 25.0  # odd: the middle; even: the mean of two
    assert math.isnan(median[1]) and math.isnan(median[3])
    lower = group_lower_median(GROUPS, VALUES, 4)
    assert lower[0] == 3.0 and lower[2] == 20.0  # even: the lower of the two middle values
    assert math.isnan(lower[1])


def test_standard_deviation_is_the_population_one() -> None:
    std = group_std(GROUPS, VALUES, 3)
    # sqrt(8/3) and sqrt(125): E[x²] − E[x]² agrees with the definition to rounding.
    assert math.isclose(std[0], math.sqrt(8 / 3), rel_tol=1e-12)
    assert math.isclose(std[2], math.sqrt(125), rel_tol=1e-12)


def test_spread_is_max_minus_min_and_infinite_for_an_empty_group() -> None:
    spread = group_spread(GROUPS, VALUES, 4)
    assert spread[0] == 4.0 and spread[2] == 30.0  # 5 − 1 and 40 − 10
    assert spread[1] == math.inf and spread[3] == math.inf


def test_no_values_at_all() -> None:
    empty = np.array([], dtype=np.int64)
    assert np.isnan(group_median(empty, np.array([]), 2)).all()
    assert np.isnan(group_lower_median(empty, np.array([]), 2)).all()
