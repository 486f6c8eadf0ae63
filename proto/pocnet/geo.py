"""The only importer of `h3`: a thin typed layer over it, so the rest of pocnet speaks `Cell`.

Cells are 64-bit integers everywhere (the form the wire carries); strings appear only at the
edges (command lines, JSON). Distances between asserted locations are great-circle metres
between cell centres, as docs/protocol.md §5 measures them.
"""

from __future__ import annotations

import math
from typing import NewType

import h3
import h3.api.basic_int as h3_int

from pocnet.errors import DecodeError, ProtoError

Cell = NewType("Cell", int)

# Mean Earth radius used by h3's great_circle_distance (h3 core: EARTH_RADIUS_KM 6371.007180918475).
EARTH_RADIUS_M = 6_371_007.180918475

# docs/protocol.md §2 / §5: asserted locations are res-12 cells; min-distance is measured at res 11.
ASSERT_RES = 12
MIN_DISTANCE_RES = 11


class GeoError(ProtoError):
    """A geometric question h3 cannot answer (e.g. grid distance across a pentagon)."""


def latlng_to_cell(lat: float, lon: float, res: int) -> Cell:
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise DecodeError(f"latitude/longitude out of range: {lat}, {lon}")
    return Cell(h3.str_to_int(h3.latlng_to_cell(lat, lon, res)))


def cell_to_latlng(cell: Cell) -> tuple[float, float]:
    return h3.cell_to_latlng(h3.int_to_str(cell))


def cell_to_boundary(cell: Cell) -> list[tuple[float, float]]:
    """The cell's corners as (lat, lon), in order (six, or five at a pentagon)."""
    return [tuple(corner) for corner in h3.cell_to_boundary(h3.int_to_str(cell))]


def resolution(cell: Cell) -> int:
    return h3.get_resolution(h3.int_to_str(cell))


def cell_to_parent(cell: Cell, res: int) -> Cell:
    return Cell(h3.str_to_int(h3.cell_to_parent(h3.int_to_str(cell), res)))


def grid_distance(a: Cell, b: Cell) -> int:
    """Grid steps between two cells of one resolution; GeoError where h3 has no answer."""
    try:  # the integer API: the verifier asks this once per witness, strings cost ~4 %
        return h3_int.grid_distance(a, b)
    except h3.H3BaseException as exc:
        raise GeoError(f"no grid distance between {a:x} and {b:x}: {exc}") from exc


def grid_disk(cell: Cell, k: int) -> list[Cell]:
    return [Cell(h3.str_to_int(c)) for c in h3.grid_disk(h3.int_to_str(cell), k)]


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres on h3's spherical Earth."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def cell_distance_m(a: Cell, b: Cell) -> float:
    """Great-circle metres between the centres of two cells."""
    (lat1, lon1), (lat2, lon2) = cell_to_latlng(a), cell_to_latlng(b)
    return haversine_m(lat1, lon1, lat2, lon2)


def is_valid_cell(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    try:
        return h3.is_valid_cell(h3.int_to_str(value))
    except (ValueError, OverflowError, h3.H3BaseException):
        return False


def parse_cell(value: str | int) -> Cell:
    """A cell from its hex string ("8c1fb46622dd1ff") or its 64-bit integer (decimal text)."""
    if isinstance(value, int) and not isinstance(value, bool):
        candidate = value
    elif isinstance(value, str):
        text = value.strip()
        candidate = -1
        if text.isdigit() and is_valid_cell(int(text)):
            candidate = int(text)
        else:
            try:
                candidate = int(text, 16)
            except ValueError:
                raise DecodeError(f"not an H3 cell: {value!r}") from None
    else:
        raise DecodeError(f"not an H3 cell: {value!r}")
    if candidate < 0 or candidate >= 1 << 64 or not is_valid_cell(candidate):
        raise DecodeError(f"not a valid H3 cell: {value!r}")
    return Cell(candidate)


def cell_to_str(cell: Cell) -> str:
    return h3.int_to_str(cell)
