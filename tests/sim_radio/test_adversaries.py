"""Adversaries: who cheats is recorded, each cheat does what it says to the world or to the
reports, and every altered or invented report is flagged."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sim_radio import adversaries as A
from sim_radio.mesh import Hotspot, Mesh
from sim_radio.propagation import preset


def _town(n: int = 60, size_deg: float = 0.05) -> list[Hotspot]:
    rng = np.random.default_rng(11)
    lat, lon = rng.uniform(45.0, 45.0 + size_deg, n), rng.uniform(5.0, 5.0 + size_deg * 1.4, n)
    return [Hotspot(f"h{i:03d}", float(lat[i]), float(lon[i])) for i in range(n)]


def _spec(behaviour: str, share: float, **params) -> A.AdversarySpec:
    return A.AdversarySpec(behaviour, share, tuple(params.items()))


ALL = [
    _spec("false_location", 0.05, offset_km=20, gps="spoofed"),
    _spec("rssi_inflation", 0.05, db=15),
    _spec("attenuator", 0.05, db=20),
    _spec("shared_antenna", 0.1, group=3, spread_km=4),
    _spec("collusion_ring", 0.1, size=3),
    _spec("beacon_relay", 0.05, latency_ms=150),
    _spec("replay", 0.05, delay_s=900),
    _spec("clock_offset", 0.05, hours=5),
    _spec("constant_report", 0.05, rssi_dbm=-140, snr_db=-20),
    _spec("gps_frozen", 0.05, offset_km=20),
    _spec("gps_clean_jitter", 0.05, offset_km=20, radius_m=5),
    _spec("wired_cluster", 0.1, size=3, spread_km=3, rssi_dbm=-105),
    _spec("cluster_move", 0.1, size=3, move_km=30, round=2),
]


def _kinds(a: A.Assignment) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for i, cheats in a.dishonest.items():
        for d in cheats:
            out.setdefault(d.behaviour, set()).add(i)
    return out


def test_every_behaviour_is_recorded_on_disjoint_hotspots_reproducibly() -> None:
    a = A.assign(_town(), ALL, seed=3)
    kinds = _kinds(a)
    assert set(kinds) == set(A.BEHAVIOURS)
    counts = {k: len(v) for k, v in kinds.items()}
    assert counts == {
        "false_location": 3,
        "rssi_inflation": 3,
        "attenuator": 3,
        "shared_antenna": 6,
        "collusion_ring": 6,
        "beacon_relay": 3,
        "replay": 3,
        "clock_offset": 3,
        "constant_report": 3,
        "gps_frozen": 3,
        "gps_clean_jitter": 3,
        "wired_cluster": 6,
        "cluster_move": 6,
    }
    assert sum(counts.values()) == len(a.dishonest)  # one cheat per hotspot
    assert A.assign(_town(), ALL, seed=3) == a
    assert A.assign(_town(), ALL, seed=4).dishonest != a.dishonest
    first = a.dishonest[min(kinds["rssi_inflation"])][0].as_dict()
    assert first == {"behaviour": "rssi_inflation", "db": 15}


def test_shares_beyond_the_population_are_refused() -> None:
    with pytest.raises(ValueError, match="more hotspots"):
        A.assign(_town(10), [_spec("replay", 0.6), _spec("clock_offset", 0.6)], seed=1)


def test_physical_cheats_change_the_world() -> None:
    town = _town()
    a = A.assign(town, ALL, seed=3)
    kinds = _kinds(a)
    for i in kinds["attenuator"]:
        assert a.hotspots[i].cable_loss_db == pytest.approx(town[i].cable_loss_db + 20)
    groups: dict[int, list[int]] = {}
    for i in kinds["shared_antenna"]:
        groups.setdefault(a.dishonest[i][0].group, []).append(i)
    assert len(groups) == 2
    for members in groups.values():
        leader = a.hotspots[members[0]]
        assert {(a.hotspots[i].lat, a.hotspots[i].lon, a.hotspots[i].antenna) for i in members} == {
            (leader.lat, leader.lon, leader.antenna)
        }
        spread = sorted(
            round(
                A._haversine_m(
                    leader.lat, leader.lon, a.claims[i].asserted_lat, a.claims[i].asserted_lon
                )
            )
            for i in members
        )
        assert spread == [0, 4000, 8000]  # asserted km apart


def test_false_location_with_honest_or_spoofed_gps() -> None:
    town = _town()
    for gps in ("honest", "spoofed"):
        a = A.assign(town, [_spec("false_location", 0.1, offset_km=20, gps=gps)], seed=1)
        for i in a.dishonest:
            c, h = a.claims[i], a.hotspots[i]
            assert A._haversine_m(h.lat, h.lon, c.asserted_lat, c.asserted_lon) == pytest.approx(
                20_000, rel=1e-6
            )
            expected = (c.asserted_lat, c.asserted_lon) if gps == "spoofed" else (h.lat, h.lon)
            assert (c.gps_lat, c.gps_lon) == expected
        honest = [i for i in range(len(town)) if i not in a.dishonest]
        assert all(a.claims[i].asserted_lat == town[i].lat for i in honest)


def test_attenuator_hides_a_false_location_behind_its_loss() -> None:
    """The attenuator asserts a place offset_km off with its GPS spoofed to match, and loses
    db both ways; at offset_km 0 it is where it says, a hotspot behind a long cable (the class
    before it asserted false places). Its bearings come from a stream of their own: every
    other class keeps the draws of the same seed either way."""
    town = _town()
    others = [_spec("false_location", 0.05), _spec("shared_antenna", 0.1, group=3),
              _spec("beacon_relay", 0.05)]
    runs = {}
    for offset_km in (3.0, 0.0):
        a = runs[offset_km] = A.assign(
            town, [_spec("attenuator", 0.1, db=20, offset_km=offset_km), *others], seed=2)
        members = [i for i, d in a.dishonest.items() if d[0].behaviour == "attenuator"]
        assert len(members) == 6
        for i in members:
            c, h = a.claims[i], a.hotspots[i]
            assert h.cable_loss_db == pytest.approx(town[i].cable_loss_db + 20)
            assert (h.lat, h.lon) == (town[i].lat, town[i].lon)  # the radio stays put
            assert A._haversine_m(h.lat, h.lon, c.asserted_lat, c.asserted_lon) == (
                pytest.approx(offset_km * 1000, abs=1e-6))
            assert (c.gps_lat, c.gps_lon) == (c.asserted_lat, c.asserted_lon)
    moved, stayed = runs[3.0], runs[0.0]
    others_of = [i for i, d in stayed.dishonest.items() if d[0].behaviour != "attenuator"]
    assert others_of
    for i in others_of:
        assert moved.dishonest[i] == stayed.dishonest[i] and moved.claims[i] == stayed.claims[i]
    assert moved.relay_partner == stayed.relay_partner and moved.hotspots == stayed.hotspots
    assert A.BEHAVIOURS["attenuator"] == {"db": 20.0, "offset_km": 3.0, "gps": "spoofed"}


def _run(specs, size_deg: float = 0.05):
    a = A.assign(_town(size_deg=size_deg), specs, seed=3)
    mesh = Mesh(a.hotspots, preset("petajajarvi2015"), seed=3)
    result = mesh.beacon_round(0)
    return a, mesh, result, A.witness_reports(mesh, result, a)


def test_honest_network_reports_what_it_received() -> None:
    _, _, result, reports = _run([])
    assert len(reports) == len(result.receptions)
    assert not reports.flags.any()
    assert np.array_equal(reports.rssi_dbm, result.receptions.rssi_dbm)


def test_rssi_inflation_and_clock_offset_are_applied_and_flagged() -> None:
    a, _, result, reports = _run(
        [_spec("rssi_inflation", 0.05, db=15), _spec("clock_offset", 0.05, hours=5)]
    )
    kinds = _kinds(a)
    rec = result.receptions
    for i in kinds["rssi_inflation"]:
        mine = reports.witness == i
        assert mine.any()
        assert (reports.flags[mine] & A.FLAG_INFLATED).all()
        assert np.allclose(np.sort(reports.rssi_dbm[mine]), np.sort(rec.rssi_dbm[rec.rx == i]) + 15)
    for i in kinds["clock_offset"]:
        mine = reports.witness == i
        assert (reports.flags[mine] & A.FLAG_CLOCK_OFFSET).all()
        shift = np.sort(reports.reported_ns[mine]) - np.sort(rec.received_ns[rec.rx == i])
        assert (shift == 5 * 3600 * 10**9).all()
    honest = ~np.isin(reports.witness, list(a.dishonest))
    assert not reports.flags[honest].any()


def test_reports_leave_the_round_untouched() -> None:
    # (Replays are left out: they are transmissions and spend the replayer's duty cycle.)
    a, mesh, result, first = _run([s for s in ALL if s.behaviour != "replay"])
    again = A.witness_reports(mesh, result, a)  # the round's receptions were not modified
    assert np.array_equal(first.rssi_dbm, again.rssi_dbm)
    assert np.array_equal(first.reported_ns, again.reported_ns)


def test_collusion_ring_witnesses_only_itself_and_fabricates() -> None:
    a, _, result, reports = _run([_spec("collusion_ring", 0.1, size=3)])
    assert len(a.rings) == 2
    for ring in a.rings:
        mine = np.isin(reports.witness, ring)
        assert np.isin(reports.beaconer[mine], ring).all()  # never a non-member's beacon
        pairs = set(
            zip(reports.beaconer[mine].tolist(), reports.witness[mine].tolist(), strict=True)
        )
        assert pairs == {(b, w) for b in ring for w in ring if b != w}  # all of each other's
    fabricated = (reports.flags & A.FLAG_FABRICATED) != 0
    rec = result.receptions
    real = set(zip(rec.tx.tolist(), rec.rx.tolist(), strict=True))
    for b, w in zip(
        reports.beaconer[fabricated].tolist(), reports.witness[fabricated].tolist(), strict=True
    ):
        assert (b, w) not in real


def test_relay_reports_the_partners_receptions_later() -> None:
    a, _, _, reports = _run([_spec("beacon_relay", 0.05, latency_ms=150)])
    for node, (partner, latency_ns) in a.relay_partner.items():
        relayed = (reports.witness == node) & ((reports.flags & A.FLAG_RELAYED) != 0)
        partner_rows = (reports.witness == partner) & (reports.beaconer != node)
        assert relayed.sum() == partner_rows.sum() > 0
        assert np.array_equal(
            np.sort(reports.reported_ns[relayed]),
            np.sort(reports.reported_ns[partner_rows]) + latency_ns,
        )
        assert latency_ns == 150_000_000


def _walled_town(walls_db: float) -> list[Hotspot]:
    """The town with every other hotspot indoors behind `walls_db` of walls and one lone
    rooftop far away (best antenna, no walls, no neighbour): hotspots that hear little."""
    town = _town()
    for i in range(0, len(town), 2):
        town[i] = replace(town[i], indoor=True, entry_loss_db=walls_db)
    return [*town, Hotspot("lone", 46.0, 7.0, gain_dbi_x10=80, height_m=30.0)]


def test_a_relay_partners_a_hotspot_that_hears() -> None:
    # A relay earns only what its partner hears, so a relay operator places the partner where
    # it hears: not behind walls, not alone (hs-000190 and hs-000185 of the city relayed nothing
    # in 7 days when partners were drawn among all hotspots).
    world = _walled_town(25.0)
    walled = {i for i, h in enumerate(world) if h.entry_loss_db > 0}
    for seed in range(5):
        a = A.assign(world, [_spec("beacon_relay", 0.2)], seed=seed)
        assert len(a.relay_partner) == 12
        partners = {p for p, _ in a.relay_partner.values()}
        assert not partners & walled
        assert len(world) - 1 not in partners
        assert not partners & set(a.relay_partner)  # a partner is not itself a relay
    # Every relay relays: its partner hears in the first round.
    mesh = Mesh(a.hotspots, preset("petajajarvi2015"), seed=3)
    result = mesh.beacon_round(0)
    reports = A.witness_reports(mesh, result, a)
    relaying = set(reports.witness[(reports.flags & A.FLAG_RELAYED) != 0].tolist())
    assert relaying == set(a.relay_partner)


def test_the_relay_partner_choice_leaves_the_other_classes_draws_alone() -> None:
    # The partner is drawn by one draw per relay over the whole pool, whatever the partners'
    # hearing: walls elsewhere in the town change no other class's members or places.
    specs = [s for s in ALL if s.behaviour != "shared_antenna"]
    open_town, walled = (
        A.assign(_walled_town(0.0), specs, 3),
        A.assign(_walled_town(25.0), specs, 3),
    )
    assert open_town.dishonest == walled.dishonest
    assert open_town.claims == walled.claims
    assert open_town.rings == walled.rings and open_town.moves == walled.moves


def test_replay_reaches_only_those_who_missed_the_original() -> None:
    # Hotspots ignore beacons they already witnessed (docs/protocol.md §4): in a dense town that is
    # nearly everyone, so a replay fools only those who lost the original (collision, etc.).
    _, _, result, reports = _run([_spec("replay", 0.05, delay_s=900)])
    rec = result.receptions
    heard = set(zip(rec.event.tolist(), rec.rx.tolist(), strict=True))
    replayed = (reports.flags & A.FLAG_REPLAYED) != 0
    pairs = zip(
        reports.beacon_event[replayed].tolist(), reports.witness[replayed].tolist(), strict=True
    )
    assert all(pair not in heard for pair in pairs)
    assert replayed.sum() < 0.1 * len(rec)


def test_replayed_beacons_reach_others_as_old_beacons() -> None:
    a, mesh, result, reports = _run([_spec("replay", 0.2, delay_s=900)], size_deg=0.8)
    replayed = (reports.flags & A.FLAG_REPLAYED) != 0
    assert replayed.any()
    sent = result.transmissions
    start_of = dict(zip(sent.event.tolist(), sent.start_ns.tolist(), strict=True))
    for ev, t, w, b in zip(
        reports.beacon_event[replayed],
        reports.reported_ns[replayed],
        reports.witness[replayed],
        reports.beaconer[replayed],
        strict=True,
    ):
        assert t - start_of[int(ev)] >= 900 * 10**9  # long after the original
        assert w != b
    # The replayers spent their transmit budget on it.
    assert any(
        mesh.budget(i).free_at_ns(channel) > 0
        for i in a.replay_delay_ns
        for channel in mesh.plans[mesh.region_idx[i]].channels_hz
    )


def test_a_replayed_copy_names_its_sender_in_the_ground_truth() -> None:
    # The proving ground counts a replayer on air when a copy of its own was reported: each
    # copy's sender is a replayer that heard the original (it replays what it heard), and
    # every other report was sent by its beaconer.
    a, _, result, reports = _run([_spec("replay", 0.2, delay_s=900)], size_deg=0.8)
    replayed = (reports.flags & A.FLAG_REPLAYED) != 0
    assert replayed.any()
    rec = result.receptions
    heard = set(zip(rec.event.tolist(), rec.rx.tolist(), strict=True))
    for ev, sender, w in zip(reports.beacon_event[replayed], reports.sender[replayed],
                             reports.witness[replayed], strict=True):
        assert int(sender) in a.replay_delay_ns
        assert (int(ev), int(sender)) in heard
        assert sender != w
    assert (reports.sender[~replayed] == reports.beaconer[~replayed]).all()
    # Kept through selection and concatenation (the bench reads it from a round's reports).
    both = A.concat([A.select(reports, replayed), A.select(reports, ~replayed)])
    assert sorted(both.sender[: int(replayed.sum())].tolist()) == sorted(
        reports.sender[replayed].tolist())


def test_witness_stuffing_reports_the_same_rssi_and_snr_every_time() -> None:
    a, _, result, reports = _run([_spec("constant_report", 0.05, rssi_dbm=-140, snr_db=-20)])
    stuffers = _kinds(a)["constant_report"]
    rec = result.receptions
    for i in stuffers:
        mine = reports.witness == i
        assert mine.sum() == (rec.rx == i).sum() > 0
        assert (reports.rssi_dbm[mine] == -140).all() and (reports.snr_db[mine] == -20).all()
        assert (reports.flags[mine] == A.FLAG_CONSTANT).all()
    assert a.dishonest[min(stuffers)][0].as_dict() == {
        "behaviour": "constant_report",
        "rssi_dbm": -140,
        "snr_db": -20,
    }
    honest = ~np.isin(reports.witness, list(a.dishonest))
    assert not reports.flags[honest].any() and (reports.rssi_dbm[honest] > -140).all()


def test_a_shared_antenna_may_assert_an_evenly_spaced_grid() -> None:
    a = A.assign(_town(), [_spec("shared_antenna", 0.1, group=4, grid_km=2)], seed=3)
    members = sorted(_kinds(a)["shared_antenna"])  # 10 % of 60, in whole groups of 4: one
    assert len(members) == 4
    leader = next(i for i in members if a.claims[i].asserted_lat == a.hotspots[i].lat)
    claims = [a.claims[leader]] + [a.claims[i] for i in members if i != leader]
    # Leader at the antenna, then east, north and north-east of it on a 2 km square.
    ordered = sorted(
        round(
            A._haversine_m(
                claims[0].asserted_lat, claims[0].asserted_lon, c.asserted_lat, c.asserted_lon
            )
        )
        for c in claims
    )
    assert ordered == [0, 2000, 2000, round(2000 * 2**0.5)]


def test_a_wired_cluster_hears_itself_at_an_rssi_that_barely_varies() -> None:
    a, _, result, reports = _run([_spec("wired_cluster", 0.1, size=3, rssi_dbm=-105)])
    assert len(a.wired) == 2
    for members in a.wired:
        # One room: the radios stand together, assert places 3 km apart, keep their antennas.
        assert len({(a.hotspots[i].lat, a.hotspots[i].lon) for i in members}) == 1
        assert len({a.hotspots[i].antenna for i in members}) == 3
        inside = np.isin(reports.witness, members) & np.isin(reports.beaconer, members)
        beacons = np.isin(result.transmissions.tx, members).sum()
        assert inside.sum() == 2 * beacons  # every member's beacon, at both others
        assert (reports.flags[inside] == A.FLAG_WIRED).all()
        assert set(reports.rssi_dbm[inside].tolist()) <= {-106.0, -105.0, -104.0}
    wired = np.isin(reports.witness, [m for c in a.wired for m in c])
    assert not reports.flags[~wired].any()


@pytest.mark.parametrize("behaviour", ["shared_antenna", "wired_cluster"])
def test_keys_moved_to_one_place_run_that_places_region_plan(behaviour: str) -> None:
    """Keys drawn on several continents' plans and moved behind one antenna (or into one room)
    run the plan of where they now stand, their leader's: a US915 key standing in Europe would
    hear none of its partners' EU868 beacons."""
    town = [replace(h, region=("EU868", "US915", "AU915")[i % 3])
            for i, h in enumerate(_town())]
    a = A.assign(town, [_spec(behaviour, 0.2, group=3, size=3)], seed=3)
    groups: dict[tuple[float, float], set[str]] = {}
    for i in _kinds(a)[behaviour]:
        groups.setdefault((a.hotspots[i].lat, a.hotspots[i].lon), set()).add(a.hotspots[i].region)
    assert len(groups) == 4 and all(len(plans) == 1 for plans in groups.values())
    moved = [i for i in _kinds(a)[behaviour] if town[i].region != a.hotspots[i].region]
    assert moved  # some keys were drawn on another plan than their leader's
