"""`pocnet-oracle map --epoch N --out FILE.html`: an epoch on one offline HTML page.

Hotspots at their asserted locations coloured by reward, res-8 hexes coloured by the density
scale the epoch paid with, witness links coloured valid or invalid with their reasons on hover.
`--overlay CSV` adds a second position per hotspot (a simulator's true location, a GPS fix),
joined to the asserted one by a dotted line.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

from oracle.rewards.store import MAX_EPOCH
from pocnet.cli import UsageError, integer, print_json

OVERLAY_COLUMNS = ("address", "lat", "lon")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "map",
        help="an epoch's hotspots, hexes and witness links as one offline HTML file",
        description="Draw an epoch: hotspots at their asserted locations (coloured by reward), "
        "hexes by density scale, witness links valid or invalid with the reason on hover. "
        "The file is self-contained and opens without a network.",
    )
    p.add_argument("--epoch", type=integer(0, MAX_EPOCH), required=True, metavar="N",
                   help="epoch = days since 1970-01-01 UTC")
    p.add_argument("--out", required=True, metavar="FILE.html", help="where to write the map")
    p.add_argument("--overlay", metavar="CSV",
                   help="second positions to draw: columns address, lat, lon[, label]")
    p.add_argument("--params", choices=("hip104", "hip17"), default="hip104",
                   help="hex density table the rewards used (default hip104)")
    p.add_argument("--title", help="page title (default: pocnet epoch N)")
    p.add_argument("--config", metavar="FILE", help="settings file (TOML)")
    p.add_argument("--database", metavar="URL", help="database URL or path")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_run)


def read_overlay(path: Path) -> list[Any]:
    """The overlay CSV, every row checked; a mistake is one line naming the row."""
    from oracle.map.source import MapOverlay

    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in OVERLAY_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise UsageError(f"{path}: missing column(s) {', '.join(missing)}")
            rows = []
            for line, row in enumerate(reader, start=2):
                try:
                    lat, lon = float(row["lat"]), float(row["lon"])
                except (TypeError, ValueError):
                    raise UsageError(f"{path}:{line}: lat/lon must be numbers") from None
                if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                    raise UsageError(f"{path}:{line}: lat/lon out of range")
                rows.append(MapOverlay(row["address"] or "", lat, lon, row.get("label") or ""))
            return rows
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{path}: not a CSV file: {exc}") from None


def _run(args: argparse.Namespace) -> int:
    import dataclasses

    from oracle.commands._database import open_database
    from oracle.density.params import PARAMS
    from oracle.map.render import render_html
    from oracle.map.source import read_map

    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"--out {out} is a directory; name the HTML file")
    overlay = read_overlay(Path(args.overlay)) if args.overlay else []
    settings, repo = open_database(args.config, args.database)
    try:
        data = read_map(repo, args.epoch, PARAMS[args.params], settings.network.epoch_s * 1000)
    finally:
        repo.close()
    data = dataclasses.replace(data, overlay=tuple(overlay))
    try:
        drawn = render_html(data, out, args.title)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror}") from None
    result = {"epoch": args.epoch, "path": str(out), "rewarded": data.rewarded, **drawn}
    if args.json:
        print_json(result)
    else:
        print(f"epoch {args.epoch}: {drawn['hotspots']} hotspots, {drawn['links']} witness links "
              f"({drawn['valid_links']} valid), {drawn['hexes']} hexes -> {out}")
    return 0
