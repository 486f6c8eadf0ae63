"""Location -> region plan from real country borders (docs/protocol.md §3)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pocnet.regions.countries import COUNTRY_PLAN
from pocnet.regions.lookup import TERRITORIAL_SEA_M, RegionLocator


@pytest.fixture(scope="module")
def locator() -> RegionLocator:
    return RegionLocator.default()


@pytest.mark.parametrize(
    ("place", "lat", "lon", "country", "plan"),
    [
        ("Paris", 48.8566, 2.3522, "FR", "EU868"),
        ("Budapest", 47.4979, 19.0402, "HU", "EU868"),  # missing from countryinfo's borders
        ("New York", 40.7128, -74.0060, "US", "US915"),
        ("Toronto", 43.6532, -79.3832, "CA", "US915"),
        ("Sydney", -33.8688, 151.2093, "AU", "AU915"),
        ("Sao Paulo", -23.5505, -46.6333, "BR", "AU915"),
        ("Tokyo", 35.6762, 139.6503, "JP", "AS923-1"),
        ("Hanoi", 21.0278, 105.8342, "VN", "AS923-2"),
        ("Manila", 14.5995, 120.9842, "PH", "AS923-3"),
        ("Tel Aviv", 32.0853, 34.7818, "IL", "AS923-4"),
        ("Seoul", 37.5665, 126.9780, "KR", "KR920"),
        ("Delhi", 28.6139, 77.2090, "IN", "IN865"),
        ("Beijing", 39.9042, 116.4074, "CN", "CN470"),
        ("Hong Kong", 22.3193, 114.1694, "HK", "AS923-1"),
    ],
)
def test_cities_fall_in_their_plan(locator, place, lat, lon, country, plan) -> None:
    assert locator.country_at(lat, lon) == country, place
    assert locator.region_at(lat, lon) == plan, place


def test_open_sea_and_unsupported_countries_have_no_region(locator) -> None:
    assert locator.country_at(40.0, -40.0) is None  # mid-Atlantic
    assert locator.region_at(40.0, -40.0) is None
    assert locator.country_at(55.7558, 37.6173) == "RU"  # RU864 is not a pocnet plan
    assert locator.region_at(55.7558, 37.6173) is None


def test_territorial_sea_takes_the_coastal_country(locator) -> None:
    # 0.05° (~5.6 km) off the French Riviera, inside 12 nmi; 1° (~111 km) out is open sea.
    assert locator.region_at(43.60, 7.30) == "EU868"
    assert locator.region_at(42.70, 7.30) is None
    assert TERRITORIAL_SEA_M == pytest.approx(22_224)


def test_country_table_names_only_known_plans() -> None:
    plans = {"EU868", "US915", "AU915", "AS923-1", "AS923-2", "AS923-3", "AS923-4", "KR920",
             "IN865", "CN470"}
    assert set(COUNTRY_PLAN.values()) == plans
    assert all(len(code) == 2 and code.isupper() for code in COUNTRY_PLAN)


def test_region_plans_do_not_drag_in_shapely() -> None:
    """The hotspot imports pocnet.regions; only the lookup may need shapely
    (docs/architecture.md)."""
    code = "import sys, pocnet.regions, pocnet.beacon; sys.exit('shapely' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_outlines_in_a_box_are_the_borders_inside_it() -> None:
    from pocnet.regions.lookup import RegionLocator

    locator = RegionLocator.default()
    # A box over the Dutch–German border near Arnhem (5.9–6.2 E): the border crosses it.
    lines = locator.outlines(51.8, 5.9, 52.0, 6.2)
    assert lines
    for line in lines:
        assert all(51.8 - 1e-9 <= lat <= 52.0 + 1e-9 for lat, _ in line)
        assert all(5.9 - 1e-9 <= lon <= 6.2 + 1e-9 for _, lon in line)
    # Well inside the Netherlands (Amersfoort) and far out in the Atlantic: no border at all.
    assert locator.outlines(52.10, 5.30, 52.20, 5.45) == []
    assert locator.outlines(30.0, -40.0, 31.0, -39.0) == []
