"""Scenario files: a whole simulated network as data (TOML), checked before anything runs.

A scenario names its population (uniform box, clusters around city centres, or a CSV of
lat/lon given relative to the TOML file), region, propagation preset, hardware and radio mix,
adversary shares, duration (in 6-hour beacon windows) and seed. Every mistake found is reported,
one line each, in one `ScenarioError`, so a user fixes a file in one pass.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from pocnet.errors import UnknownRegionError
from pocnet.regions import get_plan
from sim_radio import population as pop
from sim_radio.adversaries import (
    BEHAVIOURS,
    GROUP_SIZE_KEY,
    PARAM_RANGES,
    AdversarySpec,
    Assignment,
    assign,
)
from sim_radio.channel import CHANNELS, STATIC, Channel
from sim_radio.mesh import BEACON_WINDOW_NS, Mesh
from sim_radio.propagation import PRESETS, PathLossModel, preset
from sim_radio.reception import RADIO_KINDS

DEFAULT_START = "2026-01-01T00:00:00Z"
# region = "auto": each hotspot gets the plan of the country it stands in (docs/protocol.md §3),
# from pocnet.regions.lookup (needs shapely); hotspots in no plan's country are left out.
AUTO_REGION = "auto"
POPULATION_KINDS = ("uniform", "clustered", "csv")
_TOP_KEYS = {
    "name",
    "seed",
    "region",
    "rounds",
    "start",
    "population",
    "hardware",
    "radios",
    "propagation",
    "adversaries",
}
_POP_KEYS = {
    "kind",
    "count",
    "box",
    "centres",
    "background_share",
    "path",
    "lat_column",
    "lon_column",
    "limit",
    "gain_column",
    "elevation_column",
}
_HW_KEYS = {"gains_dbi", "height_m", "cable_loss_db", "siting"}
_PROP_KEYS = {"preset", "sigma_db", "symmetric", "collisions", "cutoff_sigma", "channel"}


class ScenarioError(ValueError):
    """A scenario file with mistakes; `errors` holds one line per mistake."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    seed: int
    region: str
    rounds: int
    start_ns: int
    population: dict[str, Any]
    gains_dbi: tuple[float, ...]
    height_m: tuple[float, float]
    cable_loss_db: float
    radios: dict[str, float]
    model: PathLossModel
    symmetric: bool
    collisions: bool
    cutoff_sigma: float
    adversaries: tuple[AdversarySpec, ...]
    # The time-varying channel (fading, floor, churn) and the per-hotspot installation draws;
    # "static" and none keep the frozen world of the first simulator.
    channel: Channel = STATIC
    siting: pop.Siting | None = None

    def population_path(self) -> Path:
        """A CSV population's file: absolute, or relative to the scenario file."""
        return (self.path.parent / str(self.population["path"])).resolve()


def _num(errors: list[str], where: str, value: Any, lo: float, hi: float, integer: bool = False):
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        errors.append(f"{where}: expected {'an integer' if integer else 'a number'}, got {value!r}")
        return None
    if not lo <= value <= hi or (isinstance(value, float) and math.isnan(value)):
        errors.append(f"{where}: {value!r} outside {lo:g}..{hi:g}")
        return None
    return value


def _unknown(errors: list[str], where: str, table: dict[str, Any], allowed: set[str]) -> None:
    errors.extend(f"{where}{k}: unknown key" for k in sorted(set(table) - allowed))


def _table(errors: list[str], raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        errors.append(f"{key}: expected a table")
        return {}
    return value


def load_scenario(path: Path, population_path: Path | None = None) -> Scenario:
    """Read and check a scenario. `population_path` (from the command line) replaces the
    population with that CSV."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read: {exc.strerror}"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{path}: not valid TOML: {exc}"]) from None
    errors: list[str] = []
    _unknown(errors, "", raw, _TOP_KEYS)
    name = raw.get("name", path.stem)
    seed = _num(errors, "seed", raw.get("seed", 0), 0, 2**63 - 1, integer=True)
    rounds = _num(errors, "rounds", raw.get("rounds", 1), 1, 10_000, integer=True)
    region = str(raw.get("region", "EU868"))
    if region != AUTO_REGION:
        try:
            region = get_plan(region).name
        except UnknownRegionError as exc:
            errors.append(f"region: {exc}")
    start_ns = 0
    try:
        start = datetime.fromisoformat(str(raw.get("start", DEFAULT_START)).replace("Z", "+00:00"))
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        start_ns = int(start.timestamp()) * 1_000_000_000
        start_ns -= start_ns % BEACON_WINDOW_NS  # rounds are whole 6-hour windows
    except ValueError:
        errors.append(f"start: not an ISO 8601 time: {raw.get('start')!r}")

    population = dict(_table(errors, raw, "population"))
    if population_path is not None:
        population = {
            "kind": "csv",
            "path": str(population_path.resolve()),
            **{
                k: v
                for k, v in population.items()
                if k in ("lat_column", "lon_column", "limit", "gain_column", "elevation_column")
            },
        }
    _check_population(errors, population, path)

    hw = _table(errors, raw, "hardware")
    _unknown(errors, "hardware.", hw, _HW_KEYS)
    gains = hw.get("gains_dbi", [3.0])
    if not isinstance(gains, list) or not gains:
        errors.append("hardware.gains_dbi: expected a non-empty list of dBi")
        gains = [3.0]
    gains = [
        g
        for i, g in enumerate(gains)
        if _num(errors, f"hardware.gains_dbi[{i}]", g, -10, 30) is not None
    ]
    heights = hw.get("height_m", [5.0, 15.0])
    if (
        not isinstance(heights, list)
        or len(heights) != 2
        or any(_num(errors, "hardware.height_m", h, 0.5, 500) is None for h in heights)
        or heights[0] > heights[1]
    ):
        errors.append("hardware.height_m: expected [low, high] metres, low <= high")
        heights = [5.0, 15.0]
    cable = _num(errors, "hardware.cable_loss_db", hw.get("cable_loss_db", 0.5), 0, 60)
    siting = None
    if "siting" in hw:
        siting = pop.SITINGS.get(str(hw["siting"]))
        if siting is None:
            errors.append(
                f"hardware.siting: unknown {hw['siting']!r} (one of {', '.join(pop.SITINGS)})"
            )

    radios = _table(errors, raw, "radios") or {"sx1302": 1.0}
    for kind, share in radios.items():
        if kind not in RADIO_KINDS:
            errors.append(f"radios.{kind}: unknown radio kind (one of {', '.join(RADIO_KINDS)})")
        _num(errors, f"radios.{kind}", share, 0, 1)
    if all(isinstance(v, int | float) for v in radios.values()) and sum(radios.values()) <= 0:
        errors.append("radios: shares must add up to more than 0")

    prop = _table(errors, raw, "propagation")
    _unknown(errors, "propagation.", prop, _PROP_KEYS)
    model: PathLossModel = preset("free-space")
    preset_name = prop.get("preset", "petajajarvi2015")
    if preset_name not in PRESETS:
        errors.append(f"propagation.preset: unknown {preset_name!r} (one of {', '.join(PRESETS)})")
    else:
        model = preset(preset_name)
    if (
        "sigma_db" in prop
        and _num(errors, "propagation.sigma_db", prop["sigma_db"], 0, 30) is not None
    ):
        model = replace(model, shadowing_sigma_db=float(prop["sigma_db"]))
    cutoff = _num(errors, "propagation.cutoff_sigma", prop.get("cutoff_sigma", 3.0), 0, 6)
    channel = CHANNELS.get(str(prop.get("channel", STATIC.name)))
    if channel is None:
        errors.append(
            f"propagation.channel: unknown {prop['channel']!r} (one of {', '.join(CHANNELS)})"
        )
    flags = {}
    for key in ("symmetric", "collisions"):
        flags[key] = prop.get(key, True)
        if not isinstance(flags[key], bool):
            errors.append(f"propagation.{key}: expected true or false")

    specs = _check_adversaries(errors, _table(errors, raw, "adversaries"))
    if errors:
        raise ScenarioError([f"{path.name}: {e}" for e in errors])
    return Scenario(
        name=str(name),
        path=path.resolve(),
        seed=int(seed),
        region=region,
        rounds=int(rounds),
        start_ns=start_ns,
        population=population,
        gains_dbi=tuple(float(g) for g in gains),
        height_m=(float(heights[0]), float(heights[1])),
        cable_loss_db=float(cable),
        radios={k: float(v) for k, v in radios.items()},
        model=model,
        symmetric=bool(flags["symmetric"]),
        collisions=bool(flags["collisions"]),
        cutoff_sigma=float(cutoff),
        adversaries=specs,
        channel=channel or STATIC,
        siting=siting,
    )


def _check_population(errors: list[str], p: dict[str, Any], path: Path) -> None:
    _unknown(errors, "population.", p, _POP_KEYS)
    kind = p.get("kind")
    if kind not in POPULATION_KINDS:
        errors.append(
            f"population.kind: expected one of {', '.join(POPULATION_KINDS)}, got {kind!r}"
        )
        return
    if kind in ("uniform", "clustered"):
        _num(errors, "population.count", p.get("count"), 1, 10_000_000, integer=True)
    box = p.get("box")
    if kind == "uniform" or (kind == "clustered" and p.get("background_share", 0)):
        if (
            not isinstance(box, list)
            or len(box) != 4
            or not all(isinstance(v, int | float) for v in box)
            or not (-90 <= box[0] < box[2] <= 90 and -180 <= box[1] < box[3] <= 180)
        ):
            errors.append("population.box: expected [lat_min, lon_min, lat_max, lon_max]")
    if kind == "clustered":
        _num(errors, "population.background_share", p.get("background_share", 0.0), 0, 1)
        centres = p.get("centres")
        if not isinstance(centres, list) or not centres:
            errors.append("population.centres: expected a list of {lat, lon, weight, radius_km}")
            return
        for i, c in enumerate(centres):
            where = f"population.centres[{i}]"
            if not isinstance(c, dict):
                errors.append(f"{where}: expected a table")
                continue
            _unknown(errors, f"{where}.", c, {"lat", "lon", "weight", "radius_km"})
            _num(errors, f"{where}.lat", c.get("lat"), -90, 90)
            _num(errors, f"{where}.lon", c.get("lon"), -180, 180)
            _num(errors, f"{where}.weight", c.get("weight", 1.0), 0, 1e9)
            _num(errors, f"{where}.radius_km", c.get("radius_km", 5.0), 0.01, 1000)
    if kind == "csv":
        if not isinstance(p.get("path"), str):
            errors.append("population.path: expected the CSV's path (relative to the scenario)")
        elif not (path.parent / p["path"]).is_file():
            errors.append(f"population.path: no such file: {(path.parent / p['path']).resolve()}")
        if "limit" in p:
            _num(errors, "population.limit", p["limit"], 1, 10_000_000, integer=True)
        for key in ("gain_column", "elevation_column"):
            if key in p and not isinstance(p[key], str):
                errors.append(f"population.{key}: expected a column name")


def _check_adversaries(errors: list[str], table: dict[str, Any]) -> tuple[AdversarySpec, ...]:
    specs = []
    total = 0.0
    for behaviour, params in table.items():
        where = f"adversaries.{behaviour}"
        if behaviour not in BEHAVIOURS:
            errors.append(f"{where}: unknown behaviour (one of {', '.join(BEHAVIOURS)})")
            continue
        if not isinstance(params, dict):
            errors.append(f"{where}: expected a table with share = ...")
            continue
        _unknown(errors, f"{where}.", params, {"share", *BEHAVIOURS[behaviour]})
        share = _num(errors, f"{where}.share", params.get("share"), 0, 1)
        total += share or 0.0
        clean: list[tuple[str, float | str]] = []
        for key, default in BEHAVIOURS[behaviour].items():
            if key not in params:
                continue
            value = params[key]
            if isinstance(default, str):
                if value not in ("honest", "spoofed"):
                    errors.append(f'{where}.{key}: expected "honest" or "spoofed"')
                    continue
            elif (
                _num(
                    errors,
                    f"{where}.{key}",
                    value,
                    2 if key == GROUP_SIZE_KEY.get(behaviour) else PARAM_RANGES.get(key, (0,))[0],
                    PARAM_RANGES.get(key, (0, 1e7))[1],
                    integer=key == GROUP_SIZE_KEY.get(behaviour),
                )
                is None
            ):
                continue
            clean.append((key, value))
        specs.append(AdversarySpec(behaviour, float(share or 0.0), tuple(clean)))
    if total > 1.0:
        errors.append(f"adversaries: shares add up to {total:g}, more than 1")
    return tuple(specs)


def build(scenario: Scenario) -> tuple[Mesh, Assignment]:
    """The population, its adversaries applied, and the mesh over the resulting world."""
    rng = np.random.default_rng([scenario.seed, 0x909])
    p = scenario.population
    known: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
    if p["kind"] == "uniform":
        lat, lon = pop.uniform(int(p["count"]), p["box"], rng)
    elif p["kind"] == "clustered":
        centres = [
            pop.CityCentre(c["lat"], c["lon"], c.get("weight", 1.0), c.get("radius_km", 5.0))
            for c in p["centres"]
        ]
        lat, lon = pop.clustered(
            int(p["count"]), centres, rng, float(p.get("background_share", 0.0)), p.get("box")
        )
    else:
        rows = pop.read_csv(
            scenario.population_path(),
            p.get("lat_column", "lat"),
            p.get("lon_column", "lng"),
            p.get("limit"),
            p.get("gain_column"),
            p.get("elevation_column"),
        )
        lat, lon = rows.lat, rows.lon
        known = (rows.gain_dbi, rows.elevation_m)
    region: str | list[str] = scenario.region
    if region == AUTO_REGION:
        lat, lon, region, kept = _regions_of(lat, lon)
        known = tuple(None if k is None else k[kept] for k in known)  # type: ignore[assignment]
    hotspots = pop.build_hotspots(
        lat,
        lon,
        rng,
        region,
        scenario.radios,
        scenario.gains_dbi,
        scenario.height_m,
        scenario.cable_loss_db,
        scenario.siting,
        *known,
    )
    assignment = assign(hotspots, scenario.adversaries, scenario.seed)
    mesh = Mesh(
        assignment.hotspots,
        scenario.model,
        scenario.seed,
        collisions=scenario.collisions,
        symmetric_shadowing=scenario.symmetric,
        shadowing_cutoff_sigma=scenario.cutoff_sigma,
        start_ns=scenario.start_ns,
        channel=scenario.channel,
    )
    return mesh, assignment


def _regions_of(
    lat: np.ndarray, lon: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Each position's region plan from real country boundaries; positions in none dropped."""
    try:
        from pocnet.regions.lookup import RegionLocator
    except ImportError as exc:
        raise ScenarioError([f'region = "auto" needs shapely (pocnet[oracle]): {exc}']) from None
    locator = RegionLocator.default()
    found = [locator.region_at(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
    keep = np.array([r is not None for r in found], dtype=bool)
    if not keep.any():
        raise ScenarioError(['region = "auto": no hotspot stands in a country with a plan'])
    return lat[keep], lon[keep], [r for r in found if r is not None], keep
