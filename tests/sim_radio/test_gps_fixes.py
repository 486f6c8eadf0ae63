"""GPS fixes over time: honest ones wander with a real receiver's spread, spoofed ones either
never move or keep one exact distance from the claimed point."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sim_radio import adversaries as A
from sim_radio.gps_fixes import GpsFixes, claim_at, gps_fix
from sim_radio.mesh import Hotspot

S = 1_000_000_000


def _assignment() -> A.Assignment:
    rng = np.random.default_rng(2)
    lat, lon = rng.uniform(45.0, 45.1, 30), rng.uniform(5.0, 5.1, 30)
    town = [Hotspot(f"h{i}", float(lat[i]), float(lon[i])) for i in range(30)]
    specs = [
        A.AdversarySpec("gps_frozen", 0.1, (("offset_km", 20.0),)),
        A.AdversarySpec("gps_clean_jitter", 0.1, (("offset_km", 20.0), ("radius_m", 5.0))),
    ]
    return A.assign(town, specs, seed=1)


def _kind(a: A.Assignment, behaviour: str) -> int:
    return min(i for i, ds in a.dishonest.items() if ds[0].behaviour == behaviour)


def _distances_m(a: A.Assignment, node: int, lat: float, lon: float) -> np.ndarray:
    fixes = [gps_fix(a, node, t * S, seed=7) for t in range(2000)]
    return np.array([A._haversine_m(lat, lon, f[0], f[1]) for f in fixes])


def test_honest_fixes_wander_with_the_receivers_cep() -> None:
    a = _assignment()
    honest = next(i for i in range(30) if i not in a.dishonest)
    h = a.hotspots[honest]
    d = _distances_m(a, honest, h.lat, h.lon)
    # CEP: half of the fixes within 2.5 m (u-blox NEO-M8 data sheet, open sky).
    assert np.median(d) == pytest.approx(2.5, abs=0.15)
    assert gps_fix(a, honest, 5 * S, 7) == gps_fix(a, honest, 5 * S + S // 2, 7)
    assert gps_fix(a, honest, 5 * S, 7) != gps_fix(a, honest, 6 * S, 7)


def test_a_frozen_spoofer_never_moves_and_a_clean_one_keeps_its_radius() -> None:
    a = _assignment()
    frozen = _kind(a, "gps_frozen")
    c = a.claims[frozen]
    assert len({gps_fix(a, frozen, t * S, 7) for t in range(100)}) == 1
    h = a.hotspots[frozen]
    assert A._haversine_m(c.asserted_lat, c.asserted_lon, h.lat, h.lon) == pytest.approx(20_000)
    assert (c.gps_lat, c.gps_lon) == (c.asserted_lat, c.asserted_lon)  # spoofed to match
    clean = _kind(a, "gps_clean_jitter")
    c = a.claims[clean]
    d = _distances_m(a, clean, c.gps_lat, c.gps_lon)
    assert np.allclose(d, 5.0, atol=0.01)
    assert a.gps_mode[clean] == ("clean_jitter", 5.0)
    assert a.dishonest[clean][0].as_dict() == {
        "behaviour": "gps_clean_jitter",
        "offset_km": 20.0,
        "radius_m": 5.0,
    }


def test_a_relocated_cluster_moves_all_at_once_by_one_vector() -> None:
    rng = np.random.default_rng(4)
    lat, lon = rng.uniform(45.0, 45.1, 20), rng.uniform(5.0, 5.1, 20)
    town = [Hotspot(f"h{i}", float(lat[i]), float(lon[i])) for i in range(20)]
    spec = A.AdversarySpec("cluster_move", 0.25, (("size", 5), ("move_km", 30.0), ("round", 3)))
    a = A.assign(town, [spec], seed=2)
    members = sorted(a.moves)
    assert len(members) == 5 and {a.moves[i][0] for i in members} == {3}
    for i in members:
        assert claim_at(a, i, 2) == a.claims[i]  # nothing changes before the move's round
        before, after = a.claims[i], claim_at(a, i, 3)
        d = A._haversine_m(
            before.asserted_lat, before.asserted_lon, after.asserted_lat, after.asserted_lon
        )
        assert d == pytest.approx(30_000, rel=1e-9)
        assert (after.gps_lat, after.gps_lon) == (after.asserted_lat, after.asserted_lon)
        assert gps_fix(a, i, 0, seed=1, round_index=5) != gps_fix(a, i, 0, seed=1)
    # One vector: the members keep their distances from each other.
    p, q = members[0], members[1]
    apart = [
        A._haversine_m(c.asserted_lat, c.asserted_lon, e.asserted_lat, e.asserted_lon)
        for c, e in ((a.claims[p], a.claims[q]), (claim_at(a, p, 9), claim_at(a, q, 9)))
    ]
    assert apart[1] == pytest.approx(apart[0], rel=1e-3)
    honest = next(i for i in range(20) if i not in a.dishonest)
    assert claim_at(a, honest, 9) == a.claims[honest]


def test_a_rounds_fixes_at_once_are_each_reports_own_fix() -> None:
    """Batching is only speed: every fix stays a function of (seed, node, second, round), the
    same whichever other reports share its batch and in whatever order."""
    a = _assignment()
    mover = replace(a, moves={3: (1, 45.5, 5.5)})  # node 3 relocates from round 1 on
    no_gps = replace(a, claims=(*a.claims[:4], replace(a.claims[4], gps_lat=None,
                                                       gps_lon=None), *a.claims[5:]))
    rng = np.random.default_rng(9)
    nodes = rng.integers(0, 30, 400)
    times = rng.integers(0, 50 * S, 400)
    modes = {a.gps_mode.get(int(i), ("honest", 0.0))[0] for i in nodes}
    assert modes == {"honest", "frozen", "clean_jitter"}
    for world, round_index in ((a, 0), (mover, 0), (mover, 2), (no_gps, 0)):
        lat, lon = GpsFixes(world).at(nodes, times, 7, round_index)
        order = rng.permutation(400)
        lat2, lon2 = GpsFixes(world).at(nodes[order], times[order], 7, round_index)
        assert np.array_equal(lat2, lat[order], equal_nan=True)
        assert np.array_equal(lon2, lon[order], equal_nan=True)
        for k in range(400):
            one = gps_fix(world, int(nodes[k]), int(times[k]), 7, round_index)
            if one is None:
                assert np.isnan(lat[k]) and np.isnan(lon[k])
            else:
                assert one == (lat[k], lon[k])
    before, after = GpsFixes(mover).at([3, 3], [0, 0], 7, 0), GpsFixes(mover).at([3], [0], 7, 2)
    c = claim_at(mover, 3, 0)
    assert A._haversine_m(c.gps_lat, c.gps_lon, before[0][0], before[1][0]) < 20
    assert A._haversine_m(45.5, 5.5, after[0][0], after[1][0]) < 20  # around its new place
    assert np.isnan(GpsFixes(no_gps).at([4, 4], [0, S], 7)[0]).all()
