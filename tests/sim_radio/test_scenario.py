"""Scenario files: the shipped ones load, a CSV population is found relative to its file, and
every mistake in a file is reported on its own line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from sim_radio.scenario import ScenarioError, build, load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "sim_radio" / "scenarios"
HELIUM_HOTSPOTS = (
    ROOT / "sim_radio" / "data" / "helium" / "tomtobback_2022-02_top7000_data_hotspots.csv.gz"
)


@pytest.mark.parametrize(
    ("name", "count"), [("small_town", 50), ("city", 400), ("country", 100_000)]
)
def test_shipped_scenarios_load(name: str, count: int) -> None:
    s = load_scenario(SCENARIOS / f"{name}.toml")
    assert s.population["count"] == count
    assert s.adversaries and all(0 < a.share < 1 for a in s.adversaries)


def test_small_town_builds_reproducibly() -> None:
    s = load_scenario(SCENARIOS / "small_town.toml")
    mesh, assignment = build(s)
    again, _ = build(s)
    assert len(mesh.hotspots) == 50 and mesh.hotspots == again.hotspots
    assert len(assignment.dishonest) == 14
    assert {h.radio_kind for h in mesh.hotspots} <= {"sx1302", "sx1301", "sx1262", "sx1276"}
    assert all(4.0 <= h.height_m <= 15.0 for h in mesh.hotspots)


def test_real_helium_hotspots_by_relative_path() -> None:
    s = load_scenario(SCENARIOS / "helium_2022.toml")
    assert s.population_path() == HELIUM_HOTSPOTS.resolve()
    mesh, _ = build(s)
    assert len(mesh.hotspots) == 6904  # the README's count of located hotspots


def _write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_population_relative_to_the_file_and_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    rows = "lat,lng\n45.0,5.0\n0,0\n45.01,5.01\n,\nbad,5\n45.02,5.02\n"
    (tmp_path / "data" / "pts.csv").write_text(rows)
    (tmp_path / "other.csv.gz").write_bytes(gzip.compress(b"lat,lng\n10,10\n10.01,10\n"))
    sub = tmp_path / "scen"
    sub.mkdir()
    path = _write(sub, '[population]\nkind = "csv"\npath = "../data/pts.csv"\n')
    mesh, _ = build(load_scenario(path))
    assert [(h.lat, h.lon) for h in mesh.hotspots] == [(45.0, 5.0), (45.01, 5.01), (45.02, 5.02)]
    override = load_scenario(path, population_path=tmp_path / "other.csv.gz")
    mesh, _ = build(override)
    assert [h.lat for h in mesh.hotspots] == [10.0, 10.01]


BAD = """
seed = -1
region = "EU999"
rounds = 0
colour = "blue"

[population]
kind = "uniform"
count = 0
box = [46, 5, 45, 6]

[hardware]
height_m = [20, 5]

[radios]
sx1302 = 0.5
sx9999 = 0.5

[propagation]
preset = "okumura-mars"
collisions = "yes"

[adversaries.replay]
share = 0.7

[adversaries.clock_offset]
share = 0.5
hours = "many"

[adversaries.teleport]
share = 0.1
"""

EXPECTED = [
    "colour: unknown key",
    "seed: -1 outside",
    "rounds: 0 outside",
    "region: unknown region 'EU999'",
    "population.count: 0 outside",
    "population.box: expected [lat_min, lon_min, lat_max, lon_max]",
    "hardware.height_m: expected [low, high] metres",
    "radios.sx9999: unknown radio kind",
    "propagation.preset: unknown 'okumura-mars'",
    "propagation.collisions: expected true or false",
    "adversaries.clock_offset.hours: expected a number",
    "adversaries.teleport: unknown behaviour",
    "adversaries: shares add up to 1.2, more than 1",
]


def test_every_mistake_gets_one_line(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, BAD))
    errors = info.value.errors
    assert len(errors) == len(EXPECTED), "\n".join(errors)
    for line, expected in zip(errors, EXPECTED, strict=True):
        assert line.startswith("s.toml: ") and expected in line, (line, expected)
    assert str(info.value).count("\n") == len(EXPECTED) - 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[population]\nkind = 'grid'\n", "population.kind: expected one of"),
        ("[population]\nkind = 'clustered'\ncount = 5\n", "population.centres: expected a list"),
        (
            "[population]\nkind = 'clustered'\ncount = 5\ncentres = [{lat = 95, lon = 0}]\n",
            "population.centres[0].lat: 95 outside",
        ),
        ("[population]\nkind = 'csv'\npath = 'nowhere.csv'\n", "population.path: no such file"),
        ("[population]\nkind = 'csv'\n", "population.path: expected"),
        (
            "start = 'yesterday'\n[population]\nkind = 'uniform'\ncount = 1\nbox = [0, 0, 1, 1]\n",
            "start: not an ISO 8601 time",
        ),
        (
            "[population]\nkind = 'uniform'\ncount = 9\nbox = [0, 0, 1, 1]\n"
            "[adversaries.collusion_ring]\nshare = 0.1\nsize = 1\n",
            "adversaries.collusion_ring.size: 1 outside",
        ),
        (
            "[population]\nkind = 'uniform'\ncount = 9\nbox = [0, 0, 1, 1]\n"
            "[adversaries.false_location]\nshare = 0.1\ngps = 'maybe'\n",
            "adversaries.false_location.gps: expected",
        ),
        ("this is = not toml [", "not valid TOML"),
    ],
)
def test_single_mistakes(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ScenarioError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        load_scenario(_write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "nope.toml")


def test_auto_region_from_country_boundaries(tmp_path: Path) -> None:
    # Grenoble (FR), Denver (US), Sydney (AU), and mid-Atlantic (no country: left out).
    (tmp_path / "p.csv").write_text("lat,lng\n45.19,5.72\n39.74,-104.99\n-33.87,151.21\n30,-40\n")
    path = _write(tmp_path, 'region = "auto"\n[population]\nkind = "csv"\npath = "p.csv"\n')
    mesh, _ = build(load_scenario(path))
    assert [h.region for h in mesh.hotspots] == ["EU868", "US915", "AU915"]
    # max EIRP − 3 dBi per plan, capped at the SX1302 card's 27 dBm (US915 would allow 33)
    assert mesh.max_power_dbm.tolist() == [13.0, 27.0, 27.0]


def test_csv_gains_and_elevations_reach_the_mesh_and_siting_draws_the_rest(
    tmp_path: Path,
) -> None:
    (tmp_path / "pts.csv").write_text("lat,lng,gain,agl\n45.0,5.0,6.5,40\n45.01,5.01,,\n")
    path = _write(
        tmp_path,
        '[population]\nkind = "csv"\npath = "pts.csv"\ngain_column = "gain"\n'
        'elevation_column = "agl"\n[hardware]\nsiting = "helium"\n'
        '[propagation]\npreset = "grenoble2023"\nchannel = "helium"\n',
    )
    scenario = load_scenario(path)
    assert scenario.channel.name == "helium" and scenario.siting.name == "helium"
    mesh, _ = build(scenario)
    first, second = mesh.hotspots
    assert (first.gain_dbi_x10, first.height_m) == (65, 40.0)
    assert second.gain_dbi_x10 in {12, 40, 23, 80, 58}
    bad = _write(
        tmp_path,
        '[population]\nkind = "csv"\npath = "pts.csv"\ngain_column = 3\n'
        '[hardware]\nsiting = "roof"\n[propagation]\nchannel = "wild"\n',
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    assert len(err.value.errors) == 3


def test_adversary_parameters_with_their_own_ranges(tmp_path: Path) -> None:
    ok = _write(
        tmp_path,
        '[population]\nkind = "uniform"\ncount = 30\nbox = [45, 5, 45.1, 5.1]\n'
        "[adversaries.constant_report]\nshare = 0.1\nrssi_dbm = -140\nsnr_db = -20\n"
        "[adversaries.shared_antenna]\nshare = 0.1\ngroup = 3\ngrid_km = 1.5\n",
    )
    specs = {s.behaviour: dict(s.params) for s in load_scenario(ok).adversaries}
    assert specs["constant_report"] == {"rssi_dbm": -140, "snr_db": -20}
    assert specs["shared_antenna"]["grid_km"] == 1.5
    bad = _write(
        tmp_path,
        '[population]\nkind = "uniform"\ncount = 30\nbox = [45, 5, 45.1, 5.1]\n'
        "[adversaries.constant_report]\nshare = 0.1\nrssi_dbm = 5\n",
    )
    with pytest.raises(ScenarioError, match=r"rssi_dbm: 5 outside -200\.\.0"):
        load_scenario(bad)
