"""The fit script: its monotone step on a worked example, its refusal of bad arguments, and a
short run that prints what docs/simulator-models.md quotes."""

from __future__ import annotations

import json

import numpy as np
import pytest

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
