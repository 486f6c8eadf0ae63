"""The simulator's radio chain against real Helium receptions (CampusIoT, Grenoble, 2021–2023).

The dataset holds only received frames, so each band is compared received-only: simulated links
at the real receptions' distances, heard at the real receiving hotspots' measured floors, with
each real sensor's own loss, of which those the simulated radio decoded count, each real frame
once (grenoble.simulate, frame_weights). The real side is computed here from the CSV with
numpy; the simulator's side uses the grenoble2023 preset, the HELIUM channel and siting.

The issue's tolerances are RSSI median ±3 dB and SNR median ±2 dB per band. Where the fit meets
them they are pinned there; where it does not (docs/simulator-models.md says why) the measured
gap is pinned (+0.5 dB) so a change that widens it fails.
"""

from __future__ import annotations

import numpy as np
import pytest

from pocnet import link
from sim_radio import channel as ch
from sim_radio import population as pop
from sim_radio import propagation as P
from sim_radio.calibration import grenoble as G

LINKS = 8
ISSUE_RSSI_DB, ISSUE_SNR_DB = 3.0, 2.0
# Allowed |simulated − real| per band (km): RSSI median, SNR median (measured, seeds 1 and 2).
ALLOWED_GAP_DB = {
    (0, 0.5): (ISSUE_RSSI_DB, ISSUE_SNR_DB),  # 0, −1.25
    (0.5, 1): (ISSUE_RSSI_DB, ISSUE_SNR_DB),  # +1..+2, +1.25
    (1, 2): (ISSUE_RSSI_DB, 5.0),  # +3, +4.55: SNR not met (real frames 2 dB under RSSI − floor)
    (2, 3): (ISSUE_RSSI_DB, ISSUE_SNR_DB),  # −3, +1.2
    (3, 5): (ISSUE_RSSI_DB, 3.0),  # −2..−3, −2..−2.5: SNR not met
    (5, 7.5): (ISSUE_RSSI_DB, ISSUE_SNR_DB),  # 0, −1.5..−1.75
    (7.5, 10): (9.5, 6.5),  # +8..+9, +5.3..+6: not met (149 real frames, 30 hotspots)
    (10, 15): (ISSUE_RSSI_DB, ISSUE_SNR_DB),  # 0, −0.25..−0.5
}


@pytest.fixture(scope="module")
def real() -> G.Receptions:
    r = G.load_real()
    assert r.distance_m.size > 21_000  # of 38,537 rows, those with a device–hotspot distance
    return r


@pytest.fixture(scope="module")
def simulated(real) -> tuple[G.Receptions, np.ndarray, np.ndarray]:
    sim, ok = G.simulate(
        real,
        P.GRENOBLE_2023,
        ch.HELIUM,
        pop.HELIUM_SITING,
        seed=1,
        links=LINKS,
        site_floor_dbm=G.site_floors(real, G.load_hotspot_ids()),
        extra_loss_db=G.sensor_loss_db(G.load_sensors()),
    )
    return sim, ok, G.frame_weights(ok, LINKS)


def _in_band(d: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    return (d >= band[0] * 1000) & (d < band[1] * 1000)


def test_real_band_medians_are_the_documented_ones(real) -> None:
    # sim_radio/data/README.md quotes these from the dataset.
    med = {b: float(np.median(real.rssi_dbm[_in_band(real.distance_m, b)])) for b in ALLOWED_GAP_DB}
    assert med[(0, 0.5)] == -113 and med[(1, 2)] == -124 and med[(7.5, 10)] == -131


@pytest.mark.parametrize("band", list(ALLOWED_GAP_DB))
def test_each_band_received_only_medians(real, simulated, band) -> None:
    sim, ok, w = simulated
    r = _in_band(real.distance_m, band)
    s = _in_band(sim.distance_m, band) & ok
    assert r.sum() >= 100 and s.sum() >= 400
    rssi_gap, snr_gap = ALLOWED_GAP_DB[band]
    real_rssi, real_snr = np.median(real.rssi_dbm[r]), np.median(real.snr_db[r])
    sim_rssi = G.weighted_percentile(sim.rssi_dbm[s], w[s], 50)
    sim_snr = G.weighted_percentile(sim.snr_db[s], w[s], 50)
    assert abs(sim_rssi - real_rssi) <= rssi_gap, (band, real_rssi, sim_rssi)
    assert abs(sim_snr - real_snr) <= snr_gap, (band, real_snr, sim_snr)


def test_the_issue_tolerance_is_met_in_most_bands() -> None:
    rssi_met = sum(r <= ISSUE_RSSI_DB for r, _ in ALLOWED_GAP_DB.values())
    snr_met = sum(s <= ISSUE_SNR_DB for _, s in ALLOWED_GAP_DB.values())
    assert (rssi_met, snr_met) == (7, 5)


def test_pooled_rssi_matches(real, simulated) -> None:
    sim, ok, w = simulated
    for q, allowed in ((10, 2.5), (25, 1.5), (50, 1.0), (75, 2.5), (90, 3.5)):  # measured 2,1,0,2,3
        gap = G.weighted_percentile(sim.rssi_dbm[ok], w[ok], q) - np.percentile(real.rssi_dbm, q)
        assert abs(gap) <= allowed, (q, gap)


def test_snr_goes_below_the_nominal_floor_as_the_real_one_does(real, simulated) -> None:
    sim, ok, w = simulated
    floor = link.DEMOD_SNR_FLOOR_DB[12]
    real_p5 = np.percentile(real.snr_db, 5)
    sim_p5 = G.weighted_percentile(sim.snr_db[ok], w[ok], 5)
    assert real_p5 < floor and sim_p5 < floor
    assert abs(sim_p5 - real_p5) <= 1.0, (real_p5, sim_p5)  # −21.8 real, −22.5 simulated
    # Real: 14.8 % of frames reported below the SF12 floor; simulated 14.4 %.
    real_share = (real.snr_db < floor).mean()
    sim_share = w[ok][sim.snr_db[ok] < floor].sum() / w[ok].sum()
    assert abs(sim_share - real_share) <= 0.02, (real_share, sim_share)
    # The hard cut of the static channel never reports more than measurement noise below it.
    hard, hard_ok = G.simulate(real, P.GRENOBLE_2023, ch.STATIC, pop.HELIUM_SITING, links=2)
    assert np.percentile(hard.snr_db[hard_ok], 1) >= floor - 1.5


def test_site_floors_are_each_hotspots_median_negative_snr_floor() -> None:
    r = G.Receptions(
        np.ones(13), np.array([-120.0] * 12 + [-90.0]), np.array([-10.0] * 11 + [-14.0, 5.0]),
        np.full(13, 12),
    )
    ids = ["a"] * 11 + ["b", "a"]
    got = G.site_floors(r, ids)
    # a: eleven frames at −120 − (−10) = −110 with a negative SNR (the +5 dB one is not used);
    # b: one frame, fewer than MIN_FLOOR_FRAMES, unknown.
    assert got[0] == -110.0 and got[12] == -110.0 and np.isnan(got[11])


def test_frame_weights_count_each_real_frame_once() -> None:
    ok = np.array([True, True, False, False, False, False, True, False, False])
    w = G.frame_weights(ok, 3)
    assert w.tolist() == [0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    assert G.weighted_percentile(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 2.0]), 50) == 2.0


def test_the_noise_floor_constants_are_the_fitted_ones(real) -> None:
    from sim_radio.calibration.fit_grenoble import noise_floor_fit

    fit = noise_floor_fit(real, G.load_hotspot_ids())
    assert fit["hotspots"] >= 80
    s = pop.HELIUM_SITING
    mean = s.noise_excess_db[0] + (1 - s.indoor_share) * s.outdoor_noise_offset_db
    assert mean == pytest.approx(fit["site_excess_median_db"], abs=0.5)
    assert s.noise_excess_db[1] == pytest.approx(fit["site_excess_sigma_db"], abs=0.5)
    assert ch.HELIUM.noise_time_sigma_db == pytest.approx(fit["hourly_sigma_db"], abs=0.5)
