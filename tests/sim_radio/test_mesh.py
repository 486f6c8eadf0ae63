"""The in-process mesh: reproducible by seed, reciprocal links, a spatial index that finds
exactly what an exhaustive search finds (without examining every pair), and MeshAir."""

from __future__ import annotations

import numpy as np
import pytest

from pocnet import link
from sim_radio.channel import HELIUM, STATIC, online
from sim_radio.mesh import Hotspot, Mesh, radio_horizon_m
from sim_radio.population import HELIUM_SITING, build_hotspots
from sim_radio.propagation import preset, shadowing_db


def _hotspots(n: int, box=(45.0, 5.0, 45.3, 5.4), seed: int = 1, **kw) -> list[Hotspot]:
    rng = np.random.default_rng(seed)
    lat = rng.uniform(box[0], box[2], n)
    lon = rng.uniform(box[1], box[3], n)
    return [Hotspot(f"h{i}", float(lat[i]), float(lon[i]), **kw) for i in range(n)]


def _rows(result) -> set[tuple[int, int, float, float]]:
    r = result.receptions
    return set(
        zip(r.tx.tolist(), r.rx.tolist(), r.rssi_dbm.tolist(), r.snr_db.tolist(), strict=True)
    )


def _heard_pairs(mesh: Mesh) -> set[tuple[str, str]]:
    """(transmitter, receiver) node ids of one beacon round."""
    r = mesh.beacon_round(0).receptions
    return {
        (mesh.hotspots[t].node_id, mesh.hotspots[x].node_id)
        for t, x in zip(r.tx, r.rx, strict=True)
    }


def test_same_seed_same_run_other_seed_other_run() -> None:
    hs = _hotspots(150)
    a = Mesh(hs, preset("petajajarvi2015"), seed=3).beacon_round(0)
    b = Mesh(hs, preset("petajajarvi2015"), seed=3).beacon_round(0)
    c = Mesh(hs, preset("petajajarvi2015"), seed=4).beacon_round(0)
    for field in ("tx", "rx", "event", "rssi_dbm", "snr_db", "received_ns"):
        assert np.array_equal(getattr(a.receptions, field), getattr(b.receptions, field))
    assert np.array_equal(a.transmissions.start_ns, b.transmissions.start_ns)
    assert _rows(a) != _rows(c)
    assert len(a.receptions) > 500


def test_links_are_reciprocal_unless_asked_otherwise() -> None:
    hs = _hotspots(60, gain_dbi_x10=30, cable_loss_db=0.5)
    mesh = Mesh(hs, preset("hata-urban"), seed=9)
    tx, rx = np.repeat(np.arange(60), 60), np.tile(np.arange(60), 60)
    fwd, dist, _ = mesh.link_power_dbm(tx, rx, 868e6)
    back, dist_back, _ = mesh.link_power_dbm(rx, tx, 868e6)
    assert np.allclose(fwd, back) and np.allclose(dist, dist_back)
    # The mesh's shadowing is the propagation module's, keyed by antenna.
    expected = shadowing_db(9, mesh.key[tx], mesh.key[rx], 8.0)
    assert np.allclose(mesh.shadowing_db(tx, rx), expected)
    asym = Mesh(hs, preset("hata-urban"), seed=9, symmetric_shadowing=False)
    f2, _, _ = asym.link_power_dbm(tx, rx, 868e6)
    b2, _, _ = asym.link_power_dbm(rx, tx, 868e6)
    off_diagonal = tx != rx
    assert not np.allclose(f2[off_diagonal], b2[off_diagonal])


@pytest.mark.parametrize(
    "preset_name, channel",
    [
        ("petajajarvi2015", STATIC),
        ("bor2016", STATIC),
        ("hata-suburban", STATIC),
        ("grenoble2023", HELIUM),  # fading, soft decoding, churn: the index's best case holds
    ],
)
def test_index_finds_exactly_what_exhaustive_search_finds(preset_name: str, channel) -> None:
    if channel is STATIC:
        hs = _hotspots(400, box=(44.0, 4.0, 46.5, 7.5), seed=5)
    else:
        hs = _sited(300)
    mesh = Mesh(hs, preset(preset_name), seed=2, channel=channel)
    sent, _, _ = mesh.schedule_round(0)
    indexed = mesh._finish(sent, mesh._propagate(sent))
    exhaustive = mesh._finish(sent, mesh._propagate(sent, brute_force=True))
    key = lambda r: sorted(zip(r.tx.tolist(), r.rx.tolist(), r.rssi_dbm.tolist(), strict=True))  # noqa: E731
    assert key(indexed) == key(exhaustive)
    assert len(indexed) > 0


def test_index_examines_far_fewer_pairs_than_n_squared() -> None:
    hs = _hotspots(4000, box=(40.0, -5.0, 52.0, 15.0), seed=8)
    mesh = Mesh(hs, preset("petajajarvi2015"), seed=1)
    row, _ = mesh.candidates(np.arange(4000))
    assert row.size < 0.01 * 4000 * 4000
    assert mesh.range_m <= radio_horizon_m(15.0, 15.0) + 1


def test_antimeridian_and_pole_neighbours_hear_each_other() -> None:
    hs = [
        Hotspot("w", 10.0, 179.99),
        Hotspot("e", 10.0, -179.99),
        Hotspot("n1", 89.999, 0.0),
        Hotspot("n2", 89.999, 180.0),
    ]
    mesh = Mesh(hs, preset("free-space"), seed=1, collisions=False)
    assert _heard_pairs(mesh) == {("w", "e"), ("e", "w"), ("n1", "n2"), ("n2", "n1")}


def test_shared_antenna_and_other_regions_are_not_heard() -> None:
    hs = [
        Hotspot("a", 45.0, 5.0, antenna_id="mast"),
        Hotspot("b", 45.0, 5.0, antenna_id="mast"),
        Hotspot("c", 45.01, 5.0),
        Hotspot("us", 45.0, 5.01, region="US915"),
    ]
    mesh = Mesh(hs, preset("petajajarvi2015"), seed=1, collisions=False)
    assert _heard_pairs(mesh) == {("a", "c"), ("b", "c"), ("c", "a"), ("c", "b")}


def test_every_heard_frame_meets_sensitivity_and_the_round_is_one_beacon_each() -> None:
    mesh = Mesh(_hotspots(300), preset("petajajarvi2015"), seed=4)
    res = mesh.beacon_round(1)
    assert sorted(res.transmissions.tx.tolist()) == list(range(300))
    window = 1 * 6 * 3600 * 10**9
    assert (
        (res.transmissions.start_ns >= window) & (res.transmissions.start_ns < 2 * window)
    ).all()
    # Spread over the whole window (docs/protocol.md §4: a random time inside it).
    offsets = np.sort(res.transmissions.start_ns - window) / window
    assert offsets[0] < 0.02 and offsets[-1] > 0.98
    assert (res.receptions.power_dbm >= link.sensitivity_dbm(12, 125_000) - 1e-3).all()
    assert (res.receptions.tx != res.receptions.rx).all()
    assert set(res.transmissions.freq_hz.tolist()) <= set(mesh.plans[0].channels_hz)


def test_collisions_only_remove_receptions() -> None:
    hs = _hotspots(500, box=(45.0, 5.0, 45.05, 5.05))
    with_c = Mesh(hs, preset("petajajarvi2015"), seed=1).beacon_round(0)
    without = Mesh(hs, preset("petajajarvi2015"), seed=1, collisions=False).beacon_round(0)
    assert _rows(with_c) < _rows(without)


def test_a_hotspot_whose_gain_exceeds_the_max_eirp_only_witnesses() -> None:
    """docs/protocol.md §4: EU868's max EIRP is 16.1 dBm; gain 17.1 dBi (171) leaves -1 dBm, so that
    hotspot sends no beacon (counted as refused) but still hears its neighbour's; 17.0 dBi
    (trunc(-0.9) = 0 dBm) still beacons."""
    hotspots = [Hotspot("loud", 48.0, 2.0, gain_dbi_x10=171),
                Hotspot("edge", 48.0, 2.001, gain_dbi_x10=170),
                Hotspot("plain", 48.001, 2.0, gain_dbi_x10=30)]
    result = Mesh(hotspots, preset("free-space"), seed=1).beacon_round(0)
    assert sorted(result.transmissions.tx.tolist()) == [1, 2]
    assert result.stats["refused"] == 1 and result.stats["beacons"] == 2
    assert 0 in result.receptions.rx.tolist()
# ----- the real-world channel and hardware (issue 12) -----------------------------------------


def _sited(n: int, box=(44.8, 5.0, 45.3, 5.6), seed: int = 3) -> list[Hotspot]:
    rng = np.random.default_rng(seed)
    lat = rng.uniform(box[0], box[2], n)
    lon = rng.uniform(box[1], box[3], n)
    return build_hotspots(lat, lon, rng, siting=HELIUM_SITING)


def test_members_of_a_shared_antenna_beacon_at_different_times() -> None:
    hs = [Hotspot(f"m{i}", 45.0, 5.0, antenna_id="mast") for i in range(4)]
    for r in range(3):
        start = Mesh(hs, preset("petajajarvi2015"), seed=1).schedule_round(r)[0].start_ns
        assert len(set(start.tolist())) == 4


def test_transmit_power_is_capped_by_the_radio_as_well_as_the_plan() -> None:
    hs = [
        Hotspot("us-card", 45.0, 5.0, region="US915", radio_kind="sx1302"),
        Hotspot("us-rn", 45.0, 5.01, region="US915", radio_kind="rn2483"),
        Hotspot("us-rak", 45.0, 5.02, region="US915", radio_kind="rak3172"),
        Hotspot("eu-card", 45.0, 5.03, radio_kind="sx1302"),
    ]
    mesh = Mesh(hs, preset("petajajarvi2015"), seed=1)
    # US915: 36 dBm EIRP − 3 dBi = 33 dBm allowed; the radios put out 27, 14 and 22 dBm
    # (datasheets). EU868: 16 dBm EIRP − 3 dBi = 13, below every radio's cap.
    assert mesh.max_power_dbm.tolist() == [27.0, 14.0, 22.0, 13.0]


def test_building_entry_loss_weakens_both_directions() -> None:
    outdoor = [Hotspot("a", 45.0, 5.0), Hotspot("b", 45.02, 5.0)]
    indoor = [outdoor[0], Hotspot("b", 45.02, 5.0, indoor=True, entry_loss_db=12.0)]
    tx, rx = np.array([0, 1]), np.array([1, 0])
    base, _, _ = Mesh(outdoor, preset("free-space"), seed=1).median_power_dbm(tx, rx, 868e6)
    inside, _, _ = Mesh(indoor, preset("free-space"), seed=1).median_power_dbm(tx, rx, 868e6)
    assert (base - inside).tolist() == pytest.approx([12.0, 12.0])


def test_the_static_channel_repeats_rounds_and_the_helium_one_does_not() -> None:
    hs = _sited(250)

    def links(channel, r):
        res = Mesh(hs, preset("grenoble2023"), seed=5, channel=channel).beacon_round(r)
        return set(zip(res.receptions.tx.tolist(), res.receptions.rx.tolist(), strict=True))

    def jaccard(a, b):
        return len(a & b) / len(a | b)

    assert jaccard(links(STATIC, 0), links(STATIC, 1)) > 0.97  # only collisions differ
    # Next day (4 rounds of 6 h): fading, daily shadowing, noise and churn all redrawn.
    assert jaccard(links(HELIUM, 0), links(HELIUM, 4)) < 0.8


def test_offline_hotspots_neither_beacon_nor_hear() -> None:
    hs = _sited(200)
    mesh = Mesh(hs, preset("grenoble2023"), seed=5, channel=HELIUM)
    res = mesh.beacon_round(0)
    up = online(HELIUM, 5, mesh.node_key, np.full(200, res.transmissions.start_ns.min()))
    assert 0 < (~up).sum() < 60
    assert set(res.transmissions.tx.tolist()) == set(np.flatnonzero(up).tolist())
    assert not set(res.receptions.rx.tolist()) & set(np.flatnonzero(~up).tolist())


def test_receptions_go_below_the_nominal_floor_with_the_helium_channel() -> None:
    mesh = Mesh(_sited(400), preset("grenoble2023"), seed=6, channel=HELIUM)
    snr = mesh.beacon_round(0).receptions.snr_db
    floor = link.DEMOD_SNR_FLOOR_DB[12]
    assert 0.01 < (snr < floor).mean() < 0.5
    hard = Mesh(_sited(400), preset("grenoble2023"), seed=6)
    # The static channel cuts at the floor (reported SNR carries 0.5 dB measurement noise).
    assert (hard.beacon_round(0).receptions.snr_db >= floor - 2.5).all()


def test_only_links_with_an_open_path_are_heard_and_the_index_stops_where_none_is() -> None:
    from dataclasses import replace

    from sim_radio.channel import open_path

    hs = _sited(400)
    mesh = Mesh(hs, preset("grenoble2023"), seed=6, channel=HELIUM)
    r = mesh.beacon_round(0).receptions
    key = mesh.key
    assert len(r) > 100
    assert open_path(HELIUM, 6, key[r.tx], key[r.rx], r.distance_m).all()
    # The same world without obstruction hears links whose path is blocked, more than twice as
    # many as with it, and searches farther.
    free = Mesh(hs, preset("grenoble2023"), seed=6, channel=replace(HELIUM, open_path_m=None))
    f = free.beacon_round(0).receptions
    assert not open_path(HELIUM, 6, key[f.tx], key[f.rx], f.distance_m).all()
    assert len(f) > 2 * len(r)
    assert mesh.range_m == pytest.approx(HELIUM.open_path_range_m)
    assert free.range_m > mesh.range_m


def test_a_reception_is_stamped_when_the_signal_arrives_distance_over_c_after_it_left() -> None:
    # Three hotspots on one meridian: a beaconer, witnesses ~2.0 and ~7.9 km north of it.
    # Each is stamped its own propagation delay after the transmission, as a concentrator on
    # GPS time stamps it: to the whole µs (the `tmst` counter), after an error of σ 100 ns,
    # so within 0.5 µs + 5σ of the truth: 5.9 km is ~19.7 µs (c = 299,792,458 m/s; arc =
    # mean Earth radius 6,371,008.8 m × the latitude difference).
    lats = (45.0, 45.018, 45.071)
    hs = [Hotspot(f"m{i}", lat, 5.0, gain_dbi_x10=30, height_m=20.0)
          for i, lat in enumerate(lats)]
    r = Mesh(hs, preset("petajajarvi2015"), seed=5).beacon_round(0)
    sent, rec = r.transmissions, r.receptions
    start = dict(zip(sent.tx.tolist(), sent.start_ns.tolist(), strict=True))
    stamped = {(int(t), int(x)): int(ns) for t, x, ns in zip(rec.tx, rec.rx, rec.received_ns,
                                                             strict=True)}
    assert {(0, 1), (0, 2)} <= set(stamped)

    def delay_ns(a: int, b: int) -> float:
        return 6_371_008.8 * np.radians(abs(lats[b] - lats[a])) / 299_792_458 * 1e9

    for (t, x), ns in stamped.items():
        assert ns % 1_000 == 0
        assert abs(ns - start[t] - delay_ns(t, x)) <= 1_000 + 2  # float32 distances
    apart = stamped[(0, 2)] - stamped[(0, 1)]
    assert abs(apart - (delay_ns(0, 2) - delay_ns(0, 1))) <= 2_000 + 3
    assert 18_000 <= apart <= 21_000
