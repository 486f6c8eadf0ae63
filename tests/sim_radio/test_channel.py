"""The time-varying channel: fading statistics from theory, the soft decoding curve at its
boundary, the hourly noise wobble and the daily churn."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sim_radio import channel as ch

N = 200_000
KEYS = np.arange(N, dtype=np.uint64)


def _fading(channel: ch.Channel) -> np.ndarray:
    return ch.fading_db(channel, 1, KEYS, KEYS + np.uint64(N), np.zeros(N, np.uint64))


def test_rayleigh_power_is_exponential_with_unit_mean() -> None:
    # Rayleigh fading: the power gain is exponential with mean 1, so P(g < x) = 1 − e^(−x).
    rayleigh = replace(ch.HELIUM, rician_k=0.0, fading_max_db=60.0)
    g = 10 ** (_fading(rayleigh) / 10)
    assert g.mean() == pytest.approx(1.0, abs=0.01)
    for x in (0.1, 0.5, 1.0, 2.0):
        assert (g < x).mean() == pytest.approx(1 - np.exp(-x), abs=0.005)


def test_rician_power_has_unit_mean_and_the_k_factor_variance() -> None:
    # Rician with factor K, unit mean power: variance of the power = (2K + 1) / (K + 1)².
    k = 3.0
    g = 10 ** (_fading(replace(ch.HELIUM, rician_k=k, fading_max_db=60.0)) / 10)
    assert g.mean() == pytest.approx(1.0, abs=0.01)
    assert g.var() == pytest.approx((2 * k + 1) / (k + 1) ** 2, rel=0.03)


def test_fading_is_clipped_at_its_best_case_and_absent_when_static() -> None:
    f = _fading(replace(ch.HELIUM, rician_k=0.0, fading_max_db=3.0))
    assert f.max() == 3.0 and (f == 3.0).mean() == pytest.approx(np.exp(-(10**0.3)), abs=0.005)
    assert not _fading(ch.STATIC).any()


def test_fading_replays_per_event_and_differs_between_events() -> None:
    a = ch.fading_db(ch.HELIUM, 1, KEYS[:100], KEYS[:100] + 1, np.zeros(100, np.uint64))
    b = ch.fading_db(ch.HELIUM, 1, KEYS[:100], KEYS[:100] + 1, np.zeros(100, np.uint64))
    c = ch.fading_db(ch.HELIUM, 1, KEYS[:100], KEYS[:100] + 1, np.ones(100, np.uint64))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_decoding_is_half_at_the_offset_and_a_hard_cut_when_static() -> None:
    floor = -20.0
    soft = replace(ch.HELIUM, decode_offset_db=-3.0, decode_scale_db=1.0)
    assert ch.decode_probability(soft, floor - 3.0, floor) == pytest.approx(0.5)
    # Logistic: one scale above the 50 % point is 1 / (1 + e^−1).
    assert ch.decode_probability(soft, floor - 2.0, floor) == pytest.approx(1 / (1 + np.exp(-1)))
    assert ch.decode_probability(ch.STATIC, floor, floor) == 1.0
    assert ch.decode_probability(ch.STATIC, floor - 0.01, floor) == 0.0
    snr = np.full(N, floor - 3.0)
    got = ch.decoded(soft, snr, floor, 1, KEYS, KEYS, np.zeros(N, np.uint64))
    assert got.mean() == pytest.approx(0.5, abs=0.005)


def test_lowest_snr_below_floor_covers_the_logistic_tail() -> None:
    soft = replace(ch.HELIUM, decode_offset_db=-3.0, decode_scale_db=1.0)
    edge = -20.0 - soft.lowest_snr_below_floor_db
    assert 0 < ch.decode_probability(soft, edge + 0.001, -20.0) < 1e-3
    assert ch.decode_probability(soft, edge - 0.001, -20.0) == 0.0
    assert soft.lowest_snr_below_floor_db == pytest.approx(3.0 + ch.DECODE_TAIL_SCALES)
    assert ch.STATIC.lowest_snr_below_floor_db == 0.0


def test_noise_wobble_is_hourly_with_its_sigma() -> None:
    hour = ch.NS_PER_HOUR
    a = ch.noise_wobble_db(ch.HELIUM, 1, KEYS, np.full(N, 5 * hour))
    same_hour = ch.noise_wobble_db(ch.HELIUM, 1, KEYS, np.full(N, 5 * hour + hour - 1))
    next_hour = ch.noise_wobble_db(ch.HELIUM, 1, KEYS, np.full(N, 6 * hour))
    assert np.array_equal(a, same_hour) and not np.array_equal(a, next_hour)
    assert a.std() == pytest.approx(ch.HELIUM.noise_time_sigma_db, rel=0.02)
    assert not ch.noise_wobble_db(ch.STATIC, 1, KEYS, np.zeros(N)).any()


def test_churn_takes_its_share_offline_per_day() -> None:
    day = ch.NS_PER_DAY
    up = ch.online(ch.HELIUM, 1, KEYS, np.full(N, 3 * day))
    assert (~up).mean() == pytest.approx(ch.HELIUM.offline_share, abs=0.005)
    assert np.array_equal(up, ch.online(ch.HELIUM, 1, KEYS, np.full(N, 4 * day - 1)))
    assert not np.array_equal(up, ch.online(ch.HELIUM, 1, KEYS, np.full(N, 4 * day)))
    assert ch.online(ch.STATIC, 1, KEYS, np.zeros(N)).all()


def test_open_path_share_is_exp_of_distance_fixed_and_symmetric() -> None:
    a = np.arange(200_000, dtype=np.uint64)
    b = a + np.uint64(1 << 33)
    scale = ch.HELIUM.open_path_m
    assert scale is not None
    for d, expected in ((0.0, 1.0), (scale, np.exp(-1.0)), (3 * scale, np.exp(-3.0))):
        share = ch.open_path(ch.HELIUM, 7, a, b, np.full(a.size, d)).mean()
        assert share == pytest.approx(expected, abs=0.005)
    d = np.full(a.size, scale)
    first = ch.open_path(ch.HELIUM, 7, a, b, d)
    assert (first == ch.open_path(ch.HELIUM, 7, b, a, d)).all()  # both directions, every call
    assert ch.open_path(ch.STATIC, 7, a, b, d).all()  # no obstruction in the static world
    # Beyond the tail (e^-6.91 < 1e-3) never open, so the mesh's index may stop there.
    edge = ch.OPEN_PATH_TAIL_SCALES * scale
    assert ch.HELIUM.open_path_range_m == edge
    assert not ch.open_path(ch.HELIUM, 7, a, b, np.full(a.size, edge * 1.0001)).any()
    assert ch.open_path(ch.HELIUM, 7, a, b, np.full(a.size, edge)).any()
