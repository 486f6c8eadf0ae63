"""GPS fixes over time: honest ones wander with a real receiver's spread, spoofed ones either
never move or keep one exact distance from the claimed point."""

from __future__ import annotations

import numpy as np
import pytest

from sim_radio import adversaries as A
from sim_radio.gps_fixes import claim_at, gps_fix
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
