"""The h3 layer: conversions, parents, grid and great-circle distances, parsing cells."""

from __future__ import annotations

import h3
import pytest

from pocnet import geo
from pocnet.errors import DecodeError


def test_cell_round_trip_and_resolution() -> None:
    cell = geo.latlng_to_cell(48.8566, 2.3522, 12)
    assert geo.resolution(cell) == 12
    assert geo.cell_to_str(cell) == h3.latlng_to_cell(48.8566, 2.3522, 12)
    lat, lon = geo.cell_to_latlng(cell)
    assert geo.haversine_m(lat, lon, 48.8566, 2.3522) < 15  # res 12 edge is about 9 m
    assert geo.resolution(geo.cell_to_parent(cell, 11)) == 11


def test_grid_distance_counts_steps() -> None:
    origin = geo.latlng_to_cell(45.0, 5.0, 11)
    ring = h3.grid_ring(geo.cell_to_str(origin), 8)
    assert geo.grid_distance(origin, geo.parse_cell(ring[0])) == 8


def test_distances_agree_with_h3() -> None:
    a, b = (48.85, 2.35), (48.86, 2.36)
    assert geo.haversine_m(*a, *b) == pytest.approx(h3.great_circle_distance(a, b, unit="m"))
    ca, cb = geo.latlng_to_cell(*a, 12), geo.latlng_to_cell(*b, 12)
    expected = h3.great_circle_distance(
        h3.cell_to_latlng(geo.cell_to_str(ca)), h3.cell_to_latlng(geo.cell_to_str(cb)), unit="m"
    )
    assert geo.cell_distance_m(ca, cb) == pytest.approx(expected)


def test_parse_cell_accepts_hex_and_integer() -> None:
    cell = geo.latlng_to_cell(-33.86, 151.2, 12)
    assert geo.parse_cell(geo.cell_to_str(cell)) == cell
    assert geo.parse_cell(str(cell)) == cell
    assert geo.parse_cell(int(cell)) == cell
    for bad in ("", "zz", "123", "8c1fb46622dd1fe0", str(1 << 64), -5, 3.5, True):
        with pytest.raises(DecodeError):
            geo.parse_cell(bad)  # type: ignore[arg-type]


def test_out_of_range_coordinates_are_refused() -> None:
    with pytest.raises(DecodeError):
        geo.latlng_to_cell(91.0, 0.0, 12)
    with pytest.raises(DecodeError):
        geo.latlng_to_cell(0.0, 181.0, 12)


def test_grid_disk_and_validity() -> None:
    cell = geo.latlng_to_cell(10.0, 10.0, 7)
    disk = geo.grid_disk(cell, 1)
    assert len(disk) == 7 and cell in disk
    assert geo.is_valid_cell(cell)
    assert not geo.is_valid_cell(12345)
    assert not geo.is_valid_cell("8c1fb46622dd1ff")


def test_cell_boundary_has_six_corners_around_its_centre() -> None:
    cell = geo.latlng_to_cell(52.156, 5.387, 8)
    corners = geo.cell_to_boundary(cell)
    assert len(corners) == 6
    lat, lon = geo.cell_to_latlng(cell)
    # A res-8 hexagon's corners lie ~0.46 km (h3's mean edge length) from its centre.
    for c_lat, c_lon in corners:
        assert 300 < geo.haversine_m(lat, lon, c_lat, c_lon) < 700
def test_helium_distance_vectors() -> None:
    """helium/oracles iot_verifier/src/poc.rs, tests `test_calc_distance` and
    `test_calc_cell_distance`: Ealing and Finsbury Park (res-15 cells), 14318 m apart in whole
    metres between the cell centres, and 360 grid steps apart at resolution 11 (docs/protocol.md §5
    witness rules 9 and 10)."""
    ealing, finsbury = geo.Cell(644459695463521437), geo.Cell(644460986971331488)
    assert round(geo.cell_distance_m(ealing, finsbury)) == 14318
    parents = (geo.cell_to_parent(ealing, 11), geo.cell_to_parent(finsbury, 11))
    assert geo.grid_distance(*parents) == 360
