"""Where a scenario's hotspots stand, and what each one is (antenna, height, radio).

`Hotspot` is a hotspot as the radio world sees it; positions on the Earth (Earth-centred
coordinates, great-circle distance from the chord, the radio horizon) are computed here.

Three layouts: uniform over a lat/lon box (uniform in area, not in degrees), clustered around
city centres (a 2-D Gaussian per city, optionally over a uniform rural background), or real
positions read from a CSV of lat/lon such as the Helium hotspot list in sim_radio/data. Every
draw comes from the generator passed in, so a scenario's seed fixes the whole population.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius
# Radio horizon over a smooth Earth with standard refraction: d = √(2·k·R·h1) + √(2·k·R·h2),
# k = 4/3 (ITU-R P.453 "effective Earth radius"). No model here applies beyond it.
EFFECTIVE_EARTH_K = 4.0 / 3.0


@dataclass(frozen=True)
class Hotspot:
    """One hotspot as the radio world sees it (its true position, not what it asserts)."""

    node_id: str
    lat: float
    lon: float
    gain_dbi_x10: int = 30
    height_m: float = 10.0
    region: str = "EU868"
    radio_kind: str = "sx1302"
    cable_loss_db: float = 0.5  # cable, connectors and any attenuator, each way
    antenna_id: str = ""  # hotspots sharing one antenna share this (and its shadowing)
    indoor: bool = False
    entry_loss_db: float = 0.0  # building entry loss, each way (0 outdoors)
    noise_excess_db: float = 0.0  # the site's noise-plus-interference above thermal + NF

    @property
    def antenna(self) -> str:
        return self.antenna_id or self.node_id


def to_xyz(lat_deg: NDArray[np.float64], lon_deg: NDArray[np.float64]) -> NDArray[np.float64]:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return EARTH_RADIUS_M * np.stack(
        (np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)), axis=-1
    )


def arc_m(chord_m: NDArray[np.float64]) -> NDArray[np.float64]:
    """Great-circle distance from the straight-line chord between two surface points."""
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.minimum(chord_m / (2.0 * EARTH_RADIUS_M), 1.0))


def radio_horizon_m(h1_m: NDArray[np.float64] | float, h2_m: NDArray[np.float64] | float):
    k_r = 2.0 * EFFECTIVE_EARTH_K * EARTH_RADIUS_M
    return np.sqrt(k_r * np.maximum(h1_m, 0.0)) + np.sqrt(k_r * np.maximum(h2_m, 0.0))


class PopulationError(ValueError):
    """A population that cannot be built: unreadable CSV, missing columns, no usable rows."""


@dataclass(frozen=True)
class CityCentre:
    lat: float
    lon: float
    weight: float = 1.0
    radius_km: float = 5.0  # σ of the Gaussian spread around the centre


def uniform(count: int, box: Sequence[float], rng: np.random.Generator) -> tuple[Floats, Floats]:
    """`count` points uniform in area over box = (lat_min, lon_min, lat_max, lon_max)."""
    lat_min, lon_min, lat_max, lon_max = box
    s = rng.uniform(np.sin(np.radians(lat_min)), np.sin(np.radians(lat_max)), count)
    return np.degrees(np.arcsin(s)), rng.uniform(lon_min, lon_max, count)


def clustered(
    count: int,
    centres: Sequence[CityCentre],
    rng: np.random.Generator,
    background_share: float = 0.0,
    box: Sequence[float] | None = None,
) -> tuple[Floats, Floats]:
    """Cities by weight, each a Gaussian of σ = radius_km; `background_share` of the points
    uniform over `box` (rural hotspots between the cities)."""
    n_background = round(count * background_share) if box is not None else 0
    n_city = count - n_background
    weights = np.array([c.weight for c in centres], dtype=np.float64)
    which = rng.choice(len(centres), size=n_city, p=weights / weights.sum())
    lat0 = np.array([c.lat for c in centres])[which]
    lon0 = np.array([c.lon for c in centres])[which]
    sigma_m = np.array([c.radius_km for c in centres])[which] * 1000.0
    north = rng.normal(0.0, 1.0, n_city) * sigma_m
    east = rng.normal(0.0, 1.0, n_city) * sigma_m
    lat = lat0 + np.degrees(north / EARTH_RADIUS_M)
    lon = lon0 + np.degrees(east / (EARTH_RADIUS_M * np.cos(np.radians(lat0))))
    lat = np.clip(lat, -89.9, 89.9)
    lon = (lon + 180.0) % 360.0 - 180.0
    if n_background:
        b_lat, b_lon = uniform(n_background, box, rng)  # type: ignore[arg-type]
        lat, lon = np.concatenate((lat, b_lat)), np.concatenate((lon, b_lon))
    return lat, lon


DEFAULT_GAIN_COLUMN = "gain_dbi"
DEFAULT_ELEVATION_COLUMN = "elevation_m"


@dataclass(frozen=True)
class CsvPopulation:
    """Positions from a CSV, with each row's antenna gain (dBi) and height above ground (m)
    where the file gives them (NaN where it does not, or has no such column)."""

    lat: Floats
    lon: Floats
    gain_dbi: Floats
    elevation_m: Floats


def from_csv(
    path: Path, lat_column: str = "lat", lon_column: str = "lng", limit: int | None = None
) -> tuple[Floats, Floats]:
    """Positions from a CSV (see read_csv)."""
    rows = read_csv(path, lat_column, lon_column, limit)
    return rows.lat, rows.lon


def read_csv(
    path: Path,
    lat_column: str = "lat",
    lon_column: str = "lng",
    limit: int | None = None,
    gain_column: str | None = None,
    elevation_column: str | None = None,
) -> CsvPopulation:
    """Positions from a CSV (gzip when the name ends in .gz). Rows without a position, or at
    exactly (0, 0) — how the Helium export marks unlocated hotspots — are skipped. Gain and
    elevation come from the named columns (which must then exist), else from `gain_dbi` and
    `elevation_m` when the file has them; an empty or unreadable cell is NaN (drawn later)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PopulationError(f"cannot read population CSV {path}: {exc.strerror}") from None
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise PopulationError(f"{path}: not a gzip file ({exc})") from None
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8", errors="replace")))
    header = set(reader.fieldnames or ())
    missing = {lat_column, lon_column} - header
    for given in (gain_column, elevation_column):
        if given is not None and given not in header:
            missing.add(given)
    if missing:
        raise PopulationError(f"{path}: no column(s) {', '.join(sorted(missing))}")
    gain_column = gain_column or (DEFAULT_GAIN_COLUMN if DEFAULT_GAIN_COLUMN in header else None)
    if elevation_column is None and DEFAULT_ELEVATION_COLUMN in header:
        elevation_column = DEFAULT_ELEVATION_COLUMN
    lats: list[float] = []
    lons: list[float] = []
    gains: list[float] = []
    heights: list[float] = []
    for row in reader:
        try:
            lat, lon = float(row[lat_column]), float(row[lon_column])
        except (TypeError, ValueError):
            continue
        if (lat == 0.0 and lon == 0.0) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            continue
        lats.append(lat)
        lons.append(lon)
        gains.append(_cell(row, gain_column, GAIN_RANGE_DBI))
        heights.append(_cell(row, elevation_column, ELEVATION_RANGE_M))
        if limit is not None and len(lats) >= limit:
            break
    if not lats:
        raise PopulationError(f"{path}: no rows with a usable {lat_column}/{lon_column}")
    return CsvPopulation(np.array(lats), np.array(lons), np.array(gains), np.array(heights))


# A cell outside these is treated as unknown (NaN), as an empty one is: the same bounds a
# scenario's [hardware] accepts.
GAIN_RANGE_DBI = (-10.0, 30.0)
ELEVATION_RANGE_M = (0.5, 500.0)


def _cell(row: dict[str, str], column: str | None, bounds: tuple[float, float]) -> float:
    if column is None:
        return float("nan")
    try:
        value = float(row[column])
    except (TypeError, ValueError):
        return float("nan")
    return value if bounds[0] <= value <= bounds[1] else float("nan")


def build_hotspots(
    lat: Floats,
    lon: Floats,
    rng: np.random.Generator,
    region: str | Sequence[str] = "EU868",
    radio_mix: Mapping[str, float] | None = None,
    gains_dbi: Sequence[float] = (3.0,),
    height_m: tuple[float, float] = (5.0, 15.0),
    cable_loss_db: float = 0.5,
    siting: Siting | None = None,
    known_gain_dbi: Floats | None = None,
    known_height_m: Floats | None = None,
) -> list[Hotspot]:
    """One Hotspot per position: radio kind drawn from `radio_mix` (shares), gain from
    `gains_dbi` (equally likely), height uniform in `height_m`; `region` is one plan name for
    all or one per position. With a `siting`, its draws replace gains, heights and cable loss
    and add indoor siting and the noise floor. Known gains or heights (NaN where unknown, as a
    population CSV gives them) replace the drawn ones."""
    n = lat.size
    mix = dict(radio_mix or {"sx1302": 1.0})
    kinds = list(mix)
    shares = np.array([mix[k] for k in kinds], dtype=np.float64)
    kind = rng.choice(len(kinds), size=n, p=shares / shares.sum())
    if siting is None:
        gain_x10 = np.round(np.array(gains_dbi, dtype=np.float64) * 10).astype(int)
        gain = rng.choice(gain_x10, size=n)
        height = rng.uniform(height_m[0], height_m[1], n)
        zeros = np.zeros(n)
        cable = zeros + cable_loss_db
        sites = SiteDraws(gain / 10.0, zeros.astype(bool), zeros, height, cable, zeros)
    else:
        sites = draw_sites(n, siting, rng)
    gain_dbi = sites.gain_dbi if known_gain_dbi is None else _known(known_gain_dbi, sites.gain_dbi)
    gain = np.round(gain_dbi * 10).astype(int)
    height = sites.height_m if known_height_m is None else _known(known_height_m, sites.height_m)
    width = max(6, len(str(n)))
    regions = [region] * n if isinstance(region, str) else list(region)
    return [
        Hotspot(
            node_id=f"hs-{i:0{width}d}",
            lat=float(lat[i]),
            lon=float(lon[i]),
            gain_dbi_x10=int(gain[i]),
            height_m=round(float(height[i]), 1),
            region=regions[i],
            radio_kind=kinds[kind[i]],
            cable_loss_db=round(float(sites.cable_loss_db[i]), 2),
            indoor=bool(sites.indoor[i]),
            entry_loss_db=round(float(sites.entry_loss_db[i]), 2),
            noise_excess_db=round(float(sites.noise_excess_db[i]), 2),
        )
        for i in range(n)
    ]


def _known(given: Floats, drawn: Floats) -> Floats:
    return np.where(np.isnan(given), drawn, given)


@dataclass(frozen=True)
class Siting:
    """How real hotspots are installed, drawn per hotspot from the scenario's seed.

    `gains_dbi` maps an antenna gain to its share of hotspots. An indoor hotspot loses
    `entry_loss_db` (Gaussian, clipped at 0) through its building's walls each way, sits lower,
    has a short pigtail for cable and hears more interference from the devices around it.
    """

    name: str
    gains_dbi: tuple[tuple[float, float], ...]
    indoor_share: float
    entry_loss_db: tuple[float, float]  # mean, σ
    indoor_height_m: tuple[float, float]  # uniform low, high
    outdoor_height_m: tuple[float, float]
    indoor_cable_db: tuple[float, float]  # uniform low, high
    outdoor_cable_db: tuple[float, float]
    noise_excess_db: tuple[float, float]  # mean, σ above thermal + NF (clipped at 0), indoor
    outdoor_noise_offset_db: float  # added to the mean outdoors (negative: quieter)


# The Helium mix. Gains: the antennas the issue found dominating the real fleet (1.2, 4.0, 2.3,
# 8.0 and 5.8 dBi), shares in that order are our estimate (no public census). Building entry
# loss: ITU-R P.2109-1 "traditional" building at 0.868 GHz, horizontal path, median 12.4 dB;
# its spread is simplified to σ = 6 dB. Indoor share 70 % (our estimate: Helium hotspots shipped
# with indoor antennas and most stayed on a window sill). Cable: a pigtail indoors, 1–4 dB of
# coax and connectors to a roof outdoors (LMR-400 loses ~4 dB per 30 m at 900 MHz). The noise
# floor excess is fitted to the Grenoble receptions (sim_radio/calibration/fit_grenoble.py).
HELIUM_SITING = Siting(
    "helium",
    gains_dbi=((1.2, 0.30), (4.0, 0.25), (2.3, 0.20), (8.0, 0.15), (5.8, 0.10)),
    indoor_share=0.7,
    entry_loss_db=(12.4, 6.0),
    indoor_height_m=(2.0, 12.0),
    outdoor_height_m=(6.0, 30.0),
    indoor_cable_db=(0.2, 0.8),
    outdoor_cable_db=(1.0, 4.0),
    noise_excess_db=(6.3, 7.4),
    outdoor_noise_offset_db=-2.0,
)
SITINGS = {s.name: s for s in (HELIUM_SITING,)}


@dataclass(frozen=True)
class SiteDraws:
    """One row per hotspot of what `draw_sites` chose."""

    gain_dbi: Floats
    indoor: NDArray[np.bool_]
    entry_loss_db: Floats
    height_m: Floats
    cable_loss_db: Floats
    noise_excess_db: Floats


def draw_sites(count: int, siting: Siting, rng: np.random.Generator) -> SiteDraws:
    """Every per-hotspot installation choice of `siting`, from `rng`."""
    gains = np.array([g for g, _ in siting.gains_dbi])
    shares = np.array([s for _, s in siting.gains_dbi])
    gain = rng.choice(gains, size=count, p=shares / shares.sum())
    indoor = rng.random(count) < siting.indoor_share
    entry = np.where(indoor, np.maximum(rng.normal(*siting.entry_loss_db, count), 0.0), 0.0)
    height = np.where(
        indoor,
        rng.uniform(*siting.indoor_height_m, count),
        rng.uniform(*siting.outdoor_height_m, count),
    )
    cable = np.where(
        indoor,
        rng.uniform(*siting.indoor_cable_db, count),
        rng.uniform(*siting.outdoor_cable_db, count),
    )
    mean, sigma = siting.noise_excess_db
    noise = rng.normal(mean, sigma, count) + np.where(indoor, 0.0, siting.outdoor_noise_offset_db)
    return SiteDraws(gain, indoor, entry, height, cable, np.maximum(noise, 0.0))
