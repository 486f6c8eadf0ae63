"""Hex density scaling (docs/protocol.md §6) on real H3 populations built with pocnet.geo.

Expected values are derived in each test from the rules, step by step, in the comments.
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from oracle.density.params import HIP17, HIP104, PARAMS, DensityParams, DensityTableError, ResParams
from oracle.density.scale import (
    MISSING_SCALE,
    density_scales,
    hex_counts,
    parent_at,
    scale_of,
)
from pocnet import geo

# A place far from everything else used below (Lisbon-ish) and one in Berlin.
LISBON = (38.72, -9.14)
BERLIN = (52.52, 13.40)


def children(cell: int, res: int) -> list[int]:
    """The 7 children of `cell` one resolution finer: its centre child and that child's ring."""
    center = geo.latlng_to_cell(*geo.cell_to_latlng(geo.Cell(cell)), res)
    kids = geo.grid_disk(center, 1)
    assert all(geo.cell_to_parent(k, res - 1) == cell for k in kids)  # H3 aperture 7
    return kids


def hotspot_in(cell: int) -> int:
    """An asserted res-12 location inside `cell` (at its centre)."""
    return geo.latlng_to_cell(*geo.cell_to_latlng(geo.Cell(cell)), 12)


def test_tables_match_protocol_section_6() -> None:
    assert HIP104.at(4) == ResParams(2, 500, 1000)
    assert HIP104.at(7) == ResParams(4, 5, 10)
    assert [HIP104.at(r) for r in (8, 9, 10)] == [ResParams(2, 1, 1)] * 3
    assert HIP17.at(4) == ResParams(1, 250, 800)
    assert HIP17.at(8) == ResParams(2, 1, 4)
    assert HIP17.at(10) == ResParams(2, 1, 1)
    assert set(PARAMS) == {"hip104", "hip17"}


def test_table_with_max_below_target_is_refused() -> None:
    rows = {r: ResParams(1, 2, 1) for r in range(4, 11)}
    with pytest.raises(DensityTableError):
        DensityParams("bad", "test", rows)


def test_parent_bits_agree_with_h3() -> None:
    rng = random.Random(1)
    for _ in range(300):
        cell = geo.latlng_to_cell(rng.uniform(-80, 80), rng.uniform(-179, 179), 12)
        for res in range(4, 12):
            assert parent_at(cell, res) == geo.cell_to_parent(cell, res)


def test_a_hotspot_alone_scales_one() -> None:
    cell = geo.latlng_to_cell(*LISBON, 12)
    assert density_scales([cell]) == {cell: Decimal("1.0000")}
    assert str(density_scales([cell])[cell]) == "1.0000"


def test_co_located_hotspots_share_one_res10_hex() -> None:
    # Two hotspots in one res-12 cell: res-11 count 2, res-10 unclipped 2; HIP-104 res 10 has
    # max 1 so clipped 1 -> ratio 1/2; every coarser level sees 1 -> scale 0.5000 each.
    cell = geo.latlng_to_cell(*LISBON, 12)
    assert density_scales([cell, cell]) == {cell: Decimal("0.5000")}
    # HIP-17 res 10 also has max 1 (N=2, target 1, max 1): same.
    assert density_scales([cell, cell], HIP17) == {cell: Decimal("0.5000")}


def test_three_res11_hexes_in_one_res10_hex() -> None:
    # Three different res-11 children of one res-10 hex, one hotspot each: res 10 unclipped 3,
    # clipped 1 -> 1/3 = 0.33333... -> 0.3333; the rest of the chain is 1.
    h10 = geo.latlng_to_cell(*BERLIN, 10)
    cells = [hotspot_in(c) for c in children(h10, 11)[:3]]
    scales = density_scales(cells)
    assert set(scales.values()) == {Decimal("0.3333")}
    # HIP-17 res 9 (max 2) and res 8 (max 4) do not bite: the same 1/3 at res 10.
    assert set(density_scales(cells, HIP17).values()) == {Decimal("0.3333")}


def test_half_even_rounding_of_the_exact_product() -> None:
    # 32 hotspots in one res-12 cell: 1/32 = 0.03125 exactly; half to even gives 0.0312
    # (half-up would give 0.0313). 160 of them: 0.00625 -> 0.0062.
    cell = geo.latlng_to_cell(*LISBON, 12)
    assert density_scales([cell] * 32)[cell] == Decimal("0.0312")
    assert density_scales([cell] * 160)[cell] == Decimal("0.0062")


def test_dense_neighbours_at_res7_and_res6() -> None:
    # One res-6 hex H6; its 7 res-7 children (centre C and ring R1..R6) each get a hotspot in
    # each of their 7 res-8 children: 49 hotspots, one per res-8 hex.
    # res 11..8: one hotspot per hex -> ratios 1.
    # res 7 (HIP-104 N=4, target 5, max 10): every child has unclipped 7 (>= target).
    #   C: its disk is all 7 children -> occupied 7 -> limit min(10, 5*max(7-4+1, 1)) = 10
    #      -> clipped 7 -> ratio 1.
    #   Ri: its disk holds Ri, C and its 2 ring neighbours (the other 3 are outside H6, empty)
    #      -> occupied 4 -> limit min(10, 5*max(4-4+1, 1)) = 5 -> clipped 5 -> ratio 5/7.
    # res 6 (N=4, target 25, max 50): H6 unclipped 7 + 6*5 = 37; no neighbour has any
    #   -> occupied 1 -> limit min(50, 25*max(1-4+1, 1)) = 25 -> ratio 25/37.
    # res 5 (target 100) and res 4 (target 500) see 25 -> ratio 1.
    # Scales: C hotspots 25/37 = 0.675675.. -> 0.6757; ring 125/259 = 0.482625.. -> 0.4826.
    h6 = geo.latlng_to_cell(*BERLIN, 6)
    res7 = children(h6, 7)
    center = geo.latlng_to_cell(*geo.cell_to_latlng(h6), 7)
    cells: dict[int, int] = {}  # hotspot cell -> its res-7 hex
    for h7 in res7:
        for h8 in children(h7, 8):
            cells[hotspot_in(h8)] = h7
    scales = density_scales(list(cells))
    assert len(scales) == 49
    for cell, h7 in cells.items():
        assert scales[cell] == (Decimal("0.6757") if h7 == center else Decimal("0.4826"))
    counts = hex_counts(list(cells))
    assert counts.levels[7].clipped_count(center) == 7
    assert counts.levels[6].unclipped_count(h6) == 37
    assert counts.levels[6].clipped_count(h6) == 25


def test_clustered_city_and_a_lone_rural_hotspot() -> None:
    # 60 hotspots within ~100 m: HIP-104 clips every res-10, res-9 and res-8 hex to 1, so the
    # scales of the hotspots of one res-8 hex add up to 1 (up to 4-dp rounding) as long as
    # res 7 is not clipped (at most 5 occupied res-8 hexes). A hotspot 300 km away is alone.
    rng = random.Random(7)
    city = [
        geo.latlng_to_cell(BERLIN[0] + rng.gauss(0, 0.0005), BERLIN[1] + rng.gauss(0, 0.0005), 12)
        for _ in range(60)
    ]
    lone = geo.latlng_to_cell(50.0, 8.0, 12)
    scales = density_scales([*city, lone])
    assert scales[lone] == Decimal("1.0000")
    res8 = {geo.cell_to_parent(c, 8) for c in city}
    assert len(res8) <= 5
    assert all(scales[c] < Decimal("0.5") for c in city)
    total = sum(scales[c] for c in city)  # each hotspot counted once per hotspot
    assert abs(total - len(res8)) <= Decimal("0.0001") * len(city)
    # Adding the lone hotspot changes nobody in the city.
    alone = density_scales(city)
    assert all(alone[c] == scales[c] for c in city)


def test_helium_oracles_reference_population() -> None:
    """Cross-check with the published vector of helium/oracles hex_density.rs (HIP-104):
    36 hotspots of the live 2022-10-14 res-8 hex 882830D341FFFFF."""
    cells = [
        631210990515536895, 631210990515536895, 631210990515536895, 631210990515537919,
        631210990515537919, 631210990515537919, 631210990515538431, 631210990515564031,
        631210990515589631, 631210990515600383, 631210990515601919, 631210990515606527,
        631210990515722239, 631210990515722239, 631210990515727359, 631210990515728895,
        631210990515739647, 631210990515874303, 631210990515924479, 631210990516363775,
        631210990515987455, 631210990516590079, 631210990516612607, 631210990516613631,
        631210990516640767, 631210990516876799, 631210990516885503, 631210990516888063,
        631210990516907007, 631210990516912639, 631210990516955647, 631210990516996607,
        631210990517011455, 631210990517016575, 631210990517144063, 631210990517264895,
    ]  # fmt: skip
    scales = density_scales(cells)
    assert scales[631210990515537919] == Decimal("0.0060")
    assert scales[631210990516363775] == Decimal("0.1667")
    assert scales[631210990515722239] == Decimal("0.0083")
    assert scales[631210990516955647] == Decimal("0.0417")
    assert scales[631210990517144063] == Decimal("0.0833")
    assert scales[631210990515601919] == Decimal("0.0104")


def test_missing_hotspot_gets_default_scale() -> None:
    cell = geo.latlng_to_cell(*LISBON, 12)
    other = geo.latlng_to_cell(*BERLIN, 12)
    scales = density_scales([cell])
    assert scale_of(scales, other) == MISSING_SCALE == Decimal("0.2")
    assert scale_of(scales, None) == Decimal("0.2")
    assert scale_of(scales, cell) == Decimal("1.0000")


def test_coarse_cell_is_refused() -> None:
    with pytest.raises(geo.GeoError):
        density_scales([geo.latlng_to_cell(*LISBON, 9)])


def test_any_population_scales_within_0_and_1_whatever_the_order() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    base = geo.latlng_to_cell(*BERLIN, 7)
    pool = [hotspot_in(c) for h8 in children(base, 8) for c in children(h8, 9)]  # 49 places

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.sampled_from(pool), min_size=1, max_size=120), st.randoms())
    def check(cells: list[int], rnd) -> None:
        scales = density_scales(cells)
        assert set(scales) == set(cells)
        assert all(Decimal(0) < v <= 1 for v in scales.values())
        shuffled = list(cells)
        rnd.shuffle(shuffled)
        assert density_scales(shuffled) == scales

    check()


def _reference_scales(cells: list[int], params: DensityParams) -> dict[int, Decimal]:
    """docs/protocol.md §6 rules 1-3 read literally with h3's own parent and disk functions, in
    exact Fractions, one hex at a time (no code shared with oracle/density/scale.py)."""
    from fractions import Fraction

    import h3.api.basic_int as h3int

    clipped: dict[int, int] = {}
    for cell in cells:  # rule 1
        p = h3int.cell_to_parent(cell, 11)
        clipped[p] = clipped.get(p, 0) + 1
    ratio: dict[int, Fraction] = {}  # hex -> clipped / unclipped
    for res in range(10, 3, -1):  # rule 2
        unclipped: dict[int, int] = {}
        for child, n in clipped.items():
            p = h3int.cell_to_parent(child, res)
            unclipped[p] = unclipped.get(p, 0) + n
        row = params.at(res)
        clipped = {}
        for hex_, n in unclipped.items():
            occupied = sum(1 for h in h3int.grid_disk(hex_, 1) if unclipped.get(h, 0) >= row.target)
            limit = min(row.max, row.target * max(occupied - row.neighbors + 1, 1))
            clipped[hex_] = min(limit, n)
            ratio[hex_] = Fraction(clipped[hex_], n)
    out = {}
    for cell in cells:  # rule 3
        product = Fraction(1)
        for res in range(10, 3, -1):
            product *= ratio[h3int.cell_to_parent(cell, res)]
        scaled = product * 10**4
        q, rest = divmod(scaled.numerator, scaled.denominator)
        if 2 * rest > scaled.denominator or (2 * rest == scaled.denominator and q % 2):
            q += 1
        out[cell] = Decimal(q).scaleb(-4)
    return out


@pytest.mark.parametrize("params", [HIP104, HIP17])
def test_random_clustered_population_matches_the_rules_read_literally(params) -> None:
    # 20,000 hotspots in 12 tight "cities" (every resolution clips somewhere), a rural sprinkle
    # and co-located pairs.
    rng = random.Random(11)
    towns = [(rng.uniform(-40, 60), rng.uniform(-120, 140), rng.uniform(0.002, 0.05))
             for _ in range(12)]
    cells: list[int] = []
    for i in range(20_000):
        if i and rng.random() < 0.1:
            cells.append(rng.choice(cells))
        elif rng.random() < 0.1:
            cells.append(geo.latlng_to_cell(rng.uniform(-55, 65), rng.uniform(-170, 170), 12))
        else:
            lat, lon, sd = rng.choice(towns)
            cells.append(geo.latlng_to_cell(rng.gauss(lat, sd), rng.gauss(lon, sd), 12))
    got = density_scales(cells, params)
    assert got == _reference_scales(cells, params)
    assert len(set(got.values())) > 50  # the case exercises many distinct chains
