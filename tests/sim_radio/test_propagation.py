"""Path-loss models against published numbers, their validity ranges, and link shadowing.

Expected values are recomputed here from the textbook formulas with the cited constants, not
taken from the module under test.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from pocnet import link
from sim_radio import propagation as P


def _log10(x: float) -> float:
    return math.log10(x)


def test_free_space_is_friis_and_matches_the_protocol_formula() -> None:
    # Friis: 20·log10(4π d f / c); 868 MHz at 1 km = 91.22 dB.
    model = P.FreeSpace()
    for d in (1.0, 40.0, 1000.0, 25_000.0):
        expected = 20 * _log10(4 * math.pi * d * 868e6 / 299_792_458)
        assert model.median_loss_db(d, 868e6) == pytest.approx(expected, abs=1e-9)
        assert model.median_loss_db(d, 868e6) == pytest.approx(link.fspl_db(d, 868e6), abs=1e-9)
    assert float(model.median_loss_db(1000.0, 868e6)) == pytest.approx(91.22, abs=0.01)


def test_bor_2016_preset() -> None:
    # Bor et al. 2016: PL(d0 = 40 m) = 127.41 dB, n = 2.08, σ = 3.57 dB.
    m = P.preset("bor2016")
    assert m.shadowing_sigma_db == 3.57
    assert float(m.median_loss_db(40.0, 868e6)) == pytest.approx(127.41)
    assert float(m.median_loss_db(400.0, 868e6)) == pytest.approx(127.41 + 10 * 2.08)


def test_petajajarvi_2015_preset() -> None:
    # Petäjäjärvi et al. 2015: PL(1 km) = 128.95 dB, n = 2.32, σ = 7.8 dB.
    m = P.preset("petajajarvi2015")
    assert m.shadowing_sigma_db == 7.8
    assert float(m.median_loss_db(1000.0, 868e6)) == pytest.approx(128.95)
    assert float(m.median_loss_db(10_000.0, 868e6)) == pytest.approx(128.95 + 23.2)
    d = 4321.0
    assert float(m.median_loss_db(d, 868e6)) == pytest.approx(128.95 + 23.2 * _log10(d / 1000))


def _hata_urban(f: float, hb: float, hm: float, d_km: float) -> float:
    """Hata 1980 eq. (4a) with the small/medium-city a(hm), eq. (5)."""
    a = (1.1 * _log10(f) - 0.7) * hm - (1.56 * _log10(f) - 0.8)
    return (
        69.55
        + 26.16 * _log10(f)
        - 13.82 * _log10(hb)
        - a
        + (44.9 - 6.55 * _log10(hb)) * _log10(d_km)
    )


def test_hata_urban_900_mhz_published_value() -> None:
    # 900 MHz, hb = 30 m, hm = 1.5 m, 1 km: 69.55 + 26.16·log 900 − 13.82·log 30 − a(1.5)
    # = 69.55 + 77.28 − 20.41 − 0.016 = 126.40 dB.
    m = P.Hata("urban")
    assert float(m.median_loss_db(1000.0, 900e6, 30.0, 1.5)) == pytest.approx(126.40, abs=0.02)
    for d_km in (1.0, 3.0, 10.0, 20.0):
        assert float(m.median_loss_db(d_km * 1000, 900e6, 50.0, 3.0)) == pytest.approx(
            _hata_urban(900, 50, 3, d_km), abs=1e-9
        )
    # The distance slope for hb = 30 m is 44.9 − 6.55·log 30 = 35.22 dB per decade.
    slope = m.median_loss_db(10_000.0, 900e6, 30.0, 1.5) - m.median_loss_db(
        1000.0, 900e6, 30.0, 1.5
    )
    assert float(slope) == pytest.approx(35.22, abs=0.01)


def test_hata_suburban_open_and_metropolitan() -> None:
    urban = _hata_urban(900, 30, 1.5, 5.0)
    # Hata 1980 eq. (4b): suburban = urban − 2·(log(f/28))² − 5.4.
    sub = urban - 2 * _log10(900 / 28) ** 2 - 5.4
    # Hata 1980 eq. (4c): open = urban − 4.78·(log f)² + 18.33·log f − 40.94.
    opn = urban - 4.78 * _log10(900) ** 2 + 18.33 * _log10(900) - 40.94
    assert float(P.Hata("suburban").median_loss_db(5000.0, 900e6, 30, 1.5)) == pytest.approx(sub)
    assert float(P.Hata("open").median_loss_db(5000.0, 900e6, 30, 1.5)) == pytest.approx(opn)
    assert sub == pytest.approx(urban - 9.94, abs=0.01)
    # Large city, f ≥ 300 MHz: a(hm) = 3.2·(log 11.75·hm)² − 4.97 (eq. 6); at hm = 1.5 m ≈ 0.
    metro = P.Hata("metropolitan").median_loss_db(1000.0, 900e6, 30, 1.5)
    a_large = 3.2 * _log10(11.75 * 1.5) ** 2 - 4.97
    assert float(metro) == pytest.approx(
        _hata_urban(900, 30, 1.5, 1)
        + ((1.1 * _log10(900) - 0.7) * 1.5 - (1.56 * _log10(900) - 0.8))
        - a_large
    )


def test_cost231_hata_above_1500_mhz() -> None:
    # COST 231-Hata: 46.3 + 33.9·log f − 13.82·log hb − a(hm) + (44.9 − 6.55·log hb)·log d + Cm.
    f, hb, hm = 1800.0, 30.0, 1.5
    a = (1.1 * _log10(f) - 0.7) * hm - (1.56 * _log10(f) - 0.8)
    medium = 46.3 + 33.9 * _log10(f) - 13.82 * _log10(hb) - a
    assert medium == pytest.approx(136.19, abs=0.01)
    assert float(P.Hata("urban").median_loss_db(1000.0, 1800e6, hb, hm)) == pytest.approx(medium)
    metro = P.Hata("metropolitan").median_loss_db(1000.0, 1800e6, hb, hm)
    a_large = 3.2 * _log10(11.75 * hm) ** 2 - 4.97
    assert float(metro) == pytest.approx(medium + a - a_large + 3.0)


@pytest.mark.parametrize(
    ("model", "distance_m", "freq_hz", "hb", "hm"),
    [
        (P.FreeSpace(), 0.5, 868e6, None, None),
        (P.FreeSpace(), 1_500_000.0, 868e6, None, None),
        (P.FreeSpace(), 100.0, 10e6, None, None),
        (P.BOR_2016, 39.0, 868e6, None, None),
        (P.BOR_2016, 1_001.0, 868e6, None, None),
        (P.BOR_2016, 100.0, 915e6, None, None),
        (P.PETAJAJARVI_2015, 999.0, 868e6, None, None),
        (P.PETAJAJARVI_2015, 15_001.0, 868e6, None, None),
        (P.Hata("urban"), 999.0, 900e6, 30.0, 1.5),
        (P.Hata("urban"), 20_001.0, 900e6, 30.0, 1.5),
        (P.Hata("suburban"), 5_000.0, 149e6, 30.0, 1.5),
        (P.Hata("open"), 5_000.0, 2_001e6, 30.0, 1.5),
        (P.Hata("urban"), 5_000.0, 900e6, 29.0, 1.5),
        (P.Hata("urban"), 5_000.0, 900e6, 201.0, 1.5),
        (P.Hata("urban"), 5_000.0, 900e6, 30.0, 0.9),
        (P.Hata("urban"), 5_000.0, 900e6, 30.0, 10.5),
    ],
)
def test_validity_ranges_are_enforced(model, distance_m, freq_hz, hb, hm) -> None:
    with pytest.raises(P.ModelRangeError):
        model.median_loss_db(distance_m, freq_hz, hb, hm)
    # Outside the range the mesh may still extrapolate, explicitly.
    assert np.isfinite(model.median_loss_db(distance_m, freq_hz, hb, hm, strict=False)).all()


@pytest.mark.parametrize(
    ("model", "lo", "hi", "freq_hz"),
    [
        (P.FreeSpace(), 1.0, 1_000_000.0, 868e6),
        (P.BOR_2016, 40.0, 1_000.0, 868e6),
        (P.PETAJAJARVI_2015, 1_000.0, 15_000.0, 868e6),
        (P.Hata("urban"), 1_000.0, 20_000.0, 150e6),
        (P.Hata("open"), 1_000.0, 20_000.0, 2_000e6),
    ],
)
def test_validity_bounds_are_inclusive(model, lo, hi, freq_hz) -> None:
    model.median_loss_db(np.array([lo, hi]), freq_hz, 30.0, 1.5)
    assert model.validity.contains([lo, hi]).all()
    assert not model.validity.contains([lo * 0.99, hi * 1.01]).any()


def test_extrapolation_never_beats_free_space() -> None:
    d = np.geomspace(1.0, 200_000.0, 200)
    fs = P.fspl_db(d, 868e6)
    for name in ("bor2016", "petajajarvi2015", "hata-urban", "hata-open"):
        loss = P.preset(name).median_loss_db(d, 868e6, 10.0, 10.0, strict=False)
        assert (loss >= fs - 1e-9).all(), name
        assert (np.diff(loss) >= -1e-9).all(), f"{name} not monotonic"


def test_unknown_preset_and_kind() -> None:
    with pytest.raises(P.ModelRangeError, match="unknown propagation preset"):
        P.preset("okumura-mars")
    with pytest.raises(P.ModelRangeError, match="unknown kind"):
        P.Hata("underwater")


def test_shadowing_is_deterministic_symmetric_and_seeded() -> None:
    a = np.arange(1, 5001, dtype=np.uint64) * np.uint64(7919)
    b = a + np.uint64(123_456_789)
    s1 = P.shadowing_db(42, a, b, 7.8)
    assert np.array_equal(s1, P.shadowing_db(42, a, b, 7.8))
    assert np.array_equal(s1, P.shadowing_db(42, b, a, 7.8))  # reciprocity
    assert not np.array_equal(s1, P.shadowing_db(43, a, b, 7.8))  # seed matters
    asym = P.shadowing_db(42, b, a, 7.8, symmetric=False)
    assert not np.array_equal(asym, P.shadowing_db(42, a, b, 7.8, symmetric=False))
    assert not P.shadowing_db(1, a, b, 0.0).any()


def test_shadowing_is_gaussian_with_sigma_and_cut_off() -> None:
    a = np.arange(200_000, dtype=np.uint64)
    s = P.shadowing_db(7, a, a + np.uint64(10**9), 7.8, cutoff_sigma=3.0)
    assert abs(s.mean()) < 0.1
    assert s.std() == pytest.approx(7.8, rel=0.02)
    assert np.abs(s).max() <= 3.0 * 7.8 + 1e-9
    assert (np.abs(s) > 7.8).mean() == pytest.approx(0.317, abs=0.01)  # 1σ tails of N(0,1)


def test_max_range_inverts_the_model() -> None:
    m = P.PETAJAJARVI_2015
    r = P.max_range_m(m, 150.0, 868e6)
    assert float(m.median_loss_db(r, 868e6)) == pytest.approx(150.0, abs=1e-6)
    assert P.max_range_m(m, 10.0, 868e6) == 0.0
    wider = replace(m, pl0_db=120.0)
    assert P.max_range_m(wider, 150.0, 868e6) > r


def test_loss_curve_passes_through_its_knots_and_is_straight_in_log_distance() -> None:
    curve = P.LossCurve(
        (100.0, 1_000.0, 10_000.0), (110.0, 130.0, 160.0), 0.0, P.Validity(10, 1e5, 800e6, 900e6)
    )
    assert curve.median_loss_db([100.0, 1_000.0, 10_000.0], 868e6).tolist() == [110, 130, 160]
    # Halfway in log distance is halfway in loss; beyond the ends the end segments continue.
    assert float(curve.median_loss_db(316.227766, 868e6)) == pytest.approx(120.0)
    assert float(curve.median_loss_db(100_000.0, 868e6)) == pytest.approx(190.0)
    with pytest.raises(P.ModelRangeError):
        curve.median_loss_db(5.0, 868e6)
    steep = P.LossCurve((100.0, 1_000.0), (80.0, 130.0), 0.0, curve.validity)
    # 30 dB at 10 m by the line, but never less than free space (51.2 dB there).
    assert float(steep.median_loss_db(10.0, 868e6)) == pytest.approx(float(P.fspl_db(10.0, 868e6)))


def test_grenoble_preset_grows_with_distance_and_as_free_space_beyond_its_knots() -> None:
    d = np.array(P.GRENOBLE_KNOTS_M)
    loss = P.GRENOBLE_2023.median_loss_db(d, 868.1e6)
    assert (np.diff(loss) >= 0).all()
    # Beyond the last knot (its segment is flat) a decade of distance adds free space's 20 dB.
    far = P.GRENOBLE_2023.median_loss_db(np.array([d[-1], 10 * d[-1]]), 868.1e6, strict=False)
    assert far[1] - far[0] == pytest.approx(P.FREE_SPACE_DB_PER_DECADE)
    near = P.GRENOBLE_2023.median_loss_db(np.array([d[0] / 10, d[0]]), 868.1e6, strict=False)
    assert near[1] - near[0] >= P.FREE_SPACE_DB_PER_DECADE
    assert "grenoble2023" in P.PRESETS
