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
    assert out["noise"]["hotspots"] >= 80


def test_the_preset_is_a_fixed_point_of_the_fit() -> None:
    # One more round of the fit, started from the preset and the sensor losses as they are
    # pasted in the code, moves nothing by more than the fit's own jitter: they are what the
    # script produced (a full run, `python -m sim_radio.calibration.fit_grenoble`, takes a
    # minute and prints exactly GRENOBLE_LOSS_DB and SENSOR_LOSS_DB).
    replay = F.Replay.load()
    start = (P.GRENOBLE_LOSS_DB, G.sensor_loss_db(replay.sensors))
    curve, sensors = F.fit_curve(replay, P.GRENOBLE_SIGMA_DB, ch.HELIUM, F.LINKS, 1, start=start)
    assert np.abs(np.array(curve.loss_db) - P.GRENOBLE_LOSS_DB).max() <= 1.0
    assert np.abs(sensors - start[1]).max() <= 0.5
    assert P.GRENOBLE_SIGMA_DB in F.SIGMAS_DB
