"""The fit script: its monotone step on a worked example, its refusal of bad arguments, and a
short run that prints what docs/simulator-models.md quotes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim_radio import channel as ch
from sim_radio import propagation as P
from sim_radio.calibration import fit_grenoble as F
from sim_radio.calibration import grenoble as G


def test_non_decreasing_pools_adjacent_violators_by_weight() -> None:
    # 3, 1 violate: pooled to their weighted mean (3·1 + 1·3) / 4 = 1.5; 5 stays.
    got = F.non_decreasing(np.array([3.0, 1.0, 5.0]), np.array([1.0, 3.0, 1.0]))
    assert got.tolist() == [1.5, 1.5, 5.0]
    # A later violation reaching back pools three.
    got = F.non_decreasing(np.array([1.0, 4.0, 3.0, 2.0]), np.ones(4))
    assert got.tolist() == [1.0, 3.0, 3.0, 3.0]
    ordered = np.array([1.0, 2.0, 2.0, 7.0])
    assert F.non_decreasing(ordered, np.ones(4)).tolist() == ordered.tolist()


def test_bad_arguments_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert F.main(["--links", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--links" in err


def test_a_short_fit_reports_every_band(capsys: pytest.CaptureFixture[str]) -> None:
    assert F.main(["--links", "1", "--rounds", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bands"][0]["band_km"] == [0, 0.5] and len(out["bands"]) == 8
    loss = np.array(out["loss_db"])
    assert (np.diff(loss) >= 0).all()  # the median loss never falls with distance
    assert out["shadowing_sigma_db"] in F.SIGMAS_DB
    assert set(out["sensor_loss_db"]) == set(G.SENSOR_LOSS_DB)
    # One loss per hotspot with at least MIN_RECEIVER_FRAMES real frames (49 of 370).
    assert set(out["receiver_loss_db"]) == set(F.Replay.load().receivers)
    assert len(out["receiver_loss_db"]) == 49
    assert out["noise"]["hotspots"] >= 80


def test_the_preset_is_a_fixed_point_of_the_fit() -> None:
    # One more round of the fit, started from the preset, the sensor losses and the receiver
    # losses as they are in the code and grenoble_receivers.json, moves nothing by more than the
    # fit's own jitter: they are what the script produced (a full run, `python -m
    # sim_radio.calibration.fit_grenoble --write`, takes a minute, prints exactly
    # GRENOBLE_LOSS_DB and SENSOR_LOSS_DB and writes the receivers' file).
    replay = F.Replay.load()
    start = (
        P.GRENOBLE_LOSS_DB,
        F.Offsets(G.sensor_loss_db(replay.sensors), G.receiver_losses(replay.receivers)),
    )
    assert not np.isnan(start[1].receivers).any()
    curve, got = F.fit_curve(replay, P.GRENOBLE_SIGMA_DB, ch.HELIUM, F.LINKS, 1, start=start)
    # A round moves a knot by 1.2 × its band's gap, and band medians come in whole dB (the
    # radios' RSSI step): a fixed point moves no knot by more than 1.2 × 1 dB.
    assert np.abs(np.array(curve.loss_db) - P.GRENOBLE_LOSS_DB).max() <= 1.2 + 1e-9
    assert np.abs(got.sensors - start[1].sensors).max() <= 0.5
    assert np.abs(got.receivers - start[1].receivers).max() <= 1.0
    assert P.GRENOBLE_SIGMA_DB in F.SIGMAS_DB
    assert ch.HELIUM.decode_scale_db in F.DECODE_SCALES_DB
    assert ch.HELIUM.decode_offset_db in F.DECODE_OFFSETS_DB


def test_bands_weigh_their_distinct_links_not_their_frames() -> None:
    # 0–0.5 km: two frames of sensor 0 at hotspot 0 and one of sensor 1 there: two links.
    # 10–15 km: five frames of one sensor at one hotspot: one link, however many frames.
    d = np.array([300.0, 300.0, 300.0] + [12_000.0] * 5)
    real = G.Receptions(d, np.zeros(8), np.zeros(8), np.full(8, 12))
    replay = F.Replay(
        real,
        G.Floors(np.zeros(8), np.zeros(8, bool)),
        ["s0", "s1"],
        np.array([0, 0, 1, 0, 0, 0, 0, 0]),
        [],
        np.full(8, -1),
        np.array([0, 0, 0, 1, 1, 1, 1, 1]),
    )
    assert replay.band_links().tolist() == [2, 0, 0, 0, 0, 0, 0, 1]


def test_the_real_bands_links_are_counted_from_the_data() -> None:
    replay = F.Replay.load()
    sensors, hotspots = G.load_sensors(), G.load_hotspot_ids()
    d = replay.real.distance_m
    expected = [
        len({(sensors[i], hotspots[i]) for i in np.flatnonzero((d >= lo * 1e3) & (d < hi * 1e3))})
        for lo, hi in G.BANDS_KM
    ]
    assert replay.band_links().tolist() == expected
    assert expected[-2:] == [33, 8]  # docs/simulator-models.md: 149 frames, 1,087 frames
