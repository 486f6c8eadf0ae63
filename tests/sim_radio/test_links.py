"""The links CSV and the witness graph's statistics (sim_radio/links.py), on hand-made
receptions with distances worked out independently, and through `pocnet-sim run --links`."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from sim_radio.adversaries import FLAG_INFLATED, FLAG_RELAYED, Assignment, Claim, WitnessReports
from sim_radio.cli import main
from sim_radio.links import COLUMNS, LinkLog
from sim_radio.population import EARTH_RADIUS_M, Hotspot

SMALL_TOWN = Path(__file__).resolve().parents[2] / "sim_radio" / "scenarios" / "small_town.toml"
# Four hotspots on the equator: 0.01° of longitude apart = 2π·R/36000 each.
STEP_M = 2 * math.pi * EARTH_RADIUS_M / 36_000


def _assignment() -> Assignment:
    hotspots = tuple(Hotspot(f"h{i}", 0.0, 0.01 * i) for i in range(4))
    # h3 asserts two steps east of where it stands
    claims = (*(Claim(0.0, 0.01 * i, None, None) for i in range(3)), Claim(0.0, 0.05, None, None))
    return Assignment(hotspots, claims, {})


def _reports(pairs: list[tuple[int, int]], flags: list[int] | None = None) -> WitnessReports:
    n = len(pairs)
    return WitnessReports(
        np.arange(n, dtype=np.int64), np.array([b for b, _ in pairs], np.int32),
        np.array([w for _, w in pairs], np.int32), np.full(n, -100.0, np.float32),
        np.full(n, 5.25, np.float32), np.zeros(n, np.int64),
        np.array(flags or [0] * n, np.uint8))


def test_rows_carry_distances_verdicts_and_flags() -> None:
    log = LinkLog(_assignment())
    log.add_round(0, _reports([(0, 1), (2, 3)], [0, FLAG_RELAYED | FLAG_INFLATED]),
                  [b"a", b"b"])
    log.add_round(5, _reports([(1, 0)]), [b"c"])
    out = io.StringIO()
    assert log.write_csv(out, {b"a": (True, ""), b"b": (False, "bad_rssi")}, {b"a", b"b"}) == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == COLUMNS
    assert [(r["epoch"], r["window"]) for r in rows] == [("0", "0"), ("0", "0"), ("1", "5")]
    assert float(rows[0]["true_distance_m"]) == pytest.approx(STEP_M, abs=0.1)
    assert float(rows[1]["true_distance_m"]) == pytest.approx(STEP_M, abs=0.1)
    assert float(rows[1]["asserted_distance_m"]) == pytest.approx(3 * STEP_M, abs=0.1)
    assert [r["delivered"] for r in rows] == ["1", "1", "0"]
    assert [(r["valid"], r["reason"]) for r in rows] == [("1", ""), ("0", "bad_rssi"), ("", "")]
    assert rows[1]["flags"] == "relayed+inflated" and rows[0]["flags"] == ""


def test_without_an_oracle_the_verdict_columns_are_empty() -> None:
    log = LinkLog(_assignment())
    log.add_round(0, _reports([(0, 1)]))
    out = io.StringIO()
    log.write_csv(out)
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert (row["delivered"], row["valid"], row["reason"]) == ("", "", "")


def test_graph_statistics() -> None:
    log = LinkLog(_assignment())
    # 0→1 twice and 1→0 (one neighbour pair, two links), 0→2; h3 hears nobody.
    log.add_round(0, _reports([(0, 1), (0, 1), (1, 0), (0, 2)]))
    stats = log.graph_stats()
    assert stats["links"] == 3 and stats["isolated_hotspots"] == 1
    assert stats["degree"]["max"] == 2  # h0: h1 and h2
    assert stats["degree"]["p50"] == 1.0  # degrees 2, 1, 1, 0
    assert stats["link_distance_m"]["p50"] == pytest.approx(STEP_M, abs=0.1)


def test_an_empty_run_has_no_percentiles() -> None:
    stats = LinkLog(_assignment()).graph_stats()
    assert stats["links"] == 0 and stats["isolated_hotspots"] == 4
    assert stats["link_distance_m"]["p50"] is None


def test_run_writes_links_and_graph(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    links = tmp_path / "links.csv"
    assert main(["run", str(SMALL_TOWN), "--rounds", "1", "--json", "--links", str(links)]) == 0
    doc = json.loads(capsys.readouterr().out)
    with links.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == doc["rounds"][0]["witness_reports"]
    assert doc["witness_graph"]["links"] == len({(r["beaconer"], r["witness"]) for r in rows})
    code = main(["run", str(SMALL_TOWN), "--links", str(tmp_path / "no" / "links.csv")])
    assert code == 2 and "does not exist" in capsys.readouterr().err
