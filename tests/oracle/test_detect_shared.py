"""oracle/detect/shared.py: the join of candidate pairs on their common beacons, a slice of
pairs at a time (JOIN_ROWS), gives what one join of every pair gives; keys behind one antenna
heard from one beaconer only, and their honest look-alikes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oracle.detect import shared
from oracle.detect.history import History, HistoryBuilder
from oracle.detect.model import DEFAULT_PARAMS as P
from tests.oracle.detect_world import Node, World, key, offset


def _town(port_loss_db: float) -> History:
    """An 8 × 8 town, and two keys behind the antenna of one of its hotspots, asserted 4 km
    east and west, each a splitter port `port_loss_db` down."""
    world = World(seed=3)
    world.town()
    radio = world.nodes["h44"]
    for i, east in enumerate((4_000, -4_000)):
        world.add(Node(f"key{i}", radio.true, offset(*radio.true, 0, east), antenna_of="h44",
                       port_loss_db=port_loss_db * (i + 1)))
    world.epochs = 2
    return world.history()


def test_common_rows_sliced_equal_one_join() -> None:
    """Every slice size, down to one pair a slice, joins the same (pair, row, row) triples in
    the same order as a join of all pairs at once."""
    history = _town(0.0)
    w = history.witnesses.subset(history.witnesses.prompt(P.replay_ms))
    pairs = np.array(sorted(shared._candidate_pairs(w, P)), dtype=np.int64)
    assert len(pairs) > 10  # the town stamps many receptions within same_stamp_ms
    whole = shared._common_rows(w, pairs, join_rows=10**12)
    assert whole[0].size > 0
    for join_rows in (1, 7, 100, 1_000):
        sliced = shared._common_rows(w, pairs, join_rows=join_rows)
        for got, want in zip(sliced, whole, strict=True):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("join_rows", [1, 50])
def test_findings_do_not_depend_on_the_slice(monkeypatch: pytest.MonkeyPatch,
                                             join_rows: int) -> None:
    """The shared antenna of the hand-built town is found, with the same evidence, however
    small the slices."""
    history = _town(2.0)
    want = shared.shared_reception(history, P)
    assert want
    monkeypatch.setattr(shared, "JOIN_ROWS", join_rows)
    assert shared.shared_reception(history, P) == want


# Keys behind one antenna heard from one beaconer only (one_source_beacons): hand-built
# histories, one hour between beacons, every reception stamped by the witness's own clock.
T0 = 1_760_000_000_000
HOUR_MS = 3_600_000


def _place(north_m: float, east_m: float = 0.0) -> tuple[float, float]:
    return offset(52.0, 5.0, north_m, east_m)


def _heard(b: HistoryBuilder, n: int, beaconer: str, hears: str, rssi: float, snr: float,
           stamp_ms: float = 0.0, beaconer_clock_ms: float = 0.0) -> None:
    """`hears` reports the n-th beacon of `beaconer`, stamped `stamp_ms` after the beacon's
    own time (its report's timestamp, `beaconer_clock_ms` off)."""
    at = T0 + n * HOUR_MS
    b.add_witness(f"{beaconer}{n}".encode(), key(beaconer), key(hears), rssi, snr, 14.0,
                  at + 300, at + 500, float(at) + beaconer_clock_ms, at + stamp_ms)


def _one_source(beacons: int, s2_north_m: float = 5_000.0, s2_east_m: float = 0.0,
                beaconer_at: tuple[float, float] = (-20_000.0, 0.0),
                diffs: tuple[float, ...] = (), s2_stamp_ms: tuple[float, ...] = ()) -> History:
    """One beaconer "a" (20 km south of "s1" unless `beaconer_at` says where, in m north and
    east) heard by s1 and "s2" (asserted `s2_north_m` north and `s2_east_m` east of s1) on
    `beacons` beacons, stamped by both at one instant (but for `s2_stamp_ms`, added to s2's
    stamps in turn), s2 3 dB weaker (plus `diffs` in turn), their SNRs never equal."""
    b = HistoryBuilder(T0, T0 + 86_400_000)
    b.add_hotspot(key("a"), *_place(*beaconer_at))
    b.add_hotspot(key("s1"), *_place(0.0))
    b.add_hotspot(key("s2"), *_place(s2_north_m, s2_east_m))
    for n in range(beacons):
        extra = diffs[n] if n < len(diffs) else 0.0
        stamp = s2_stamp_ms[n] if n < len(s2_stamp_ms) else 0.0
        _heard(b, n, "a", "s1", rssi=-100.0 - n, snr=5.0)
        _heard(b, n, "a", "s2", rssi=-103.0 - n - extra, snr=1.0 - n, stamp_ms=stamp)
    return b.build()


def _flagged(history: History) -> set[bytes]:
    return {k for f in shared.shared_reception(history, P) for k in f.hotspots}


@pytest.mark.parametrize(("beacons", "found"), [(P.one_source_beacons, True),
                                              (P.one_source_beacons - 1, False)])
def test_one_beaconer_one_stamp_at_one_source_beacons(beacons: int, found: bool) -> None:
    """Two keys asserted 5 km apart along the line to their one beaconer (16.7 µs of light
    between the arrivals their places give), stamped identically on every beacon with a
    steady offset: one antenna from one_source_beacons beacons on; under it (and under
    min_common_beacons) a honest neighbour of a false place looks the same."""
    assert P.one_place_beacons < P.one_source_beacons < P.min_common_beacons
    assert (_flagged(_one_source(beacons)) == {key("s1"), key("s2")}) is found


@pytest.mark.parametrize("steps", [0, 1])
def test_one_beaconer_needs_one_stamp_on_every_beacon(steps: int) -> None:
    """One beacon of one_source_beacons stamped by s2 one float step (at these times, a
    fraction of a µs) after s1: still one instant within same_stamp_ms and against the
    places, but two stamps, as two radios a few hundred metres apart give now and then."""
    step = float(np.spacing(float(T0)))
    history = _one_source(P.one_source_beacons, s2_stamp_ms=(steps * step,))
    assert steps * step <= P.same_stamp_ms
    assert (_flagged(history) == {key("s1"), key("s2")}) is (steps == 0)


@pytest.mark.parametrize(("spread_db", "found"), [(P.one_antenna_db, True),
                                                  (P.one_antenna_db + 0.01, False)])
def test_one_beaconer_one_stamp_spread_at_its_boundary(spread_db: float, found: bool) -> None:
    history = _one_source(P.one_source_beacons, diffs=(0.0, spread_db))
    assert (_flagged(history) == {key("s1"), key("s2")}) is found


def test_one_beaconer_neighbours_across_a_street_are_not_one_antenna() -> None:
    """Two honest hotspots 20 m apart hear one beaconer at one stamp, with a steady offset, on
    as many beacons as this rule reads alone (under min_common_beacons; a quiet link in mild
    fading): their places say one instant."""
    assert _flagged(_one_source(P.min_common_beacons - 1, s2_north_m=20.0)) == set()


def test_one_beaconer_rooftop_hearing_far_with_a_partner_on_its_isochrone() -> None:
    """A rooftop hotspot hears a beaconer 40 km south, and so does an honest hotspot 5 km
    east of it, as far from the beaconer as it: one stamp on every beacon, a steady offset.
    Their places give that one instant: not flagged."""
    history = _one_source(P.min_common_beacons - 1, s2_north_m=0.0, s2_east_m=5_000.0,
                          beaconer_at=(-40_000.0, 2_500.0))
    assert _flagged(history) == set()


@pytest.mark.parametrize(("reasserted", "found"), [(True, False), (False, True)])
def test_one_beaconer_moved_and_reasserted(reasserted: bool, found: bool) -> None:
    """"m" stood beside "n" (one stamp, a steady offset on one_source_beacons beacons of
    "a"), then moved 5 km north and re-asserted there, hearing "c" since. Its reports made
    before the new assertion are judged by the place it had then, not by the new one: not
    flagged. Had it asserted the new place before them (a key asserted 5 km from where it
    hears), they would be against its place."""
    moved_at = T0 + P.one_source_beacons * HOUR_MS
    b = HistoryBuilder(T0, T0 + 86_400_000)
    b.add_hotspot(key("a"), *_place(-20_000.0))
    b.add_hotspot(key("c"), *_place(25_000.0))
    b.add_hotspot(key("n"), *_place(0.0))
    b.add_hotspot(key("m"), *_place(5_000.0), asserted_at_ms=moved_at if reasserted else 0)
    for n in range(P.one_source_beacons):
        _heard(b, n, "a", "n", rssi=-100.0 - n, snr=5.0)
        _heard(b, n, "a", "m", rssi=-103.0 - n, snr=1.0 - n)
    for n in range(P.one_source_beacons, 2 * P.one_source_beacons):
        _heard(b, n, "c", "m", rssi=-95.0 - n, snr=5.0)
    assert (_flagged(b.build()) == {key("m"), key("n")}) is found


# A steady RSSI difference from two beaconers (the steady test) against stamps at two instants.
S2_NORTH_M = 9_500.0  # s2 asserted this far north of s1
REACH_NS = S2_NORTH_M / 0.299_792_458 + P.one_place_ns  # the light time between them, and slack
CLOCKS_MS = 2.0  # two clocks of their own, ms apart: past the light time, within relay_ms
BEACONS = P.min_common_beacons + 1
# Beacons stamped at two instants from which the pair stands apart.
APART = math.ceil(P.two_instants_share * BEACONS)


def _steady(apart_ns: tuple[float, ...]) -> History:
    """Beaconers "a" (20 km south of s1) and "c" (20 km east) send BEACONS beacons, heard by s1
    and by s2 (asserted S2_NORTH_M north of it) 7 dB weaker on all but the last, their SNRs
    never equal: a steady difference on min_common_beacons beacons from two beaconers. The
    last both report alike (RSSI and SNR), as two radios do now and then, which makes them a
    pair to judge. s2 stamps the n-th beacon `apart_ns[n]` ns after s1 (CLOCKS_MS past the
    list)."""
    b = HistoryBuilder(T0, T0 + 86_400_000)
    b.add_hotspot(key("a"), *_place(-20_000.0))
    b.add_hotspot(key("c"), *_place(0.0, 20_000.0))
    b.add_hotspot(key("s1"), *_place(0.0))
    b.add_hotspot(key("s2"), *_place(S2_NORTH_M))
    for n in range(BEACONS):
        beaconer = "a" if n % 2 else "c"
        stamp = apart_ns[n] / 1e6 if n < len(apart_ns) else CLOCKS_MS
        alike = n == BEACONS - 1
        _heard(b, n, beaconer, "s1", rssi=-100.0 - n, snr=5.0)
        _heard(b, n, beaconer, "s2", rssi=-100.0 - n - (0 if alike else 7), snr=5.0 if alike
               else 1.0 - n, stamp_ms=stamp)
    return b.build()


def _step_ns() -> float:
    return float(np.spacing(float(T0 + BEACONS * HOUR_MS))) * 1e6


def test_steady_pair_on_clocks_of_their_own_is_one_antenna() -> None:
    """The steady test alone: stamps ms apart say nothing of where the two radios stand."""
    assert P.relay_ms > CLOCKS_MS > REACH_NS / 1e6
    assert _flagged(_steady(())) == {key("s1"), key("s2")}


@pytest.mark.parametrize("two", [APART - 1, APART])
def test_steady_pair_at_two_instants_at_its_share(two: int) -> None:
    """Half the beacons that can tell (5 of 9; here every one can) stamped 12 µs apart: two
    radios on GPS time, kilometres apart (the city's honest pair across a false-located
    beaconer's paths). Not one antenna, however steady; with one fewer, it is."""
    assert APART == 5
    assert (_flagged(_steady((12_000.0,) * two)) == set()) is (two == APART)


@pytest.mark.parametrize(("apart_ns", "stands_apart"), [
    (P.one_place_ns + 2 * _step_ns(), True), (P.one_place_ns - 2 * _step_ns(), False),
    (REACH_NS - 2 * _step_ns(), True), (REACH_NS + 2 * _step_ns(), False)])
def test_two_instants_at_their_bounds(apart_ns: float, stands_apart: bool) -> None:
    """From one_place_ns apart (a fraction of a µs is one instant's stamp errors) to the light
    time between the asserted places and one_place_ns (farther apart is two clocks, not two
    places), on every beacon; a float step of these stamps is ~0.24 µs."""
    assert (_flagged(_steady((apart_ns,) * BEACONS)) == set()) is stands_apart


def _isochrone(two: int, e_north_m: float) -> History:
    """`two` beacons of "a" stamped at two instants 31.7 µs apart (as s2's place, 9.5 km
    farther from a, gives), then 6 of "e" (`e_north_m` north of s1, 20 km east) stamped at one
    instant: a steady RSSI difference on all."""
    b = HistoryBuilder(T0, T0 + 86_400_000)
    b.add_hotspot(key("a"), *_place(-20_000.0))
    b.add_hotspot(key("e"), *_place(e_north_m, 20_000.0))
    b.add_hotspot(key("s1"), *_place(0.0))
    b.add_hotspot(key("s2"), *_place(S2_NORTH_M))
    beacons = [("a", S2_NORTH_M / 0.299_792_458)] * two + [("e", 0.0)] * 6
    assert len(beacons) >= P.min_common_beacons
    for n, (beaconer, apart_ns) in enumerate(beacons):
        _heard(b, n, beaconer, "s1", rssi=-100.0 - n, snr=5.0)
        _heard(b, n, beaconer, "s2", rssi=-107.0 - n, snr=1.0 - n, stamp_ms=apart_ns / 1e6)
    return b.build()


@pytest.mark.parametrize("two", [2, 3])
def test_one_instant_on_an_isochrone_tells_nothing(two: int) -> None:
    """e stands on the line halfway between s1 and s2, equally far from both: its 6 beacons at
    one instant are what their places give, and say nothing of one place or two. The pair
    stands apart on `two` of the `two` beacons that can tell, and is not flagged. With e
    2 km north of that line, its places put 3.07 µs between the two arrivals, and one
    instant says one antenna: flagged."""
    assert _flagged(_isochrone(two, S2_NORTH_M / 2)) == set()
    assert _flagged(_isochrone(two, S2_NORTH_M / 2 + 2_000.0)) == {key("s1"), key("s2")}


@pytest.mark.parametrize("clock_h", [0, 5])
def test_one_antenna_hearing_a_beaconer_whose_clock_is_off(clock_h: int) -> None:
    """Two keys asserted 5 km apart hear only a beaconer whose own clock is `clock_h` hours
    off, at one instant, on one_source_beacons beacons at the oracle in time: its stamps say
    nothing of theirs, and they are one antenna either way."""
    b = HistoryBuilder(T0, T0 + 86_400_000)
    b.add_hotspot(key("a"), *_place(-20_000.0))
    b.add_hotspot(key("s1"), *_place(0.0))
    b.add_hotspot(key("s2"), *_place(5_000.0))
    for n in range(P.one_source_beacons):
        off = clock_h * HOUR_MS
        _heard(b, n, "a", "s1", rssi=-100.0 - n, snr=5.0, beaconer_clock_ms=off)
        _heard(b, n, "a", "s2", rssi=-103.0 - n, snr=1.0 - n, beaconer_clock_ms=off)
    history = b.build()
    assert not history.witnesses.prompt(P.replay_ms).any() or clock_h == 0
    assert _flagged(history) == {key("s1"), key("s2")}
