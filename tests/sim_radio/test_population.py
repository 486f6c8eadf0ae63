"""Population layouts: uniform in area, clustered around centres, real positions from CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim_radio import population as pop
from sim_radio.population import (
    CityCentre,
    PopulationError,
    arc_m,
    build_hotspots,
    clustered,
    from_csv,
    radio_horizon_m,
    to_xyz,
    uniform,
)


def test_uniform_is_uniform_in_area_not_in_degrees() -> None:
    lat, lon = uniform(200_000, (0.0, 0.0, 60.0, 10.0), np.random.default_rng(1))
    assert lat.min() >= 0 and lat.max() <= 60 and lon.min() >= 0 and lon.max() <= 10
    # Area between latitudes ∝ Δsin(lat): the 0–30° band holds sin 30° / sin 60° = 57.7 %.
    assert (lat < 30).mean() == pytest.approx(0.5 / np.sin(np.radians(60)), abs=0.005)


def test_clustered_spreads_around_centres_by_weight() -> None:
    centres = [CityCentre(45.0, 5.0, weight=3, radius_km=2), CityCentre(48.0, 2.0, 1, 5)]
    lat, _ = clustered(40_000, centres, np.random.default_rng(2))
    first = np.abs(lat - 45.0) < 1.0
    assert first.mean() == pytest.approx(0.75, abs=0.01)
    north_km = (lat[first] - 45.0) * 111.195
    assert north_km.std() == pytest.approx(2.0, rel=0.03)
    lat2, _ = clustered(1000, centres, np.random.default_rng(2), 0.3, (40, 0, 50, 10))
    assert lat2.size == 1000


def test_distance_and_horizon() -> None:
    xyz = to_xyz(np.array([0.0, 0.0]), np.array([0.0, 1.0]))
    chord = np.linalg.norm(xyz[0] - xyz[1])
    assert float(arc_m(chord)) == pytest.approx(6_371_008.8 * np.radians(1.0), rel=1e-9)
    # 4/3-Earth horizon: 4.12·(√h1 + √h2) km, the textbook rule of thumb.
    assert float(radio_horizon_m(10.0, 10.0)) == pytest.approx(2 * 4.12e3 * np.sqrt(10), rel=0.001)


def test_build_hotspots_follows_the_mix() -> None:
    lat, lon = uniform(4000, (45, 5, 46, 6), np.random.default_rng(3))
    hs = build_hotspots(
        lat,
        lon,
        np.random.default_rng(4),
        "US915",
        {"sx1302": 3, "sx1276": 1},
        (2.0, 8.0),
        (5.0, 6.0),
        1.5,
    )
    kinds = [h.radio_kind for h in hs]
    assert kinds.count("sx1302") / len(hs) == pytest.approx(0.75, abs=0.03)
    assert {h.gain_dbi_x10 for h in hs} == {20, 80}
    assert all(5.0 <= h.height_m <= 6.0 and h.region == "US915" for h in hs)
    assert len({h.node_id for h in hs}) == len(hs)


def test_csv_errors_are_clear(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("latitude,longitude\n1,2\n")
    with pytest.raises(PopulationError, match="no column"):
        from_csv(tmp_path / "x.csv")
    (tmp_path / "y.csv").write_text("lat,lng\n0,0\n")
    with pytest.raises(PopulationError, match="no rows"):
        from_csv(tmp_path / "y.csv")
    with pytest.raises(PopulationError, match="cannot read"):
        from_csv(tmp_path / "missing.csv")


def test_helium_siting_draws_its_table() -> None:
    n = 50_000
    sites = pop.draw_sites(n, pop.HELIUM_SITING, np.random.default_rng(1))
    for gain, share in pop.HELIUM_SITING.gains_dbi:
        assert (sites.gain_dbi == gain).mean() == pytest.approx(share, abs=0.01)
    assert sites.indoor.mean() == pytest.approx(pop.HELIUM_SITING.indoor_share, abs=0.01)
    assert (sites.entry_loss_db[~sites.indoor] == 0).all()
    # Gaussian clipped at 0: its median is the table's mean.
    assert np.median(sites.entry_loss_db[sites.indoor]) == pytest.approx(12.4, abs=0.3)
    lo, hi = pop.HELIUM_SITING.outdoor_cable_db
    assert lo <= sites.cable_loss_db[~sites.indoor].min() <= sites.cable_loss_db.max() <= hi
    assert (sites.noise_excess_db >= 0).all()


def test_known_gains_and_heights_replace_the_drawn_ones() -> None:
    lat, lon = np.array([45.0, 45.1]), np.array([5.0, 5.1])
    hs = pop.build_hotspots(
        lat,
        lon,
        np.random.default_rng(1),
        siting=pop.HELIUM_SITING,
        known_gain_dbi=np.array([6.5, np.nan]),
        known_height_m=np.array([np.nan, 42.0]),
    )
    assert hs[0].gain_dbi_x10 == 65 and hs[1].height_m == 42.0
    assert hs[1].gain_dbi_x10 in {12, 40, 23, 80, 58} and hs[0].height_m != 42.0


def test_csv_gain_and_elevation_columns_are_optional(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("lat,lng,gain_dbi,elevation_m\n45.0,5.0,5.8,12\n45.1,5.1,,\n45.2,5.2,99,3\n")
    rows = pop.read_csv(path)
    assert rows.gain_dbi[0] == 5.8 and rows.elevation_m[0] == 12.0
    # Empty, and outside the accepted range (a gain of 99 dBi): unknown, drawn later.
    assert np.isnan(rows.gain_dbi[1]) and np.isnan(rows.elevation_m[1])
    assert np.isnan(rows.gain_dbi[2]) and rows.elevation_m[2] == 3.0
    plain = tmp_path / "plain.csv"
    plain.write_text("lat,lng\n45.0,5.0\n")
    assert np.isnan(pop.read_csv(plain).gain_dbi).all()
    with pytest.raises(PopulationError, match=r"no column.*gain"):
        pop.read_csv(plain, gain_column="gain")
    named = tmp_path / "named.csv"
    named.write_text("y,x,g,h\n45.0,5.0,8,30\n")
    rows = pop.read_csv(named, "y", "x", gain_column="g", elevation_column="h")
    assert (rows.gain_dbi[0], rows.elevation_m[0]) == (8.0, 30.0)
