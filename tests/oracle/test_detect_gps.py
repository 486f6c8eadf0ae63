"""The GPS detector's ring check against scatters built from the physics of a receiver, not
from the simulator: spoofers whose fixes keep one distance from their centre are flagged, and
real receivers' scatters of every shape a still antenna shows are not.

A still receiver's horizontal error is a zero-mean Gaussian: circular under an even sky (its
distance from the true place Rayleigh-distributed), elliptical when the satellites' geometry
favours one axis, and of a size that changes over the day as satellites come and go."""

from __future__ import annotations

import numpy as np
import pytest
from detect_world import offset

from oracle.detect import gps
from oracle.detect.history import History, HistoryBuilder
from oracle.detect.model import DEFAULT_PARAMS as P

T0 = 1_760_000_000_000
HOME = (52.0, 5.0)


def key(i: int) -> bytes:
    return b"\x01" + f"g{i}".encode().ljust(32, b"_")


def history(scatters: list[np.ndarray], acc_m: float = 3.0) -> History:
    """One hotspot per scatter (rows of north, east metres around its asserted place), its
    fixes a minute apart, rounded to the wire's 1e-7 degree."""
    b = HistoryBuilder(T0, T0 + 86_400_000)
    for i, scatter in enumerate(scatters):
        place = offset(*HOME, 0.0, 50.0 * i)
        b.add_hotspot(key(i), *place)
        for n, (north, east) in enumerate(scatter):
            lat, lon = offset(*place, float(north), float(east))
            b.add_fix(key(i), T0 + n * 60_000, round(lat, 7), round(lon, 7), acc_m)
    return b.build()


def flagged(scatters: list[np.ndarray]) -> list[str]:
    return [f.detector for f in gps.gps(history(scatters), P)]


def ring(rng: np.random.Generator, fixes: int, radius_m: np.ndarray | float) -> np.ndarray:
    """A spoofer's wobble: uniform bearing, the given distance(s)."""
    bearing = rng.uniform(0, 2 * np.pi, fixes)
    return np.column_stack((radius_m * np.cos(bearing), radius_m * np.sin(bearing)))


@pytest.mark.parametrize("fixes", [P.min_fixes, 30, 100, 400])
def test_real_receivers_are_not_flagged(fixes: int) -> None:
    rng = np.random.default_rng(fixes)
    # 2.1 m per axis: a u-blox M8's 2.5 m CEP (data sheet); 200 receivers.
    scatters = [rng.normal(0.0, 2.1, (fixes, 2)) for _ in range(200)]
    assert flagged(scatters) == []


def test_an_elliptical_error_is_not_a_ring() -> None:
    rng = np.random.default_rng(11)
    scatters = [rng.normal(0.0, 1.0, (60, 2)) * np.array([3.0, 1.0]) for _ in range(100)]
    assert flagged(scatters) == []


def test_an_accuracy_that_changes_over_the_day_is_not_a_ring() -> None:
    rng = np.random.default_rng(12)
    sigma = np.linspace(1.0, 4.0, 60)[:, None]  # dusk to noon: σ grows fourfold
    scatters = [rng.normal(0.0, 1.0, (60, 2)) * sigma for _ in range(100)]
    assert flagged(scatters) == []


def test_a_quiet_hotspot_with_few_fixes_is_not_judged_on_shape() -> None:
    # Fewer than min_fixes on a perfect 5 m circle: too little to tell a ring by.
    assert flagged([ring(np.random.default_rng(13), P.min_fixes - 1, 5.0)]) == []


@pytest.mark.parametrize(("fixes", "at_least"), [(30, 45), (100, 50)])
def test_a_fixed_radius_spoofer_is_flagged(fixes: int, at_least: int) -> None:
    # Around 30 fixes the centroid's own error still spreads a circle's distances now and
    # then (a few in a hundred pass); by 100 none does.
    rng = np.random.default_rng(14)
    scatters = [ring(rng, fixes, 5.0) for _ in range(50)]
    names = flagged(scatters)
    assert set(names) == {"gps_ring"} and len(names) >= at_least
    finding = gps.gps(history(scatters[:1]), P)[0]
    assert finding.score >= 1.0
    assert finding.evidence["fixes"] == fixes
    assert finding.evidence["radius_mean_m"] == pytest.approx(5.0, abs=1.0)


def test_a_ring_of_uneven_width_is_flagged() -> None:
    # Distances uniform between 4 and 6 m: std/mean 0.115, a quarter of a real receiver's.
    rng = np.random.default_rng(15)
    scatters = [ring(rng, 60, rng.uniform(4.0, 6.0, 60)) for _ in range(50)]
    assert flagged(scatters) == ["gps_ring"] * 50
