"""Each detector against a hand-built town (detect_world.py): the cheat it is for is found,
and no honest hotspot — nor any honest look-alike — is flagged by any detector."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from detect_world import Node, World, offset
from test_detect_ranges import lone_pair

from oracle.detect import detectors
from oracle.detect.detectors import detect
from oracle.detect.history import History
from oracle.detect.model import DEFAULT_PARAMS, DetectParams, Finding

LOOK_ALIKES = ("rooftop", "street_a", "street_b", "moved", "rural_a", "rural_b", "cable",
               "indoor", "ridge")


def honest_world(seed: int = 1) -> World:
    """An 8 × 8 town of honest hotspots 700 m apart, and every honest look-alike."""
    world = World(seed=seed)
    names = world.town()
    centre = world.nodes[names[27]].true
    # A rooftop with an 8 dBi antenna: hears far, and its links beat the town's law.
    rooftop = offset(*centre, 350, 350)
    world.add(Node("rooftop", rooftop, rooftop, gain_db=8.0, height_gain_db=8.0))
    # Two honest neighbours across a street, 20 m apart.
    street = offset(*centre, -350, 1_050)
    world.add(Node("street_a", street, street))
    across = offset(*street, 20, 0)
    world.add(Node("street_b", across, across))
    # A hotspot that moved 3 km and re-asserted half way through the epoch.
    new = offset(*centre, 2_000, -1_500)
    world.add(Node("moved", new, new, asserted_at_ms=12 * 3_600_000 + 1_760_000_000_000))
    # A quiet rural pair 15 km out, 1.5 km apart, hearing only each other.
    farm = offset(*centre, 15_000, 0)
    world.add(Node("rural_a", farm, farm))
    barn = offset(*farm, 0, 1_500)
    world.add(Node("rural_b", barn, barn))
    # Behind a long cable (6 dB) and indoors (15 dB of walls).
    cable = offset(*centre, 1_050, 350)
    world.add(Node("cable", cable, cable, extra_loss_db=6.0))
    indoor = offset(*centre, -1_050, -350)
    world.add(Node("indoor", indoor, indoor, extra_loss_db=15.0))
    # A remote hotspot 18 km out, heard by one town hotspot only, over a path 60 dB clearer
    # than the town's law (a line of sight across a valley): its one link is far above the
    # law, every time it is heard (the proving ground's city has one).
    ridge = offset(*centre, -18_000, 0)
    world.add(Node("ridge", ridge, ridge))
    world.clear_paths[frozenset(("ridge", "h00"))] = 60.0
    world.epochs = 2
    return world


def false_location(world: World) -> set[str]:
    node = world.nodes["h33"]
    node.asserted = offset(*node.true, 20_000, 0)
    node.gps = "spoofed"
    return {"h33"}


def rssi_inflation(world: World) -> set[str]:
    world.nodes["h44"].inflate_db = 15.0
    return {"h44"}


def shared_antenna(world: World) -> set[str]:
    radio = world.nodes["h22"]
    for i, east in enumerate((5_000, -5_000)):
        place = offset(*radio.true, 0, east)
        world.add(Node(f"sybil{i}", radio.true, place, antenna_of="h22", gps="none"))
    radio.gps = "none"
    return {"h22", "sybil0", "sybil1"}


def shared_antenna_ports(world: World) -> set[str]:
    """A splitter: each key's own port, cable and receiver, so none reports what another
    does; their RSSIs differ by a constant and their SNRs by each radio's noise."""
    radio = world.nodes["h22"]
    for i, (east, port_db) in enumerate(((5_000, 3.0), (-5_000, 6.0))):
        place = offset(*radio.true, 0, east)
        world.add(Node(f"sybil{i}", radio.true, place, antenna_of="h22", gps="none",
                       port_loss_db=port_db))
    radio.gps = "none"
    return {"h22", "sybil0", "sybil1"}


def shared_antenna_heard_by_one(world: World) -> set[str]:
    """A splitter 16 km out whose one clear path reaches a single town hotspot (h07): its
    three keys, asserting places 3 km apart, hear one beaconer and are heard by one witness,
    as the proving ground's city groups that hear one neighbour in a week. Its ports lose
    3.5 and 7.2 dB: the keys' RSSIs differ by a fixed offset and whole-dBm rounding."""
    site = offset(*world.nodes["h07"].true, 0, 16_000)
    world.add(Node("far_radio", site, site, gps="none"))
    world.clear_paths[frozenset(("far_radio", "h07"))] = 50.0
    for i, port_db in enumerate((3.5, 7.2)):
        place = offset(*site, 3_000 * (i + 1), 0)
        world.add(Node(f"far_sybil{i}", site, place, antenna_of="far_radio", gps="none",
                       port_loss_db=port_db))
    return {"far_radio", "far_sybil0", "far_sybil1"}


def wired_cluster(world: World) -> set[str]:
    """Four radios in one room on cables, asserting places across the town: they hear each
    other at one RSSI ±1 dB, and the air (at their asserted places here) as usual."""
    rig = ["h01", "h06", "h61", "h66"]
    world.wired = rig
    return set(rig)


def collusion_ring(world: World) -> set[str]:
    ring = ("h11", "h15", "h51", "h55", "h36")
    for name in ring:
        world.nodes[name].listens_only_to = frozenset(ring)
        world.fabricated += [(other, name) for other in ring if other != name]
    return set(ring)


def beacon_relay(world: World) -> set[str]:
    world.nodes["h45"].relay_from = "h02"
    return {"h45"}


def relay_of_a_quiet_partner(world: World) -> set[str]:
    """A relay that reports its own receptions too, and copies a partner 15 km out that
    hears one neighbour: a few late receptions among many of its own (under relay_share)."""
    relay = world.nodes["h45"]
    relay.relay_from, relay.relay_keeps_own = "rural_b", True
    return {"h45"}


def relay_of_a_partner_with_a_wrong_clock(world: World) -> set[str]:
    """As above, and the partner's clock is 5 h off: the relay's copies are the only
    receptions of those beacons with a plausible time, so no lag shows them late."""
    relay_of_a_quiet_partner(world)
    world.nodes["rural_b"].clock_offset_ms = 5 * 3_600_000
    return {"h45", "rural_b"}


def replay(world: World) -> set[str]:
    world.replayers = ["h53"]
    return {"h53"}


def clock_offset(world: World) -> set[str]:
    world.nodes["h62"].clock_offset_ms = 5 * 3_600_000
    return {"h62"}


def witness_stuffing(world: World) -> set[str]:
    world.nodes["h26"].constant_signal = (-128.0, -12.0)
    return {"h26"}


def frozen_gps(world: World) -> set[str]:
    world.nodes["h64"].gps = "frozen"
    return {"h64"}


def clean_gps(world: World) -> set[str]:
    world.nodes["h65"].gps = "clean"
    return {"h65"}


def ring_gps(world: World) -> set[str]:
    world.nodes["h66"].gps = "ring"
    return {"h66"}


def attenuator(world: World) -> set[str]:
    """A false location 3 km east, GPS spoofed to match, behind a 10 dB attenuator: its town
    neighbours hear it no stronger than the law allows for 3 km (sim_radio's attenuator)."""
    node = world.nodes["h33"]
    node.asserted = offset(*node.true, 0, 3_000)
    node.gps = "spoofed"
    node.extra_loss_db = 10.0
    return {"h33"}


CHEATS: dict[str, tuple[Callable[[World], set[str]], set[str]]] = {
    "attenuator": (attenuator, {"position_fit"}),
    "false_location": (false_location, {"signal_excess"}),
    "rssi_inflation": (rssi_inflation, {"signal_asymmetry"}),
    "shared_antenna": (shared_antenna, {"shared_reception"}),
    "shared_antenna_ports": (shared_antenna_ports, {"shared_reception"}),
    "shared_antenna_heard_by_one": (shared_antenna_heard_by_one, {"shared_reception"}),
    "collusion_ring": (collusion_ring, {"closed_cluster"}),
    "wired_cluster": (wired_cluster, {"signal_constant"}),
    "beacon_relay": (beacon_relay, {"relay_latency"}),
    "relay_of_a_quiet_partner": (relay_of_a_quiet_partner, {"relay_latency"}),
    # The partner is flagged for its clock, not as a relay.
    "relay_of_a_partner_with_a_wrong_clock": (relay_of_a_partner_with_a_wrong_clock,
                                              {"relay_latency", "clock_offset"}),
    "replay": (replay, {"replay"}),
    "clock_offset": (clock_offset, {"clock_offset"}),
    "witness_stuffing": (witness_stuffing, {"signal_constant"}),
    "frozen_gps": (frozen_gps, {"gps_frozen"}),
    "clean_gps": (clean_gps, {"gps_too_clean"}),
    "ring_gps": (ring_gps, {"gps_ring"}),
}


def _flagged(world: World, findings: list[Finding]) -> dict[str, set[str]]:
    by_key = {world.key(name): name for name in world.nodes}
    out: dict[str, set[str]] = {}
    for finding in findings:
        for key in finding.hotspots:
            out.setdefault(by_key[key], set()).add(finding.detector)
    return out


def test_an_honest_town_with_its_look_alikes_is_not_flagged() -> None:
    world = honest_world()
    history = world.history()
    assert len(history.witnesses) > 5_000  # a real workload, not an empty town
    assert _flagged(world, detect(history)) == {}


@pytest.mark.parametrize("cheat", sorted(CHEATS))
def test_each_cheat_is_found_and_nobody_else(cheat: str) -> None:
    world = honest_world()
    make, detectors = CHEATS[cheat]
    cheaters = make(world)
    flagged = _flagged(world, detect(world.history()))
    assert set(flagged) == cheaters, flagged
    for name in cheaters:
        assert flagged[name] & detectors, (name, flagged[name])


def test_replayers_standing_among_each_other_are_each_found_and_nobody_else() -> None:
    """Six neighbours each replay a beacon every round: each is a timely witness of the
    others' replayed beacons, so having heard a replayed beacon in time says little; each is
    still named by how its own copies are heard (the proving ground's 5 % case). Over four
    epochs: in two, two of them are named for only 2 copies each, under MIN_REPLAYS, as
    honest neighbours now and then are."""
    world = honest_world()
    replayers = ["h22", "h23", "h24", "h32", "h33", "h34"]
    world.replayers = replayers
    world.epochs = 4
    flagged = _flagged(world, detect(world.history()))
    assert set(flagged) == set(replayers), flagged
    assert all("replay" in flagged[name] for name in replayers), flagged


def test_with_arrival_clocks_the_honest_town_is_not_flagged() -> None:
    """Every radio stamps a reception when it arrives (GPS-disciplined, ±0.3 µs): the two
    neighbours across the street stamp beacons within a few hundred ns of each other, and no
    honest hotspot or look-alike is flagged by any detector."""
    world = honest_world()
    world.arrival_clocks = True
    assert _flagged(world, detect(world.history())) == {}


@pytest.mark.parametrize("arrival_clocks", [True, False])
def test_a_replayer_with_its_own_transmitter_is_placed_by_arrival_time(
        arrival_clocks: bool) -> None:
    """h53 sends its copies 12 dB louder than its beacons (a transmitter of its own): its
    copies are not heard as it usually is, so RSSI names nobody. Witnesses stamping arrival
    to the µs place every copy at h53; with ±5 ms clocks nothing can, and it is not found."""
    world = honest_world()
    world.replayers = ["h53"]
    world.nodes["h53"].copy_gain_db = 12.0
    world.arrival_clocks = arrival_clocks
    flagged = _flagged(world, detect(world.history()))
    assert flagged == ({"h53": {"replay"}} if arrival_clocks else {}), flagged


def test_a_ring_reporting_replayed_copies_of_outsiders_is_still_closed() -> None:
    """Ring members that witness only each other still report the copies a replayer among
    them sends of outsiders' beacons (sim_radio's rings do): a copy is not the ring
    listening, so the ring stays closed, and the replayer is found too."""
    world = honest_world()
    ring = collusion_ring(world)
    world.replayers = ["h46"]
    world.copies_reach_rings = True
    flagged = _flagged(world, detect(world.history()))
    assert set(flagged) == ring | {"h46"}, flagged
    assert all("closed_cluster" in flagged[name] for name in ring), flagged


def test_an_attenuated_hotspot_where_it_says_it_is_is_not_flagged() -> None:
    """The attenuator's hotspot and loss, asserted where it stands: a hotspot behind a long
    cable (10 dB), heard less and hearing less, honest."""
    world = honest_world()
    world.nodes["h33"].extra_loss_db = 10.0
    assert _flagged(world, detect(world.history())) == {}


def test_two_remote_hotspots_hearing_one_beaconer_at_one_instant_are_not_one_antenna() -> None:
    """Two honest hotspots 16 km out, 3 km apart with a hill between them, each over its own
    clear path to the same town hotspot (h07) and no other, with GPS-disciplined clocks: they
    report h07's beacons at one instant, from one beaconer, with an RSSI difference whose
    median stays put (two fixed paths), as the keys of shared_antenna_heard_by_one do; but each
    fades on its own, so the difference wanders from beacon to beacon, and neither is
    flagged."""
    world = honest_world()
    site = offset(*world.nodes["h07"].true, 0, 16_000)
    for i, north in enumerate((0, 3_000)):
        place = offset(*site, north, 0)
        world.add(Node(f"remote{i}", place, place))
        world.clear_paths[frozenset((f"remote{i}", "h07"))] = 50.0
    world.clear_paths[frozenset(("remote0", "remote1"))] = -30.0  # a hill between them
    world.exact_clocks = {"remote0", "remote1", "h07"}
    history = world.history()
    w = history.witnesses
    keys = [history.hotspots.keys.index(world.key(f"remote{i}")) for i in (0, 1)]
    both = set(w.beacon[w.witness == keys[0]].tolist()) & set(
        w.beacon[w.witness == keys[1]].tolist())
    assert len(both) >= DEFAULT_PARAMS.min_common_beacons  # a pair the rule judges
    assert set(w.beaconer[np.isin(w.witness, keys)].tolist()) == {
        history.hotspots.keys.index(world.key("h07"))}
    assert _flagged(world, detect(history)) == {}


def _lone_among(world: World, cheat: Callable[[Node], None]) -> set[str]:
    """A quiet honest hotspot ("lone", behind 6 dB of walls) 700 m off the town's corner: it
    hears six hotspots (h00, h01, h02, h12, the rooftop and h03), and four of them cheat
    (`cheat`), each among honest neighbours further in."""
    place = offset(*world.nodes["h00"].true, -500, -500)
    world.add(Node("lone", place, place, extra_loss_db=6.0))
    cheaters = {"h00", "h01", "h02", "h12"}
    for name in cheaters:
        cheat(world.nodes[name])
    return cheaters


def _inflate(node: Node) -> None:
    node.inflate_db = 15.0


def _far_spoofed(node: Node) -> None:
    """Asserted 20 km east, every one of them the same way: their mutual distances hold, their
    distances to the town do not."""
    node.asserted = offset(*node.true, 0, 20_000)
    node.gps = "spoofed"


@pytest.mark.parametrize(("cheat", "detector"), [(_inflate, "signal_asymmetry"),
                                                 (_far_spoofed, "signal_excess")])
def test_an_honest_hotspot_whose_partners_mostly_cheat_is_not_flagged(
        cheat: Callable[[Node], None], detector: str) -> None:
    """Judged by its partners, "lone" is one of them (its median pair offset is the
    inflators' −15 dB; its median link is the false locations', tens of dB above the law);
    judged again without the cheaters, each found first by its links with the town, it is
    honest."""
    world = honest_world()
    cheaters = _lone_among(world, cheat)
    history = world.history()
    w = history.witnesses
    lone = history.hotspots.keys.index(world.key("lone"))
    partners = {history.hotspots.keys[int(i)] for i in np.concatenate(
        (w.beaconer[w.witness == lone], w.witness[w.beaconer == lone]))}
    # Four of its partners cheat; the rooftop and, once, h03 do not.
    assert partners == {world.key(name) for name in cheaters | {"rooftop", "h03"}}
    flagged = _flagged(world, detect(history))
    assert set(flagged) == cheaters, flagged
    assert all(detector in flagged[name] for name in cheaters), flagged


def test_a_small_isolated_group_is_judged_without_its_cheater() -> None:
    """Three honest hotspots 15 km west of the town, 1 km apart, hearing only each other,
    and a fourth among them that asserts a place in the town (its GPS tells the truth): the
    four witness only each other, and the false place stretches the group's reach over the
    town, whose hotspots none of them heard. The cheater is found for its place; the group
    without it is a quiet rural trio."""
    world = honest_world()
    centre = world.nodes["h33"].true
    site = offset(*centre, 0, -15_000)
    for i, (north, east) in enumerate(((0, 0), (1_000, 0), (500, 866))):
        place = offset(*site, north, east)
        world.add(Node(f"trio{i}", place, place))
    true = offset(*site, 500, 300)
    world.add(Node("liar", true, offset(*centre, 200, 200)))
    flagged = _flagged(world, detect(world.history()))
    assert set(flagged) == {"liar"}, flagged
    assert "gps_far" in flagged["liar"], flagged


def test_a_ring_with_a_member_found_otherwise_is_still_closed() -> None:
    """One ring member also inflates its RSSI and is found for it first: the ring is judged
    without it (its reach, its accusation) but it is still the ring's, so the other four,
    witnessing only the ring, are still a closed cluster."""
    world = honest_world()
    ring = collusion_ring(world)
    world.nodes["h36"].inflate_db = 15.0
    flagged = _flagged(world, detect(world.history()))
    assert set(flagged) == ring, flagged
    assert "signal_asymmetry" in flagged["h36"], flagged
    assert all("closed_cluster" in flagged[name] for name in ring - {"h36"}), flagged


@pytest.mark.parametrize("east_m", [20_000.0, 5_000.0])
def test_honest_hotspots_among_false_locations_found_by_their_gps_are_not_flagged(
        east_m: float) -> None:
    """The 24 hotspots of the 5 × 5 block around h33 assert places `east_m` east, their GPS
    telling the truth (found by it, gps_far). The honest ones among and beside them hear
    mostly them: judged with them, their links are far above the law for the asserted
    distances (20 km: the indoor look-alike past the threshold), or their partners gather
    5 km east of them (5 km: a street neighbour, position_fit); judged without the found,
    they are honest hotspots among honest ones."""
    world = honest_world()
    liars = {f"h{r}{c}" for r in range(1, 6) for c in range(1, 6)} - {"h33"}
    for name in liars:
        node = world.nodes[name]
        node.asserted = offset(*node.true, 0, east_m)
    flagged = _flagged(world, detect(world.history()))
    assert set(flagged) == liars, flagged
    assert all("gps_far" in flagged[name] for name in liars), flagged


def test_the_last_ring_member_not_found_otherwise_is_still_closed() -> None:
    """Four of the five ring members stuff their reports with one RSSI and SNR and are found
    for it (signal_constant) before the clusters are judged: no two members left unfound are
    linked to measure the group's reach by, so it is the group's own, and the fifth, witnessing
    only the ring, is found as a closed cluster."""
    world = honest_world()
    ring = collusion_ring(world)
    for name in ring - {"h36"}:
        world.nodes[name].constant_signal = (-120.0, -5.0)
    flagged = _flagged(world, detect(world.history()))
    assert set(flagged) == ring, flagged
    assert all("signal_constant" in flagged[name] for name in ring - {"h36"}), flagged
    assert "closed_cluster" in flagged["h36"], flagged


def test_an_honest_hotspot_whose_only_partners_lie_about_their_place_is_no_cluster() -> None:
    """A hotspot 15 km west of the town hears only two others, truly beside it, that assert
    places in the town (their GPS tells the truth): the three witness only each other, and
    their asserted places stretch the group's reach over the town. The two are found for
    their place; the group's reach is measured without them, and the honest one, with no
    reach of its own, is not a closed cluster."""
    world = honest_world()
    centre = world.nodes["h33"].true
    site = offset(*centre, 0, -15_000)
    world.add(Node("hermit", site, site))
    for i, north in enumerate((600, -600)):
        true = offset(*site, north, 300)
        world.add(Node(f"liar{i}", true, offset(*centre, north, 200)))
    flagged = _flagged(world, detect(world.history()))
    assert set(flagged) == {"liar0", "liar1"}, flagged


def _at_the_edge(world: World, diagonal_m: float, **node: float) -> str:
    """"edge", `diagonal_m` south and west of the town's corner (h00): it hears and is heard
    by fewer than min_pairs town hotspots both ways, each of them with many pairs of its own."""
    place = offset(*world.nodes["h00"].true, -diagonal_m, -diagonal_m)
    world.add(Node("edge", place, place, **node))
    return "edge"


def _two_way_partners(world: World, history: History, name: str) -> int:
    w = history.witnesses
    me = history.hotspots.keys.index(world.key(name))
    hears = set(w.beaconer[w.witness == me].tolist())
    return len(hears & set(w.witness[w.beaconer == me].tolist()))


def test_an_inflator_with_fewer_than_min_pairs_is_found_by_its_reciprocal_partners() -> None:
    """Two two-way pairs are too few for a median over its pairs (min_pairs); each partner
    is a town hotspot whose other pairs are reciprocal, so the inflator's +15 dB with them is
    its own (on the whole 2022 population, 51 of the 61 inflators missed in epoch 1 had one
    or two pairs: docs/benchmarks.md, issue 13)."""
    world = honest_world()
    _at_the_edge(world, 2_200, inflate_db=15.0)
    history = world.history()
    assert 1 <= _two_way_partners(world, history, "edge") < DEFAULT_PARAMS.min_pairs
    assert _flagged(world, detect(history)) == {"edge": {"signal_asymmetry"}}


@pytest.mark.parametrize(("diagonal_m", "node"), [
    (2_200, {}),  # a quiet rural hotspot: two neighbours, far
    (1_000, {"noise_db": 12.0}),  # a noisy site: hears only the strongest of its partners
    (700, {"extra_loss_db": 10.0}),  # behind a long cable: loses as much both ways
    (700, {"noise_db": 8.0, "extra_loss_db": 6.0}),
])
def test_a_sparse_honest_hotspot_is_not_flagged(diagonal_m: float, node: dict[str, float]
                                                ) -> None:
    """Judged by one or two pairs with reciprocal partners: an honest site's own losses are
    the same both ways; a noisy one hears only the stronger receptions of a link (a few dB
    above its mean, not asymmetry_vouched_db)."""
    world = honest_world()
    _at_the_edge(world, diagonal_m, **node)
    history = world.history()
    assert 1 <= _two_way_partners(world, history, "edge") < DEFAULT_PARAMS.min_pairs
    assert _flagged(world, detect(history)) == {}


def _beyond_the_edge(world: World, **node: float) -> str:
    """"edge", 3.2 km south and west of the town's corner (h00) and a neighbour 1.2 km
    further west ("barn", honest): the two pair with each other and with no one else; edge
    hears a 27 dBm hotspot at the corner ("tower") that does not hear it. No pair of edge's
    has a partner with other pairs to vouch for it: its receptions are judged against the
    law, and against how its own beacons are heard."""
    corner = world.nodes["h00"].true
    farm = offset(*corner, -3_200, -3_200)
    world.add(Node("edge", farm, farm, **node))
    barn = offset(*farm, -1_200, 0)
    world.add(Node("barn", barn, barn))
    tower = offset(*corner, -300, -300)
    world.add(Node("tower", tower, tower, tx_power_dbm=27.0))
    return "edge"


@pytest.mark.parametrize("seed", [1, 2])
def test_an_inflator_without_a_vouched_pair_is_found_by_the_law_both_ways(seed: int) -> None:
    """On the whole 2022 population, inflators missed by pairs had no two-way pair or pairs
    only with hotspots pairing with nobody else (docs/benchmarks.md, issue 13)."""
    world = honest_world(seed)
    _beyond_the_edge(world, inflate_db=15.0)
    history = world.history()
    assert _two_way_partners(world, history, "edge") < DEFAULT_PARAMS.min_pairs
    assert _flagged(world, detect(history)) == {"edge": {"signal_asymmetry"}}


@pytest.mark.parametrize("node", [
    {},  # a quiet rural hotspot
    {"noise_db": 12.0},  # a noisy site: only its strongest receptions get through
    {"noise_db": 20.0},
    {"extra_loss_db": 10.0},  # behind a long cable: loses as much both ways
    {"noise_db": 10.0, "extra_loss_db": 6.0},
    {"gain_db": 8.0, "height_gain_db": 8.0},  # a rooftop hearing far: gains both ways
])
def test_an_honest_hotspot_without_a_vouched_pair_is_not_flagged(node: dict[str, float]
                                                                 ) -> None:
    """(The 27 dBm "tower" is left to the detectors' own tests: `position_fit` flags it
    here, with a noisy edge, for reasons of its own.)"""
    world = honest_world()
    _beyond_the_edge(world, **node)
    flagged = _flagged(world, detect(world.history()))
    assert not {"edge", "barn"} & set(flagged), flagged


def test_an_attenuator_heard_from_by_a_relay_only_is_placed_by_the_relays_beacons() -> None:
    """x stands 300 m east of h07 (the town's east edge), asserts a place 3 km farther east,
    its GPS spoofed to match, behind 20 dB and a transmitter no one hears; it reports h07's
    beacons only. h07 relays what h70 hears: its receptions are h70's, stamped where h70
    stands, and the arrival detector reads none of them; but its beacons go out from its own
    radio, vouched for by the town's ranges, and x's ranges to them refute its place."""
    world = honest_world()
    world.arrival_clocks = True
    relay = world.nodes["h07"]
    relay.relay_from = "h70"
    world.add(Node("x", offset(*relay.true, 0, 300), offset(*relay.true, 0, 3_300),
                   extra_loss_db=20.0, tx_power_dbm=-20.0, gps="spoofed",
                   listens_only_to=frozenset({"h07"})))
    assert _flagged(world, detect(world.history())) == {"h07": {"relay_latency"},
                                                        "x": {"arrival_fit"}}


def test_a_denied_edge_explains_neither_of_its_hotspots(monkeypatch: pytest.MonkeyPatch) -> None:
    # `arrival` refutes the link of a pair that hears no one else and denies that edge, not
    # either hotspot: the detectors after it still read both hotspots' links (`hearing`, which
    # reads the history without the links of the hotspots denied so far, here records what it
    # is given).
    given: list[History] = []

    def hearing(history: History, _params: DetectParams) -> list[Finding]:
        given.append(history)
        return []

    monkeypatch.setitem(detectors.DETECTORS, "hearing", ("records its history", hearing))
    h = lone_pair(6)
    assert [f.detector for f in detect(h, only=("arrival", "hearing"))] == ["range_refuted"]
    assert given[0].witnesses.beaconer.size == h.witnesses.beaconer.size == 14
