"""`pocnet-oracle density`: hex density scales for asserted cells read from stdin.

One cell per line (H3 hex string or 64-bit decimal integer); a repeated cell is several
hotspots in one place. Every input hotspot counts as interactive. Prints each distinct cell's
scale in input order, or with --json one object from H3 string to scale (a JSON number with
exactly 4 decimals, written by hand so the Decimal stays exact).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from decimal import Decimal
from typing import TextIO

from pocnet import geo
from pocnet.cli import UsageError, progress_bar
from pocnet.errors import DecodeError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "density",
        help="hex density scales (docs/protocol.md §6) for cells on stdin",
        description="Read asserted H3 cells, one per line on stdin (a repeated cell is several "
        "hotspots), and print each distinct cell's hex density scale.",
    )
    p.add_argument(
        "--params",
        choices=("hip104", "hip17"),
        default="hip104",
        help="density table: HIP-104 (default) or the original HIP-17",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object cell -> scale")
    p.set_defaults(handler=_run)


def read_cells(lines: Iterable[str]) -> list[int]:
    """Parse stdin; the first bad line is a UsageError naming its line number."""
    cells: list[int] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            cell = geo.parse_cell(text)
        except DecodeError as exc:
            raise UsageError(f"line {number}: {exc}") from None
        if geo.resolution(cell) < 11:
            raise UsageError(f"line {number}: {text} is coarser than resolution 11")
        cells.append(cell)
    return cells


def format_json(scales: dict[int, Decimal]) -> str:
    body = ", ".join(f'"{geo.cell_to_str(geo.Cell(c))}": {v}' for c, v in sorted(scales.items()))
    return "{" + body + "}"


def _run(args: argparse.Namespace, stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    from oracle.density.params import PARAMS
    from oracle.density.scale import density_scales

    cells = read_cells(stdin or sys.stdin)
    with progress_bar("density", "res", total=8) as bar:
        scales = density_scales(cells, PARAMS[args.params], progress=bar.update)
    sink = out or sys.stdout
    if args.json:
        sink.write(format_json(scales) + "\n")
    else:
        for cell, value in scales.items():
            sink.write(f"{geo.cell_to_str(geo.Cell(cell))} {value}\n")
    return 0
