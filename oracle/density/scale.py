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

Speed (1,000,000 hotspots ≤ 20 s): counts are plain dicts of ints; a disk lookup is needed only
where the limit could bite (unclipped > target and max > target); ratios stay integer pairs and
are multiplied down the parent chain once per hex (memoised per parent), then rounded exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from oracle.density.params import COUNT_RES, DEFAULT_PARAMS, SCALED_RES, DensityParams
from oracle.density.rounding import round_half_even, scaled_decimal
from pocnet import geo

SCALE_PLACES = 4
# docs/protocol.md §6 rule 4: a hotspot missing from the map gets this scale.
MISSING_SCALE = Decimal("0.2")

Progress = Callable[[int], None]


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


@dataclass(frozen=True)
class Level:
    """One resolution's counts. `clipped` holds only the hexes that were clipped."""

    unclipped: Mapping[int, int]
    clipped: Mapping[int, int]
    parent: Mapping[int, int]  # each hex of the finer level -> its hex here

    def clipped_count(self, hex_: int) -> int:
        return self.clipped.get(hex_, self.unclipped[hex_])


@dataclass(frozen=True)
class DensityCounts:
    """Counts at res 11 (never clipped) and at every resolution 10..4."""

    res11: Mapping[int, int]
    cell11: Mapping[int, int]  # asserted cell -> its res-11 parent (itself when res 11)
    levels: Mapping[int, Level]


def hex_counts(
    cells: Iterable[int], params: DensityParams = DEFAULT_PARAMS, progress: Progress | None = None
) -> DensityCounts:
    """Roll hotspot counts up from res 11 to res 4 with clipping (rules 1 and 2).

    Cells must be valid H3 cells (the command validates with geo.parse_cell; the registry
    validated assertions); only the mode and resolution are re-checked here.
    """
    population = Counter(cells)
    cell11: dict[int, int] = {}
    res11: dict[int, int] = {}
    for cell, n in population.items():
        if (cell >> _MODE_SHIFT) & 0xF != 1 or (cell >> _RES_SHIFT) & 0xF < COUNT_RES:
            raise geo.GeoError(f"{cell:x} is not a cell at resolution {COUNT_RES} or finer")
        p11 = parent_at(cell, COUNT_RES)
        cell11[cell] = p11
        res11[p11] = res11.get(p11, 0) + n
    levels: dict[int, Level] = {}
    if progress:
        progress(1)
    child_counts: Mapping[int, int] = res11
    for res in SCALED_RES:
        row = params.at(res)
        set_bits = _PARENT_SET[res]
        parent = {child: (child & _RES_CLEAR) | set_bits for child in child_counts}
        sums: dict[int, int] = {}
        for child, n in child_counts.items():
            p = parent[child]
            sums[p] = sums.get(p, 0) + n
        clipped: dict[int, int] = {}
        can_vary = row.max > row.target
        for hex_, n in sums.items():
            if n <= row.target:
                continue  # limit >= target >= n: nothing to clip
            if can_vary:
                occupied = sum(
                    1 for h in geo.grid_disk(geo.Cell(hex_), 1) if sums.get(h, 0) >= row.target
                )
                limit = min(row.max, row.target * max(occupied - row.neighbors + 1, 1))
            else:
                limit = row.max
            if limit < n:
                clipped[hex_] = limit
        levels[res] = Level(unclipped=sums, clipped=clipped, parent=parent)
        if clipped:
            child_counts = {h: clipped.get(h, n) for h, n in sums.items()}
        else:
            child_counts = sums
        if progress:
            progress(1)
    return DensityCounts(res11=res11, cell11=cell11, levels=levels)


def scales_from_counts(counts: DensityCounts, cells: Iterable[int]) -> dict[int, Decimal]:
    """Rule 3: the rounded product of clipped/unclipped over res 10..4, per asserted cell."""
    # Only hexes with a clipped ancestor (or themselves clipped) have a product other than 1;
    # `chain` holds just those, as exact (numerator, denominator) pairs.
    chain: dict[int, tuple[int, int]] = {}
    for res in reversed(SCALED_RES):  # 4, 5, ..., 10: parents before children
        level = counts.levels[res]
        coarser = chain
        chain = {}
        if coarser:  # inherit the product of the parent one resolution up
            for hex_, p in counts.levels[res - 1].parent.items():
                up = coarser.get(p)
                if up is not None:
                    chain[hex_] = up
        for hex_, c in level.clipped.items():
            u = level.unclipped[hex_]
            up = chain.get(hex_, (1, 1))
            chain[hex_] = (c * up[0], u * up[1])
    one = scaled_decimal(10**SCALE_PLACES, SCALE_PLACES)
    rounded: dict[tuple[int, int], Decimal] = {}
    res10_parent = counts.levels[SCALED_RES[0]].parent
    out: dict[int, Decimal] = {}
    for cell in cells:
        if cell in out:
            continue
        ratio = chain.get(res10_parent[counts.cell11[cell]])
        if ratio is None:
            out[cell] = one
            continue
        value = rounded.get(ratio)
        if value is None:
            q = round_half_even(ratio[0], ratio[1], SCALE_PLACES)
            value = rounded[ratio] = scaled_decimal(q, SCALE_PLACES)
        out[cell] = value
    return out


def density_scales(
    cells: Iterable[int], params: DensityParams = DEFAULT_PARAMS, progress: Progress | None = None
) -> dict[int, Decimal]:
    """The scale map for interactive hotspots at `cells` (a repeated cell = co-located)."""
    cell_list = cells if isinstance(cells, list) else list(cells)
    counts = hex_counts(cell_list, params, progress)
    return scales_from_counts(counts, cell_list)


def scale_of(scales: Mapping[int, Decimal], cell: int | None) -> Decimal:
    """Rule 4: the scale of a hotspot at `cell`, 0.2 when it is not in the map."""
    if cell is None:
        return MISSING_SCALE
    return scales.get(cell, MISSING_SCALE)
