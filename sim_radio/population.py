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


def from_csv(
    path: Path, lat_column: str = "lat", lon_column: str = "lng", limit: int | None = None
) -> tuple[Floats, Floats]:
    """Positions from a CSV (gzip when the name ends in .gz). Rows without a position, or at
    exactly (0, 0) — how the Helium export marks unlocated hotspots — are skipped."""
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
    missing = {lat_column, lon_column} - set(reader.fieldnames or ())
    if missing:
        raise PopulationError(f"{path}: no column(s) {', '.join(sorted(missing))}")
    lats: list[float] = []
    lons: list[float] = []
    for row in reader:
        try:
            lat, lon = float(row[lat_column]), float(row[lon_column])
        except (TypeError, ValueError):
            continue
        if (lat == 0.0 and lon == 0.0) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            continue
        lats.append(lat)
        lons.append(lon)
        if limit is not None and len(lats) >= limit:
            break
    if not lats:
        raise PopulationError(f"{path}: no rows with a usable {lat_column}/{lon_column}")
    return np.array(lats), np.array(lons)


def build_hotspots(
    lat: Floats,
    lon: Floats,
    rng: np.random.Generator,
    region: str | Sequence[str] = "EU868",
    radio_mix: Mapping[str, float] | None = None,
    gains_dbi: Sequence[float] = (3.0,),
    height_m: tuple[float, float] = (5.0, 15.0),
    cable_loss_db: float = 0.5,
) -> list[Hotspot]:
    """One Hotspot per position: radio kind drawn from `radio_mix` (shares), gain from
    `gains_dbi` (equally likely), height uniform in `height_m`; `region` is one plan name for
    all or one per position."""
    n = lat.size
    mix = dict(radio_mix or {"sx1302": 1.0})
    kinds = list(mix)
    shares = np.array([mix[k] for k in kinds], dtype=np.float64)
    kind = rng.choice(len(kinds), size=n, p=shares / shares.sum())
    gain_x10 = np.round(np.array(gains_dbi, dtype=np.float64) * 10).astype(int)
    gain = rng.choice(gain_x10, size=n)
    height = rng.uniform(height_m[0], height_m[1], n)
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
            cable_loss_db=cable_loss_db,
        )
        for i in range(n)
    ]
