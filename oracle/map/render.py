"""One self-contained HTML file of an epoch's map: plotly with its JavaScript inlined and the
country borders the project already ships as the background, so it opens with no network.

Plain x/y traces (longitude, latitude) rather than plotly's geo maps: those fetch their world
outlines from a CDN at view time. The y axis is scaled by 1/cos(latitude) so distances look
right at the map's centre.

Every trace carries its role in `meta`; a script after the plot writes what was drawn (points
and line paths per role) into `#pocnet-map-status`, which is how the browser test checks the page.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from oracle.map.source import MapData, MapHex, MapLink
from pocnet import geo

VALID_COLOUR = "#2ca02c"
INVALID_COLOUR = "#d62728"
BORDER_COLOUR = "#9a9a9a"
# Density scales in [0, 1] are shown in these buckets (HIP-17 scales are products of ratios).
SCALE_BUCKETS: tuple[Decimal, ...] = tuple(Decimal(i) / 10 for i in range(11))
# Margin around the hotspots, in degrees, and the border simplification for that view.
MARGIN_DEG = 0.05

_STATUS_SCRIPT = """
(function () {
  var gd = document.getElementById('{plot_id}');
  var counts = {points: {}, lines: {}};
  // Each drawn trace's group carries its calcdata (d3's __data__), whose trace has our meta.
  gd.querySelectorAll('.scatterlayer .trace').forEach(function (layer) {
    var calc = layer.__data__;
    var role = calc && calc[0] && calc[0].trace ? calc[0].trace.meta : null;
    if (!role) { return; }
    var points = layer.querySelectorAll('path.point').length;
    var lines = layer.querySelectorAll('path.js-line').length;
    counts.points[role] = (counts.points[role] || 0) + points;
    counts.lines[role] = (counts.lines[role] || 0) + lines;
  });
  var status = document.createElement('pre');
  status.id = 'pocnet-map-status';
  status.style.display = 'none';
  status.textContent = JSON.stringify(counts);
  document.body.appendChild(status);
})();
"""


def render_html(data: MapData, path: Path, title: str | None = None) -> dict[str, int]:
    """Write the map to `path`; returns what it holds (hotspots, links, hexes, overlay)."""
    import plotly.graph_objects as go

    title = title or f"pocnet epoch {data.epoch}"
    south, west, north, east = _bounds(data)
    figure = go.Figure()
    for trace in _border_traces(south, west, north, east):
        figure.add_trace(trace)
    for trace in _hex_traces(data.hexes):
        figure.add_trace(trace)
    for trace in _link_traces(data):
        figure.add_trace(trace)
    figure.add_trace(_hotspot_trace(data))
    if data.overlay:
        for trace in _overlay_traces(data):
            figure.add_trace(trace)
    mid_lat = (south + north) / 2
    figure.update_layout(
        title=html.escape(title),
        template="plotly_white",
        hovermode="closest",
        height=800,
        legend={"itemsizing": "constant", "orientation": "h", "y": -0.12},
        xaxis={"title": "longitude", "range": [west, east], "showgrid": False},
        yaxis={
            "title": "latitude",
            "range": [south, north],
            "showgrid": False,
            "scaleanchor": "x",
            "scaleratio": 1 / max(math.cos(math.radians(mid_lat)), 0.05),
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.write_html(
        str(path),
        include_plotlyjs=True,
        include_mathjax=False,
        full_html=True,
        post_script=_STATUS_SCRIPT,
        config={"displaylogo": False, "responsive": True},
    )
    return {
        "hotspots": len(data.hotspots),
        "links": len(data.links),
        "valid_links": sum(1 for link in data.links if link.is_valid),
        "hexes": len(data.hexes),
        "overlay": len(data.overlay),
    }


def _bounds(data: MapData) -> tuple[float, float, float, float]:
    lats = [h.lat for h in data.hotspots] + [o.lat for o in data.overlay]
    lons = [h.lon for h in data.hotspots] + [o.lon for o in data.overlay]
    if not lats:
        return -60.0, -180.0, 75.0, 180.0
    return (max(min(lats) - MARGIN_DEG, -90.0), max(min(lons) - MARGIN_DEG, -180.0),
            min(max(lats) + MARGIN_DEG, 90.0), min(max(lons) + MARGIN_DEG, 180.0))


def _border_traces(south: float, west: float, north: float, east: float) -> list[Any]:
    import plotly.graph_objects as go

    from pocnet.regions.lookup import RegionLocator

    span = max(north - south, east - west)
    lines = RegionLocator.default().outlines(south, west, north, east, tolerance_deg=span / 2000)
    lats, lons = _joined(lines)
    return [go.Scatter(x=lons, y=lats, mode="lines", name="borders", meta="borders",
                       line={"color": BORDER_COLOUR, "width": 1}, hoverinfo="skip",
                       showlegend=False)]


def _hex_traces(hexes: Sequence[MapHex]) -> list[Any]:
    import plotly.graph_objects as go
    from plotly.colors import sample_colorscale

    traces = []
    for low, high in itertools.pairwise(SCALE_BUCKETS):
        members = [h for h in hexes if low <= h.scale < high or (high == 1 and h.scale == 1)]
        if not members:
            continue
        colour = sample_colorscale("Viridis", float((low + high) / 2))[0]
        lats, lons = _joined([geo.cell_to_boundary(geo.Cell(h.cell)) for h in members], close=True)
        traces.append(go.Scatter(
            x=lons, y=lats, mode="lines", fill="toself", fillcolor=colour, opacity=0.35,
            line={"color": colour, "width": 0.5}, name=f"density scale {low}–{high}",
            meta="hexes", hoverinfo="name",
        ))
    return traces


def _link_traces(data: MapData) -> list[Any]:
    import plotly.graph_objects as go

    where = {h.address: (h.lat, h.lon) for h in data.hotspots}
    traces = []
    for valid, colour, name in ((True, VALID_COLOUR, "valid witness links"),
                                (False, INVALID_COLOUR, "invalid witness links")):
        links = [link for link in data.links if link.is_valid == valid
                 and link.beaconer in where and link.witness in where]
        segments = [[where[link.beaconer], where[link.witness]] for link in links]
        lats, lons = _joined(segments)
        traces.append(go.Scatter(x=lons, y=lats, mode="lines", name=name, meta="links",
                                 line={"color": colour, "width": 1}, opacity=0.6,
                                 hoverinfo="skip", legendgroup=name))
        # Hover lives on each link's midpoint: plotly hovers points, not line segments.
        traces.append(go.Scatter(
            x=[(where[link.beaconer][1] + where[link.witness][1]) / 2 for link in links],
            y=[(where[link.beaconer][0] + where[link.witness][0]) / 2 for link in links],
            mode="markers", marker={"size": 5, "color": colour, "opacity": 0.5},
            text=[_link_text(link) for link in links], hoverinfo="text", meta="link",
            name=name, legendgroup=name, showlegend=False,
        ))
    return traces


def _link_text(link: MapLink) -> str:
    parts = [f"{link.valid} valid"] if link.valid else []
    parts += [f"{count} invalid: {reason}" for reason, count in link.invalid.items()]
    return f"{link.beaconer[:10]}… → {link.witness[:10]}…<br>" + "<br>".join(parts)


def _hotspot_trace(data: MapData) -> Any:
    import plotly.graph_objects as go

    rewards = [h.reward for h in data.hotspots]
    text = [
        f"{h.address}<br>scale {h.scale}{'' if h.interactive else ' (not interactive)'}"
        f"<br>reward {h.reward} base units" + ("" if data.rewarded else " (epoch not rewarded)")
        for h in data.hotspots
    ]
    return go.Scatter(
        x=[h.lon for h in data.hotspots], y=[h.lat for h in data.hotspots], mode="markers",
        name="hotspots (asserted)", meta="hotspot", text=text, hoverinfo="text",
        marker={"size": 8, "color": rewards, "colorscale": "Plasma", "showscale": True,
                "colorbar": {"title": "reward"}, "line": {"color": "#222", "width": 0.5}},
    )


def _overlay_traces(data: MapData) -> list[Any]:
    import plotly.graph_objects as go

    where = {h.address: (h.lat, h.lon) for h in data.hotspots}
    moved = [[where[o.address], (o.lat, o.lon)] for o in data.overlay if o.address in where]
    lats, lons = _joined(moved)
    return [
        go.Scatter(x=lons, y=lats, mode="lines", name="asserted ↔ other position",
                   meta="overlay-lines", line={"color": "#555", "width": 1, "dash": "dot"},
                   hoverinfo="skip", showlegend=False),
        go.Scatter(
            x=[o.lon for o in data.overlay], y=[o.lat for o in data.overlay], mode="markers",
            name="hotspots (other position)", meta="overlay",
            marker={"size": 8, "symbol": "circle-open", "color": "#111"},
            text=[f"{o.address}<br>{html.escape(o.label)}" for o in data.overlay],
            hoverinfo="text",
        ),
    ]


def _joined(
    paths: Sequence[Sequence[tuple[float, float]]], close: bool = False
) -> tuple[list[float | None], list[float | None]]:
    """Many polylines as one trace: plotly breaks a line at None."""
    lats: list[float | None] = []
    lons: list[float | None] = []
    for points in paths:
        ring = list(points) + ([points[0]] if close and points else [])
        lats.extend(p[0] for p in ring)
        lons.extend(p[1] for p in ring)
        lats.append(None)
        lons.append(None)
    return lats, lons
