"""The map page in a real headless Chromium: it loads with no network and no console message,
and draws one point per hotspot, per witness link and per overlay position."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import h3
from headless_browser import load, requires_chromium

from oracle.map.render import render_html
from oracle.map.source import MapData, MapHex, MapHotspot, MapLink, MapOverlay

# Three hotspots in Amersfoort (NL); addresses are labels here, the page does not parse them.
HOTSPOTS = (
    MapHotspot("hotspot-a", 52.156, 5.387, Decimal(1), True, 1_000),
    MapHotspot("hotspot-b", 52.170, 5.410, Decimal("0.5"), True, 250),
    MapHotspot("hotspot-c", 52.140, 5.360, Decimal("0.2"), False, 0),
)
LINKS = (
    MapLink("hotspot-a", "hotspot-b", 2, {}),
    MapLink("hotspot-b", "hotspot-a", 0, {"too_late": 1}),
    MapLink("hotspot-a", "hotspot-c", 1, {"bad_rssi": 3}),
)
HEXES = (
    MapHex(h3.str_to_int(h3.latlng_to_cell(52.156, 5.387, 8)), Decimal(1)),
    MapHex(h3.str_to_int(h3.latlng_to_cell(52.170, 5.410, 8)), Decimal("0.5")),
)
# The overlay lies across the German border (Nordhorn), so the border is in view.
OVERLAY = (MapOverlay("hotspot-c", 52.43, 7.07, "true location"),)


def _data(**changes: object) -> MapData:
    fields: dict[str, object] = dict(epoch=20_000, rewarded=True, hotspots=HOTSPOTS,
                                     links=LINKS, hexes=HEXES, overlay=OVERLAY)
    fields.update(changes)
    return MapData(**fields)  # type: ignore[arg-type]


def _status(dom: str) -> dict[str, dict[str, int]]:
    found = re.search(r'<pre id="pocnet-map-status"[^>]*>([^<]*)</pre>', dom)
    assert found, "the page's script did not run"
    return json.loads(found.group(1))


def test_render_reports_what_it_holds(tmp_path: Path) -> None:
    drawn = render_html(_data(), tmp_path / "map.html")
    assert drawn == {"hotspots": 3, "links": 3, "valid_links": 2, "hexes": 2, "overlay": 1}


def test_the_page_needs_no_network(tmp_path: Path) -> None:
    page = tmp_path / "map.html"
    render_html(_data(), page)
    text = page.read_text(encoding="utf-8")
    # Nothing is loaded from elsewhere: no external script, stylesheet or image.
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?:', text)
    assert "<script" in text and "Plotly.newPlot" in text


@requires_chromium
def test_page_loads_in_chromium_and_draws_every_item(tmp_path: Path) -> None:
    page = tmp_path / "map.html"
    render_html(_data(), page)
    loaded = load(page)
    assert loaded.console == []
    status = _status(loaded.dom)
    assert status["points"]["hotspot"] == 3
    assert status["points"]["link"] == 3  # one hover point per link
    assert status["points"]["overlay"] == 1
    # Line paths (plotly draws one per stretch between gaps): a line per link and per hex
    # outline, and the country borders in view.
    assert status["lines"]["links"] == 3
    assert status["lines"]["hexes"] == 2
    assert status["lines"]["borders"] >= 1


@requires_chromium
def test_an_empty_epoch_still_draws(tmp_path: Path) -> None:
    page = tmp_path / "empty.html"
    render_html(_data(hotspots=(), links=(), hexes=(), overlay=()), page)
    loaded = load(page)
    assert loaded.console == []
    assert _status(loaded.dom)["points"].get("hotspot", 0) == 0
