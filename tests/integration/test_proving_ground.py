"""End to end (slow, ~1 min): `pocnet-sim epochs` on 50 hotspots, 2 epochs, one cheater of each
class (a pair for the group cheats), through a real oracle's import, verify, rewards and payout
(the embedded Solana VM), scored against the scenario's ground truth.

Expected values come from the scenario and docs/protocol.md, not from the code under test: the class
sizes from the shares; a hotspot asserting 20 km from its honest GPS fails §5's GPS rule
(> 400 m) on every report; 60 dB of RSSI inflation exceeds §5's free-space bound on links of a
few km; a wrong clock is invisible (§5 times by the oracle's clock); PoC gets at most 80 % of
the emission (§6: 6 + 24 + the unused 50 % of data transfer).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from sim_radio.cli import main

SCENARIO = """
name = "proving-small"
seed = 11
region = "EU868"
start = "2026-01-05T00:00:00Z"

[population]
kind = "uniform"
count = 50
box = [51.955, 5.630, 51.985, 5.690]

[propagation]
preset = "petajajarvi2015"

[adversaries.false_location]
share = 0.02
offset_km = 20
gps = "honest"

[adversaries.rssi_inflation]
share = 0.02
db = 60

[adversaries.attenuator]
share = 0.02

[adversaries.shared_antenna]
share = 0.04
group = 2

[adversaries.collusion_ring]
share = 0.04
size = 2

[adversaries.beacon_relay]
share = 0.02

[adversaries.replay]
share = 0.02

[adversaries.clock_offset]
share = 0.02
"""
CLASS_SIZES = {"honest": 40, "false_location": 1, "rssi_inflation": 1, "attenuator": 1,
               "shared_antenna": 2, "collusion_ring": 2, "beacon_relay": 1, "replay": 1,
               "clock_offset": 1}


@pytest.mark.slow(minutes=1)
@pytest.mark.timeout(900)
def test_two_epochs_through_the_real_oracle(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    scenario = tmp_path / "proving.toml"
    scenario.write_text(SCENARIO)
    links = tmp_path / "links.csv"
    page = tmp_path / "map.html"
    code = main(["epochs", str(scenario), "--epochs", "2", "--json", "--links", str(links),
                 "--out", str(tmp_path / "out"), "--map", str(page)])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    rows = {row["class"]: row for row in result["scoreboard"]}
    assert {name: row["hotspots"] for name, row in rows.items()} == CLASS_SIZES
    assert rows["false_location"]["caught"] == 1.0
    assert rows["rssi_inflation"]["caught"] == 1.0
    assert rows["clock_offset"]["caught"] == 0.0
    assert rows["honest"]["relative_reward"] == 1.0
    total_share = sum(row["emission_share"] for row in rows.values())
    # The PoC pools are 80 % of the emission; each row's share is rounded to 4 decimals.
    assert 0 < total_share <= 0.8 + 0.00005 * len(rows)
    assert result["cheaters_emission_share"] < total_share
    # The payout landed on the embedded VM exactly as the manifests say, both runs.
    assert result["payout_matches_manifest"] is True
    assert [e["epoch"] for e in result["epochs_run"]] == [20458, 20459]  # 2026-01-05, -06
    # Reports both passes send were signed once, by whichever pass reached the window first,
    # and the oracles, which check every signature, stored them all (a refusal fails the run).
    reused = result["signatures_reused"]
    assert set(reused) == {"scenario", "without_adversaries"} and sum(reused.values()) > 0
    assert not result["imported"]["rejected"]
    # Honest hotspots are judged alike without adversaries, except where a cheater's beacon
    # or reciprocity (who else was valid) decides.
    alike = result["honest_verdicts_without_adversaries"]
    assert alike["unexplained"] == 0 and alike["same"] > 0.9 * alike["compared"]
    made = result["made_of"]
    assert made["seed"] == 11 and made["propagation"] == "petajajarvi2015"
    assert len(made["scenario_sha256"]) == 64
    graph = result["witness_graph"]
    assert graph["isolated_hotspots"] == 0 and graph["degree"]["max"] <= 49
    with links.open() as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == ["epoch", "window", "beaconer", "witness", "true_distance_m",
                              "asserted_distance_m", "rssi_dbm", "snr_db", "delivered", "valid",
                              "reason", "flags"]
    assert {r["epoch"] for r in table} == {"0", "1"} and {r["window"] for r in table} == {
        str(w) for w in range(8)}
    assert all(r["delivered"] == "1" and r["valid"] in ("0", "1") for r in table)
    assert all((r["valid"] == "0") == bool(r["reason"]) for r in table)
    assert graph["links"] == len({(r["beaconer"], r["witness"]) for r in table})
    # The map of the last epoch: every hotspot, and a true place for each one that asserts
    # somewhere else (the false-location cheats, the shared antenna's members).
    drawn = result["map"]
    assert drawn["epoch"] == 20459 and drawn["hotspots"] == sum(CLASS_SIZES.values())
    assert drawn["overlay"] >= CLASS_SIZES["false_location"] and page.stat().st_size > 1_000_000
