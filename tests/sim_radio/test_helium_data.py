"""The urban preset against real Helium receptions (CampusIoT, Grenoble, 2021–2023).

The dataset holds only frames that were received, so RSSI sits near the sensitivity floor at
every distance (sim_radio/data/README.md). We therefore compare what the simulator would have
*received* at the same distances: for each real SF12 reception, 20 simulated links at its
distance (14 dBm sensor, 3 dBi / 0.5 dB hotspot, the SX1302 profile), keep those above
sensitivity, and compare RSSI distributions.

What the data shows: pooled over distance, the Petäjäjärvi 2015 preset's received-only RSSI is
within 4 dB of the real one at every decile we check. Per distance band the real curve is
flatter than any log-distance fit: close in it is weaker (indoor sensors, ELSYS EMS), beyond
10 km stronger (a few elevated hotspots across the valley in line of sight). Within the preset's
validity (1–15 km) and up to 10 km, each band's real median lies inside the simulated 5–95 %
range and within 12 dB of the simulated median (measured: 9, 7, 11, 10, 1 dB; in 3–7.5 km the
real median sits at the simulated 90th percentile). The 10–15 km band is the known gap (16 dB),
checked so a change that widens it is noticed. Below 1 km the preset is extrapolated.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
from pathlib import Path

import numpy as np
import pytest

from sim_radio import propagation as P
from sim_radio import reception as R

ROOT = Path(__file__).resolve().parents[2]
UPLINKS = ROOT / "sim_radio" / "data" / "helium" / "campusiot_helium_uplinks_grenoble.csv.gz"

SENSOR_EIRP_DBM = 14.0  # EU868 end devices; Petäjäjärvi's node also sent 14 dBm
HOTSPOT_GAIN_DBI = 3.0
HOTSPOT_CABLE_DB = 0.5
LINKS_PER_RECEPTION = 20


@pytest.fixture(scope="module")
def real() -> tuple[np.ndarray, np.ndarray]:
    text = gzip.decompress(UPLINKS.read_bytes()).decode()
    d, rssi = [], []
    for row in csv.DictReader(io.StringIO(text)):
        if row["datarate"] == "SF12BW125" and row["distance_m"]:
            d.append(float(row["distance_m"]))
            rssi.append(float(row["rssi_dbm"]))
    assert len(d) > 15_000
    return np.array(d), np.array(rssi)


@pytest.fixture(scope="module")
def simulated(real) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    distance, _ = real
    model = P.preset("petajajarvi2015")
    kind = R.RADIO_KINDS["sx1302"]
    d = np.repeat(np.maximum(distance, 1.0), LINKS_PER_RECEPTION)
    keys = np.arange(d.size, dtype=np.uint64)
    loss = model.median_loss_db(d, 868.1e6, strict=False) + P.shadowing_db(
        1, keys, keys + np.uint64(10**9), model.shadowing_sigma_db
    )
    power = R.received_power_dbm(
        SENSOR_EIRP_DBM, 0.0, 0.0, HOTSPOT_GAIN_DBI, HOTSPOT_CABLE_DB, loss
    )
    received = R.decodable(power, 12, 125_000, kind.noise_figure_db)
    rssi, _ = R.report(power, 125_000, kind, 1, keys, keys, np.zeros(d.size, np.uint64))
    return d, rssi, received


def test_pooled_received_only_rssi_matches(real, simulated) -> None:
    _, real_rssi = real
    _, rssi, received = simulated
    deciles = [10, 25, 50, 75, 90]
    gap = np.abs(np.percentile(rssi[received], deciles) - np.percentile(real_rssi, deciles))
    assert (gap <= 4.0).all(), dict(zip(deciles, gap.round(1), strict=True))


@pytest.mark.parametrize("band_km", [(1, 2), (2, 3), (3, 5), (5, 7.5), (7.5, 10)])
def test_each_band_median_inside_the_simulated_spread(real, simulated, band_km) -> None:
    distance, real_rssi = real
    d, rssi, received = simulated
    lo, hi = band_km[0] * 1000, band_km[1] * 1000
    real_band = real_rssi[(distance >= lo) & (distance < hi)]
    sim_band = rssi[received & (d >= lo) & (d < hi)]
    assert real_band.size >= 100 and sim_band.size >= 1000
    p5, median, p95 = np.percentile(sim_band, [5, 50, 95])
    real_median = np.median(real_band)
    assert p5 <= real_median <= p95, (band_km, real_median, p5, p95)
    assert abs(real_median - median) <= 12.0, (band_km, real_median, median)


def test_known_gap_beyond_10_km(real, simulated) -> None:
    distance, real_rssi = real
    d, rssi, received = simulated
    real_med = np.median(real_rssi[(distance >= 10_000) & (distance < 15_000)])
    sim_med = np.median(rssi[received & (d >= 10_000) & (d < 15_000)])
    assert 0 < real_med - sim_med <= 20


def test_reception_thins_out_with_distance(simulated) -> None:
    d, _, received = simulated
    edges = [0, 1000, 3000, 7500, 15000]
    fractions = [received[(d >= a) & (d < b)].mean() for a, b in itertools.pairwise(edges)]
    assert fractions == sorted(fractions, reverse=True)
    assert fractions[0] > 0.95 and fractions[-1] < 0.8
