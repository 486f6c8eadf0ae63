"""Reception: link budget, sensitivity per SF, reported RSSI/SNR, collisions and capture,
and the transmit budget (ETSI duty cycle, FCC dwell time)."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.errors import TxRejected
from pocnet import link
from pocnet.regions import get_plan
from sim_radio import reception as R
from sim_radio.channel import STATIC, decode_probability

S = 1_000_000_000  # ns per second


def test_link_budget_adds_gains_and_subtracts_losses() -> None:
    p = R.received_power_dbm(14, 3.0, 0.5, 5.8, 1.0, 120.0)
    assert float(p) == pytest.approx(14 + 3.0 - 0.5 + 5.8 - 1.0 - 120.0)


def _decodable(power_dbm: float, sf: int, noise_figure_db: float) -> bool:
    snr = power_dbm - float(R.noise_floor_dbm(125_000, noise_figure_db))
    return bool(decode_probability(STATIC, snr, link.DEMOD_SNR_FLOOR_DB[sf]) == 1.0)


@pytest.mark.parametrize("sf", [7, 8, 9, 10, 11, 12])
def test_decodable_exactly_at_sensitivity(sf: int) -> None:
    sens = link.sensitivity_dbm(sf, 125_000, 6.0)  # noise floor + Semtech's demod SNR floor
    assert _decodable(sens, sf, 6.0)
    assert not _decodable(sens - 0.01, sf, 6.0)
    # A worse noise figure costs the same in sensitivity.
    assert not _decodable(sens + 2.0, sf, 9.0)


def test_noise_floor_matches_the_protocol_package() -> None:
    assert float(R.noise_floor_dbm(125_000, 6.0)) == pytest.approx(
        link.noise_floor_dbm(125_000, 6.0)
    )
    assert float(R.noise_floor_dbm(125_000, 6.0)) == pytest.approx(-174 + 10 * np.log10(125e3) + 6)


def _report(power, seed=1, events=None):
    p = np.asarray(power, dtype=np.float64)
    keys = np.arange(p.size, dtype=np.uint64)
    ev = np.zeros(p.size, np.uint64) if events is None else events
    return R.report(p, 125_000, R.RADIO_KINDS["sx1302"], seed, keys, keys + np.uint64(99), ev)


def test_reported_rssi_and_snr_are_quantised_like_sx130x() -> None:
    rssi, snr = _report(np.linspace(-137, -60, 5000))
    assert np.array_equal(rssi, np.round(rssi))  # whole dBm
    assert np.array_equal(snr * 4, np.round(snr * 4))  # 0.25 dB steps
    assert snr.max() <= 14.0  # saturates on strong signals


def test_measurement_noise_is_seeded_and_unbiased() -> None:
    power = np.full(20_000, -110.3)
    r1, s1 = _report(power, seed=5)
    r2, s2 = _report(power, seed=5)
    r3, _ = _report(power, seed=6)
    assert np.array_equal(r1, r2) and np.array_equal(s1, s2)
    assert not np.array_equal(r1, r3)
    assert r1.mean() == pytest.approx(-110.3, abs=0.05)
    kind = R.RADIO_KINDS["sx1302"]
    assert r1.std() == pytest.approx(np.hypot(kind.rssi_noise_db, 1 / np.sqrt(12)), rel=0.05)
    floor = link.noise_floor_dbm(125_000, kind.noise_figure_db)
    assert s1.mean() == pytest.approx(-110.3 - floor, abs=0.05)
    # Another event (another beacon) on the same link draws fresh noise.
    r4, _ = _report(power, seed=5, events=np.ones(power.size, np.uint64))
    assert not np.array_equal(r1, r4)


def _collide(rx, ch, start_s, power, air_s=2.0):
    return R.resolve_collisions(
        np.array(rx),
        np.array(ch),
        (np.array(start_s) * S).astype(np.int64),
        int(air_s * S),
        np.array(power, dtype=np.float64),
    )


def test_a_concentrator_stamps_gps_time_to_the_us_with_100_ns_of_error() -> None:
    # A concentrator's stamp is its µs counter on GPS time: whole µs, the error of each stamp
    # the rounding (uniform over ±0.5 µs: σ 1000/√12 ≈ 289 ns) plus σ 100 ns, so σ ≈ 306 ns
    # in all; never more than 0.5 µs + a few σ from the truth.
    n = 20_000
    true = 1_750_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 7_919_003
    kind = R.RADIO_KINDS["sx1302"]
    stamps = R.stamp_ns(true, kind, 3, np.full(n, 11, np.uint64), np.full(n, 12, np.uint64),
                        np.arange(n, dtype=np.uint64))
    error = (stamps - true).astype(np.float64)
    assert (stamps % 1_000 == 0).all()
    assert np.abs(error).max() <= 500 + 5 * 100
    assert abs(error.mean()) < 10
    assert error.std() == pytest.approx(np.hypot(1_000 / np.sqrt(12), 100), rel=0.03)
    # One antenna for several keys: the same receiver key, the same stamp; another receiver
    # stamps the same arrival independently.
    again = R.stamp_ns(true, kind, 3, np.full(n, 11, np.uint64), np.full(n, 12, np.uint64),
                       np.arange(n, dtype=np.uint64))
    other = R.stamp_ns(true, kind, 3, np.full(n, 11, np.uint64), np.full(n, 13, np.uint64),
                       np.arange(n, dtype=np.uint64))
    assert (again == stamps).all()
    assert (other != stamps).mean() > 0.05  # where the noise tips the rounding
    # A single-channel radio's host stamps its interrupt: σ 1 µs.
    mcu = R.stamp_ns(true, R.RADIO_KINDS["sx1262"], 3, np.full(n, 11, np.uint64),
                     np.full(n, 12, np.uint64), np.arange(n, dtype=np.uint64))
    assert (mcu - true).std() == pytest.approx(np.hypot(1_000 / np.sqrt(12), 1_000), rel=0.03)


def test_frames_apart_in_time_channel_or_receiver_survive() -> None:
    assert _collide([1, 1], [5, 5], [0.0, 2.5], [-100, -100]).all()  # one after the other
    assert _collide([1, 1], [5, 6], [0.0, 0.5], [-100, -100]).all()  # other channel / SF
    assert _collide([1, 2], [5, 5], [0.0, 0.5], [-100, -100]).all()  # other receiver


def test_capture_needs_six_db() -> None:
    assert not _collide([1, 1], [5, 5], [0.0, 1.0], [-100, -100]).any()  # equal: both lost
    assert _collide([1, 1], [5, 5], [0.0, 1.0], [-94, -100]).tolist() == [True, False]
    assert _collide([1, 1], [5, 5], [0.0, 1.0], [-100, -94]).tolist() == [False, True]
    assert not _collide([1, 1], [5, 5], [0.0, 1.0], [-94.1, -100]).any()
    assert R.CAPTURE_THRESHOLD_DB == 6.0


def test_three_frame_cluster_compares_only_overlapping_pairs() -> None:
    # a overlaps b, b overlaps c, a and c do not: b is 10 dB above both, a and c are equal.
    got = _collide([1, 1, 1], [5, 5, 5], [0.0, 1.5, 3.0], [-110, -100, -110])
    assert got.tolist() == [False, True, False]
    got = _collide([1, 1, 1], [5, 5, 5], [0.0, 1.5, 3.0], [-100, -110, -100])
    assert got.tolist() == [True, False, True]


def test_a_long_frame_collides_with_every_short_frame_it_covers() -> None:
    """Frames of one channel differ in length when their payloads do (MeshAir carries LoRaWAN
    uplinks beside beacons): a 10 s frame covers a short one at 1 s and another at 5 s. The
    second does not overlap the first short one, only the long one, and must still collide."""
    got = R.resolve_collisions(
        np.array([1, 1, 1]), np.array([5, 5, 5]), np.array([0, 1, 5], np.int64) * S,
        np.array([10, 1, 1], np.int64) * S, np.array([-100.0, -100.0, -100.0]))
    assert got.tolist() == [False, False, False]
    # The long frame 6 dB above both survives them; a short one alone after it does too.
    got = R.resolve_collisions(
        np.array([1, 1, 1, 1]), np.array([5, 5, 5, 5]), np.array([0, 1, 5, 11], np.int64) * S,
        np.array([10, 1, 1, 1], np.int64) * S, np.array([-94.0, -100.0, -100.0, -100.0]))
    assert got.tolist() == [True, False, False, True]


def test_eu868_duty_cycle_forces_silence_per_sub_band() -> None:
    plan = get_plan("EU868")
    budget = R.TransmitBudget(plan)
    air = link.time_on_air_s(52, 12, 125_000)
    assert air == pytest.approx(2.466, abs=0.001)
    t0 = 1_000 * S
    budget.transmit_now(868_100_000, air, t0)
    # docs/protocol.md §3: a 2.466 s SF12 beacon forces 244 s of silence in its 1 % sub-band.
    d = budget.check(868_300_000, air, t0 + 200 * S)
    assert not d.allowed
    assert (d.earliest_ns - t0) / S == pytest.approx(air / 0.01, abs=1e-6)
    assert (d.earliest_ns - t0) / S - air == pytest.approx(244.1, abs=0.1)
    with pytest.raises(TxRejected, match="duty cycle"):
        budget.transmit_now(868_500_000, air, t0 + 200 * S)
    # 867.x MHz lies in the other sub-band (h1.3): its budget is untouched.
    assert budget.check(867_100_000, air, t0 + 1 * S).allowed
    assert budget.check(868_100_000, air, d.earliest_ns).allowed
    assert budget.schedule(868_100_000, air, t0 + 10 * S) == d.earliest_ns


def test_us915_dwell_time() -> None:
    plan = get_plan("US915")
    budget = R.TransmitBudget(plan)
    sf9 = link.time_on_air_s(52, 9, 125_000)
    sf10 = link.time_on_air_s(52, 10, 125_000)
    assert sf9 < 0.4 < sf10
    refused = budget.check(903_900_000, sf10, 0)
    assert not refused.allowed and refused.earliest_ns == -1
    assert budget.schedule(903_900_000, sf10, 0) is None
    budget.transmit_now(903_900_000, sf9, 0)
    # A second SF9 frame on the same channel would put 657 ms in one 20 s window.
    later = budget.check(903_900_000, sf9, 1 * S)
    assert not later.allowed
    assert later.earliest_ns == round(sf9 * S) + 20 * S - round(sf9 * S)
    assert budget.check(904_100_000, sf9, 1 * S).allowed  # another channel
    assert budget.check(903_900_000, sf9, later.earliest_ns).allowed


def test_no_limits_where_the_plan_has_none() -> None:
    budget = R.TransmitBudget(get_plan("AU915"))
    for k in range(5):
        budget.transmit_now(916_800_000, 0.3, k * S // 10)


@pytest.mark.parametrize("name", ["AS923-1", "AS923-2", "AS923-3", "AS923-4"])
def test_as923_dwell_time_applies_only_where_required(name: str) -> None:
    """docs/protocol.md §3: AS923's 400 ms dwell time binds only "where required", which the plan
    cannot know; applied everywhere it refused every AS923 beacon (SF12BW125, 2.47 s)."""
    plan = get_plan(name)
    assert plan.dwell_time_ms == 400 and R.dwell_limit_ms(plan) == 0
    sf12 = link.time_on_air_s(52, 12, 125_000)
    budget = R.TransmitBudget(plan)
    assert budget.schedule(plan.channels_hz[0], sf12, 0) == 0
    budget.transmit_now(plan.channels_hz[0], sf12, 30 * S)
    assert R.dwell_limit_ms(get_plan("US915")) == 400


def test_as923_hotspots_beacon_and_hear_each_other() -> None:
    from sim_radio.mesh import Mesh
    from sim_radio.population import Hotspot
    from sim_radio.propagation import preset

    hotspots = [Hotspot(f"t{i}", 35.68 + 0.004 * i, 139.76, region="AS923-1")
                for i in range(10)]
    result = Mesh(hotspots, preset("free-space"), seed=1).beacon_round(0)
    assert result.stats["refused"] == 0 and result.stats["beacons"] == 10
    assert result.stats["receptions"] > 0
