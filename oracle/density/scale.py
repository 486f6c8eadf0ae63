"""Hex density scaling, docs/protocol.md §6 (HIP-17 with HIP-104 parameters by default).

1. Every interactive hotspot adds 1 to the res-11 parent of its asserted cell.
2. From res 10 down to 4, a parent's *unclipped* count is the sum of its children's clipped
   counts; `occupied` counts the hexes of the parent's 7-hex disk whose count reaches the
   target; `limit = min(max, target × max(occupied − N + 1, 1))`; `clipped = min(limit,
   unclipped)`.
3. A hotspot's scale is the product over res 10..4 of clipped/unclipped along its parents,
   rounded to 4 places half to even, keyed by the exact asserted cell.

Why occupancy reads the unclipped counts: with max ≥ target (checked by DensityParams), a hex
whose unclipped count reaches the target keeps a clipped count ≥ target (limit ≥ target), and
one below the target is not clipped at all. So "clipped ≥ target" and "unclipped ≥ target"
agree, and the result does not depend on the order in which hexes of one level are clipped
(helium/oracles' rollup depends on that order only in appearance).

Speed (1,000,000 hotspots in a few seconds): every level is a sorted uint64 array of hexes with
count arrays (numpy); parents come from the H3 index bits, and since a parent keeps its
children's leading bits, sorted children give sorted parents and one `reduceat` sums them. The
7-hex disk is looked up (h3's integer API) only where the limit can bite (unclipped > target
and max > target). Ratios stay integer pairs, multiplied and rounded once per distinct chain.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain

import h3.api.basic_int as h3
import numpy as np

from oracle.density.params import COUNT_RES, DEFAULT_PARAMS, SCALED_RES, DensityParams
from oracle.density.rounding import round_half_even, scaled_decimal
from pocnet import geo

SCALE_PLACES = 4
# docs/protocol.md §6 rule 4: a hotspot missing from the map gets this scale.
MISSING_SCALE = Decimal("0.2")

Progress = Callable[[int], None]
_ONE = scaled_decimal(10**SCALE_PLACES, SCALE_PLACES)
_PAIR = 1 << 32  # (clipped, unclipped) as one int64: counts stay below 2^31 (checked)


# H3 index layout (h3geo.org "H3 Index Representations"): resolution in bits 52-55, then 15
# digits of 3 bits (digit r at bits 3×(15−r)); digits finer than the resolution are all 7.
# A parent at a coarser resolution p is the same index with resolution p and digits p+1..15
# set to 7. Doing this on the integer avoids ~4 million int→str→int round trips through
# pocnet.geo per million hotspots; tests check it against geo.cell_to_parent.
_RES_SHIFT = 52
_MODE_SHIFT = 59  # mode 1 = cell index
_RES_CLEAR = ~(0xF << _RES_SHIFT) & ((1 << 64) - 1)
_PARENT_SET = tuple((p << _RES_SHIFT) | ((1 << (3 * (15 - p))) - 1) for p in range(16))


def parent_at(cell: int, res: int) -> int:
    """The parent of `cell` at `res` (≤ the cell's own resolution; not checked here)."""
    return (cell & _RES_CLEAR) | _PARENT_SET[res]


def parents_at(cells: np.ndarray, res: int) -> np.ndarray:
    """`parent_at` over a uint64 array. Monotone: cells of one resolution sorted ascending
    give parents sorted ascending (only bits below the kept digits change)."""
    return (cells & np.uint64(_RES_CLEAR)) | np.uint64(_PARENT_SET[res])


@dataclass(frozen=True)
class Level:
    """One resolution's counts: `hexes` sorted, `unclipped` and `clipped` aligned with it."""

    hexes: np.ndarray  # uint64
    unclipped: np.ndarray  # int64
    clipped: np.ndarray  # int64

    def index(self, hexes: np.ndarray) -> np.ndarray:
        """Positions of `hexes` (all present) in this level."""
        return np.searchsorted(self.hexes, hexes)

    def _at(self, hex_: int) -> int:
        i = int(np.searchsorted(self.hexes, np.uint64(hex_)))
        if i == len(self.hexes) or int(self.hexes[i]) != hex_:
            raise KeyError(hex_)
        return i

    def unclipped_count(self, hex_: int) -> int:
        return int(self.unclipped[self._at(hex_)])

    def clipped_count(self, hex_: int) -> int:
        return int(self.clipped[self._at(hex_)])


@dataclass(frozen=True)
class DensityCounts:
    """Counts at res 11 (never clipped) and at every resolution 10..4."""

    res11: Level
    levels: Mapping[int, Level]


Cells = Iterable[int] | np.ndarray


def _cell_array(cells: Cells) -> np.ndarray:
    """The cells as uint64, each checked to be a cell (mode 1) at res 11 or finer."""
    items = cells if isinstance(cells, list | np.ndarray) else list(cells)
    try:
        arr = np.asarray(items, np.uint64) if isinstance(items, np.ndarray) else np.fromiter(
            items, np.uint64, len(items))
    except (OverflowError, TypeError, ValueError):
        arr = None
    bad = (
        np.ones(len(items), bool) if arr is None
        else ((arr >> np.uint64(_MODE_SHIFT)) & np.uint64(0xF) != 1)
        | ((arr >> np.uint64(_RES_SHIFT)) & np.uint64(0xF) < COUNT_RES)
    )
    if bad.any():
        cell = items[int(np.argmax(bad))]
        shown = f"{int(cell):x}" if int(cell) >= 0 else repr(cell)
        raise geo.GeoError(f"{shown} is not a cell at resolution {COUNT_RES} or finer")
    assert arr is not None
    return arr


def _roll_up(children: np.ndarray, counts: np.ndarray, res: int) -> tuple[np.ndarray, np.ndarray]:
    """Parents at `res` of sorted `children` and the sums of their counts (sorted, unique)."""
    parents = parents_at(children, res)
    if not len(parents):
        return parents, counts
    starts = np.flatnonzero(np.concatenate(([True], parents[1:] != parents[:-1])))
    return parents[starts], np.add.reduceat(counts, starts)


def _occupied(hexes: np.ndarray, unclipped: np.ndarray, which: np.ndarray, target: int
              ) -> np.ndarray:
    """For each hex at positions `which`: how many hexes of its 7-hex disk (6 at a pentagon)
    have an unclipped count reaching `target` (a hex with no hotspot counts 0)."""
    disks = [h3.grid_disk(int(h), 1) for h in hexes[which]]
    sizes = np.fromiter(map(len, disks), np.int64, len(disks))
    flat = np.fromiter(chain.from_iterable(disks), np.uint64, int(sizes.sum()))
    pos = np.minimum(np.searchsorted(hexes, flat), len(hexes) - 1)
    reaches = (hexes[pos] == flat) & (unclipped[pos] >= target)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return np.add.reduceat(reaches.astype(np.int64), starts)


def hex_counts(
    cells: Cells, params: DensityParams = DEFAULT_PARAMS, progress: Progress | None = None
) -> DensityCounts:
    """Roll hotspot counts up from res 11 to res 4 with clipping (rules 1 and 2).

    Cells must be valid H3 cells (the command validates with geo.parse_cell; the registry
    validated assertions); only the mode and resolution are re-checked here.
    """
    arr = _cell_array(cells)
    if len(arr) >= 1 << 31:
        raise ValueError("more than 2^31 hotspots")
    hexes, counts = np.unique(parents_at(arr, COUNT_RES), return_counts=True)
    counts = counts.astype(np.int64)
    res11 = Level(hexes, counts, counts)
    if progress:
        progress(1)
    levels: dict[int, Level] = {}
    for res in SCALED_RES:
        row = params.at(res)
        hexes, unclipped = _roll_up(hexes, counts, res)
        counts = unclipped
        over = np.flatnonzero(unclipped > row.target)  # else limit >= target >= n: no clip
        if len(over):
            if row.max > row.target:
                occupied = _occupied(hexes, unclipped, over, row.target)
                limit = np.minimum(
                    row.max, row.target * np.maximum(occupied - row.neighbors + 1, 1))
            else:
                limit = np.full(len(over), row.max, np.int64)
            counts = unclipped.copy()
            counts[over] = np.minimum(unclipped[over], limit)
        levels[res] = Level(hexes, unclipped, counts)
        if progress:
            progress(1)
    return DensityCounts(res11=res11, levels=levels)


def scales_from_counts(counts: DensityCounts, cells: Cells) -> dict[int, Decimal]:
    """Rule 3: the rounded product of clipped/unclipped over res 10..4, per asserted cell
    (the dict in the order the cells come, each cell once).

    The product depends only on a cell's res-10 hex, so it is formed per res-10 hex: each
    level's ratio as an integer pair (1/1 where nothing was clipped), the distinct chains of
    pairs numbered with numpy, and each distinct chain multiplied and rounded once, exactly."""
    given = _cell_array(cells)
    top = counts.levels[SCALED_RES[0]]
    pairs = []
    for res in SCALED_RES:
        level = counts.levels[res]
        at = level.index(parents_at(top.hexes, res)) if res != SCALED_RES[0] else slice(None)
        c, u = level.clipped[at], level.unclipped[at]
        same = c == u
        pairs.append((np.where(same, 1, c), np.where(same, 1, u)))
    scale_of_hex = np.full(len(top.hexes), _ONE, object)
    clipped = np.flatnonzero(np.any([c != u for c, u in pairs], axis=0)) if pairs else []
    if len(clipped):
        chain_id = np.zeros(len(clipped), np.int64)
        for c, u in pairs:  # number the distinct (chain so far, this level's pair)
            _, pair_id = np.unique(c[clipped] * _PAIR + u[clipped], return_inverse=True)
            _, chain_id = np.unique(chain_id * (int(pair_id.max()) + 1) + pair_id.reshape(-1),
                                    return_inverse=True)
            chain_id = chain_id.reshape(-1)
        some_row = np.empty(int(chain_id.max()) + 1, np.int64)
        some_row[chain_id] = clipped  # any row of a chain: all have the same pairs
        values = np.empty(len(some_row), object)
        for i, row in enumerate(some_row.tolist()):
            num = math.prod(int(c[row]) for c, _ in pairs)
            den = math.prod(int(u[row]) for _, u in pairs)
            values[i] = scaled_decimal(round_half_even(num, den, SCALE_PLACES), SCALE_PLACES)
        scale_of_hex[clipped] = values[chain_id]
    at10 = top.index(parents_at(given, SCALED_RES[0]))
    return dict(zip(given.tolist(), scale_of_hex[at10].tolist(), strict=True))


def density_scales(
    cells: Iterable[int], params: DensityParams = DEFAULT_PARAMS, progress: Progress | None = None
) -> dict[int, Decimal]:
    """The scale map for interactive hotspots at `cells` (a repeated cell = co-located)."""
    cell_arr = _cell_array(cells)
    return scales_from_counts(hex_counts(cell_arr, params, progress), cell_arr)


def scale_of(scales: Mapping[int, Decimal], cell: int | None) -> Decimal:
    """Rule 4: the scale of a hotspot at `cell`, 0.2 when it is not in the map."""
    if cell is None:
        return MISSING_SCALE
    return scales.get(cell, MISSING_SCALE)
