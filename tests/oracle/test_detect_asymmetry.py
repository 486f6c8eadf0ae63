"""Reciprocity judged over all two-way pairs at once (oracle/detect/asymmetry.py,
`_network_offsets`): inflators that pair mostly with each other, whose pairs cancel out.

Each world is written as pairs (hearer, partner, how much stronger the hearer reports the
partner than the path gives, the same the other way), on hotspots 1.1 km apart with a 0 dB
pair at −100 dBm, SNR −5 dB: a reported noise floor (RSSI − SNR) of −95 dBm (an SNR
under the radio's ceiling, whatever a cheat adds to it). Background
hotspots pairing among themselves set the network's median floor."""

from __future__ import annotations

import pytest
from detect_world import Node, World, offset
from test_detect_detectors import _flagged, honest_world
from test_detect_thresholds import builder, flagged, witness

from oracle.detect import asymmetry
from oracle.detect.detectors import detect
from oracle.detect.history import History
from oracle.detect.model import DEFAULT_PARAMS

P = DEFAULT_PARAMS
BACKGROUND = [f"b{j}" for j in range(6)]


def _world(pairs: list[tuple[str, str, float, float]], raised: dict[str, float]) -> History:
    """Each pair both ways; a hearer in `raised` reports its SNR raised by its RSSI's raise
    less that value (its noise floor raised by that much)."""
    names = sorted({x for p in pairs for x in p[:2]})
    b = builder(*names, *BACKGROUND)
    background = [(x, y, 0.0, 0.0) for i, x in enumerate(BACKGROUND) for y in BACKGROUND[i + 1:]]
    for n, (hearer, partner, heard_db, back_db) in enumerate(pairs + background):
        for rx, tx, db in ((hearer, partner, heard_db), (partner, hearer, back_db)):
            floor_db = raised.get(rx, db) if db else 0.0
            witness(b, n, tx, rx, rssi=-100.0 + db, snr=-5.0 + db - floor_db,
                    beacon=f"{tx}{rx}{n}")
    return b.build()


def _clique(inflate_db: float, floor_db: float) -> History:
    """i0–i3 inflate by `inflate_db` (their floors raised by `floor_db`), each pairing with
    the three others (the pairs cancel: 0 dB) and with two honest hotspots, u and w, that pair
    with nobody else. Each inflator's median over its pairs is 0; its partners in the clique
    are not reciprocal (2 of 4 other pairs within asymmetry_db), u and w have no other pair."""
    liars = [f"i{j}" for j in range(4)]
    pairs = [(x, y, inflate_db, inflate_db) for j, x in enumerate(liars) for y in liars[j + 1:]]
    pairs += [(x, f"{h}{j}", inflate_db, 0.0) for j, x in enumerate(liars) for h in "uw"]
    return _world(pairs, {x: floor_db for x in liars})


@pytest.mark.parametrize(("inflate_db", "found"), [(P.asymmetry_vouched_db, True),
                                                   (P.asymmetry_vouched_db - 0.01, False)])
def test_inflators_pairing_with_each_other_at_the_boundary(inflate_db: float,
                                                           found: bool) -> None:
    """The honest hotspots (u, w: their floors not raised) set the group's constant: each
    inflator's own offset is its pair offset with them, judged past asymmetry_vouched_db."""
    assert P.asymmetry_floor_db <= P.asymmetry_vouched_db - 0.01
    found_set = flagged(asymmetry.asymmetry(_clique(inflate_db, inflate_db), P))
    assert found_set == ({"i0", "i1", "i2", "i3"} if found else set())


@pytest.mark.parametrize(("floor_db", "found"), [(P.asymmetry_floor_db, True),
                                                 (P.asymmetry_floor_db - 0.01, False)])
def test_only_a_raised_noise_floor_is_judged_by_all_pairs(floor_db: float, found: bool) -> None:
    """Inflating by 15 dB, floors raised by `floor_db` (SNR raised by the rest): judged by all
    pairs from a floor asymmetry_floor_db above the network's median. Under it an inflator
    is one of the group's quiet hotspots, whose own offsets are taken to be about 0, and is
    not judged (test_detect_thresholds.py's one-pair worlds show it on its own)."""
    assert flagged(asymmetry.asymmetry(_clique(15.0, floor_db), P)) == (
        {"i0", "i1", "i2", "i3"} if found else set())


def test_an_honest_hotspot_among_inflators_is_not_flagged() -> None:
    """h pairs with three inflators only, which pair with each other: by its median h is
    heard 15 dB stronger than it hears (a hidden amplifier's sign). Its floor is not raised,
    theirs is: all pairs at once give h 0 and them +15; found, they are set aside and h has
    no pair left to judge it by (peel.py)."""
    liars = ["i0", "i1", "i2"]
    pairs = [(x, y, 15.0, 15.0) for j, x in enumerate(liars) for y in liars[j + 1:]]
    pairs += [(x, "h", 15.0, 0.0) for x in liars]
    assert flagged(asymmetry.asymmetry(_world(pairs, {x: 15.0 for x in liars}), P)) == set(
        liars)


def _hamlet(world: World, **h: float) -> None:
    """A hamlet 6 km out of the town, 300 m across: three inflators (+15 dB) hearing each
    other and one more hotspot, "h" (honest), and no one else."""
    corner = world.nodes["h00"].true
    place = offset(*corner, -6_000, -6_000)
    for j, (north, east) in enumerate(((0, 0), (300, 0), (0, 300))):
        spot = offset(*place, north, east)
        world.add(Node(f"liar{j}", spot, spot, inflate_db=15.0))
    spot = offset(*place, 300, 300)
    world.add(Node("h", spot, spot, **h))


@pytest.mark.parametrize("h", [
    {},
    {"gain_db": 8.0, "height_gain_db": 8.0},  # a rooftop with a high-gain antenna
    {"extra_loss_db": 10.0},  # behind a long cable
    {"noise_db": 12.0},  # a noisy site: hears only the strongest receptions
])
def test_inflators_in_a_hamlet_of_their_own_are_found_and_its_honest_hotspot_is_not(
        h: dict[str, float]) -> None:
    """On the whole 2022 population, most inflators missed by their pairs were in small
    groups of hotspots linked by pairs, with each other (docs/benchmarks.md, issue 13)."""
    world = honest_world()
    _hamlet(world, **h)
    found = _flagged(world, detect(world.history()))
    assert found == {f"liar{j}": {"signal_asymmetry"} for j in range(3)}, found


@pytest.mark.parametrize("node", [
    {"noise_db": 12.0},  # a noisy site: its floor raised, it hears only the strongest
    {"noise_db": 20.0},
    {"noise_db": 12.0, "gain_db": 8.0, "height_gain_db": 8.0},  # a noisy rooftop
    {"noise_db": 12.0, "extra_loss_db": 10.0},  # and behind a long cable
])
def test_a_noisy_honest_hotspot_in_the_town_is_not_flagged(node: dict[str, float]) -> None:
    """Its floor is raised, so all pairs at once judge it; what it hears is what its
    partners hear of it, give or take a few dB of the stronger receptions it alone gets."""
    world = honest_world()
    world.nodes["h33"] = Node("h33", world.nodes["h33"].true, world.nodes["h33"].asserted,
                              **node)
    assert _flagged(world, detect(world.history())) == {}


def _stuffer_and_a_noisy_neighbour(honest_pairs: int) -> History:
    """s stuffs: it reports every beacon it hears at −140 dBm, SNR −20 dB (8 of the background
    one way, and n's), its floor 25 dB under the others' (not raised). n, an honest hotspot on a
    noisy site (its floor raised 12 dB), pairs at 0 dB with `honest_pairs` of the background and
    hears s as the path gives (−100 dBm): that pair says n hears s 40 dB stronger than s hears
    n."""
    b = builder("s", "n", *BACKGROUND)
    background = [(x, y) for i, x in enumerate(BACKGROUND) for y in BACKGROUND[i + 1:]]
    for j, (x, y) in enumerate(background):
        witness(b, j, x, y, rssi=-100.0, snr=-5.0, beacon=f"{x}{y}{j}")
        witness(b, j, y, x, rssi=-100.0, snr=-5.0, beacon=f"{y}{x}{j}")
    for j in range(8):
        witness(b, 100 + j, BACKGROUND[j % len(BACKGROUND)], "s", rssi=-140.0, snr=-20.0,
                beacon=f"bs{j}")
    for j, x in enumerate(BACKGROUND[:honest_pairs]):
        witness(b, 150 + j, x, "n", rssi=-100.0, snr=-17.0, beacon=f"{x}n")
        witness(b, 150 + j, "n", x, rssi=-100.0, snr=-5.0, beacon=f"n{x}")
    witness(b, 200, "n", "s", rssi=-140.0, snr=-20.0, beacon="ns")
    witness(b, 201, "s", "n", rssi=-100.0, snr=-17.0, beacon="sn")
    return b.build()


def test_a_stuffers_pair_lends_its_noisy_honest_partner_nothing() -> None:
    """Left in the all-pairs fit, the stuffer is a quiet anchor at 0 dB and lifts n's own
    offset to 15.7 dB, past asymmetry_vouched_db (flagged: its floor is raised; its two pairs
    are too few for the median rule); with the stuffer found by `constant` first, its pairs are
    left out of that fit and n is not flagged by anyone."""
    history = _stuffer_and_a_noisy_neighbour(honest_pairs=1)
    assert "n" in flagged(asymmetry.asymmetry(history, P))  # the pair alone frames n
    # Every stamp here is the beacon's own instant, whatever the distance: ranges that refute
    # every pair's distance, whose edges are not this test's.
    found = [f for f in detect(history) if f.detector != "range_refuted"]
    assert {name: {f.detector for f in found if name in flagged([f])}
            for name in flagged(found)} == {"s": {"signal_constant"}}
