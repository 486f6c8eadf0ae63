"""Replayed copies: their senders placed by arrival time and named by RSSI, read together.

Hand-built histories on one meridian, so a stamp's distance delay is |north − north'| / c.
Each copy is of a beacon of "a" (at 0 m), heard in time by the candidates, and heard again
900 s later by the late witnesses, each stamping it its distance from the true sender over c
after it left. Expected values follow the rules of oracle/detect/replay.py's docstring and
its thresholds (MIN_REPLAYS, MIN_PLACED, ARRIVAL_MARGIN), not its output."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oracle.detect import replay
from oracle.detect.cover import MIN_COVERED
from oracle.detect.history import History, HistoryBuilder
from oracle.detect.model import DEFAULT_PARAMS

P = DEFAULT_PARAMS
# A small time origin keeps the history's float ms exact to well under a ns.
T0 = 1_000_000
C_M_PER_MS = 299_792.458
DELAY_MS = 900_000.0
# Metres north of "a". "s" and "t" replay; "n" is an honest neighbour 2 km north of "s";
# "h" stands 50 m from "t". The rest are late witnesses. On a line, a candidate other than
# the sender fits (explains in one window) the receptions beyond the sender on its far side
# as a group, and those beyond itself as another; between the two, each its own.
PLACES = {"a": 0.0, "s": 4_000.0, "n": 6_000.0, "t": 20_000.0, "h": 20_050.0,
          "x": 9_000.0, "y": 11_500.0, "z": 15_000.0, "u": 1_000.0, "v": -2_000.0,
          "m1": 7_000.0, "m2": 13_000.0, "m3": 17_000.0, "m4": 18_500.0, "p": 24_000.0}


def k(name: str) -> bytes:
    return b"\x02" + name.encode().ljust(32, b"_")


class World:
    """A history under construction: places, timely candidates and copies."""

    def __init__(self, gap_ms: int = 3_600_000,
                 off_line: dict[str, tuple[float, float]] | None = None) -> None:
        """`off_line`: more hotspots, each at (m north, m east) of "a"."""
        self.b = HistoryBuilder(T0, T0 + 30 * replay.DAY_MS)
        self.gap_ms = gap_ms  # between one replayed beacon and the next
        places = {name: (north, 0.0) for name, north in PLACES.items()} | (off_line or {})
        for name, (north, east) in places.items():
            self.b.add_hotspot(k(name), 52.0 + north / 111_195.0,
                               5.0 + east / (111_195.0 * math.cos(math.radians(52.0))))
        self.h = self.b.build().hotspots  # the places as the history keeps them
        self.names = list(places)
        self.beacons = 0

    def metres(self, x: str, y: str) -> float:
        return self.h.distance_m(self.names.index(x), self.names.index(y))

    def usually_heard(self, sender: str, rssi: dict[str, float], times: int = 3) -> None:
        """`sender`'s own beacons, heard in time by each of `rssi` at that RSSI."""
        for n in range(times):
            at = T0 + 80_000_000 + n * 60_000
            for hearer, level in rssi.items():
                self.b.add_witness(f"{sender}-own{n}".encode(), k(sender), k(hearer), level,
                                   5.0, 14.0, at + 300, at + 500, float(at),
                                   at + self.metres(sender, hearer) / C_M_PER_MS)

    def replayed(self, candidates: tuple[str, ...],
                 copies: dict[str, dict[str, tuple[float, float]]],
                 at: int | None = None) -> None:
        """One beacon of "a", heard in time by `candidates`; each sender in `copies` sends
        it again 900 s after its own reception, heard by each late witness at (RSSI, ns off
        its true stamp); sent at `at` (ms), or `gap_ms` after the previous one."""
        at = T0 + self.beacons * self.gap_ms if at is None else at
        beacon = f"a{self.beacons}".encode()
        self.beacons += 1
        for c in candidates:
            self.b.add_witness(beacon, k("a"), k(c), -100.0, 5.0, 14.0, at + 300, at + 500,
                               float(at), at + self.metres("a", c) / C_M_PER_MS)
        for sender, heard in copies.items():
            copy_ms = at + self.metres("a", sender) / C_M_PER_MS + DELAY_MS
            for name, (rssi, error_ns) in heard.items():
                self.b.add_witness(beacon, k("a"), k(name), rssi, 0.0, 14.0, at + 300,
                                   int(copy_ms) + 500, float(at),
                                   copy_ms + self.metres(sender, name) / C_M_PER_MS
                                   + error_ns / 1e6)

    def history(self) -> History:
        return self.b.build()


def flagged(history: History) -> set[str]:
    return {f.hotspots[0].rstrip(b"_")[1:].decode() for f in replay.replay(history, P)}


def exact(*names: str, rssi: float = -110.0) -> dict[str, tuple[float, float]]:
    return {name: (rssi, 0.0) for name in names}


def test_a_second_copy_as_full_as_the_first_is_no_rival() -> None:
    """"s" and "t" each replay every beacon, each copy heard by four witnesses of its own,
    most of them between the two: each explains four receptions, but of its own copy, and
    one of the other's. Both are placed, for every copy."""
    world = World()
    for _ in range(replay.MIN_PLACED):
        world.replayed(("s", "t"), {"s": exact("u", "x", "y", "z"),
                                    "t": exact("m1", "m2", "m3", "p")})
    assert flagged(world.history()) == {"s", "t"}


def test_a_copy_beside_an_ambiguous_one_is_still_placed() -> None:
    """"t"'s copy (five receptions, the fullest) fits its neighbour "h", 50 m away, nearly
    as well (four): neither is placed for it. That copy is set aside, and the copy "s" sent
    of the same beacon (four receptions) is placed at "s"."""
    world = World()
    for _ in range(replay.MIN_PLACED):
        world.replayed(("s", "t", "h"), {"s": exact("u", "x", "y", "z"),
                                         "t": exact("m1", "m2", "m3", "m4", "p")})
    assert flagged(world.history()) == {"s"}


@pytest.mark.parametrize(("named", "placed", "found"), [
    (replay.MIN_REPLAYS - 1, 1, True),
    (1, replay.MIN_REPLAYS - 1, True),
    (replay.MIN_REPLAYS - 1, 0, False),
])
def test_beacons_named_by_rssi_and_placed_by_time_are_counted_together(
        named: int, placed: int, found: bool) -> None:
    """"s" is heard by x, u and v at −100, −105, −110 dBm. `named` copies are heard so, but
    stamped by coarse clocks (ms apart: the stamps fit no one, so they do not speak against
    the naming); `placed` copies are heard 40 dB off (RSSI names no one) but stamped
    exactly. MIN_REPLAYS beacons either way find "s"; one fewer does not. One a day, so that
    the bars of a day (MIN_PLACED_IN_A_DAY, MIN_NARROWED_IN_A_DAY) are not what finds it."""
    usual = {"x": -100.0, "u": -105.0, "v": -110.0}
    world = World(gap_ms=replay.DAY_MS)
    world.usually_heard("s", usual)
    for n in range(named):
        world.replayed(("s",), {"s": {w: (level, 1e6 * (j + 1) * (n + 2))
                                      for j, (w, level) in enumerate(usual.items())}})
    for _ in range(placed):
        world.replayed(("s",), {"s": {w: (level + 40.0, 0.0) for w, level in usual.items()}})
    assert flagged(world.history()) == ({"s"} if found else set())


def test_a_beacon_both_named_and_placed_counts_once() -> None:
    """Copies heard as "s" usually is and stamped exactly are named and placed: one beacon
    each, so MIN_REPLAYS − 1 of them do not find "s" (and MIN_REPLAYS do). One a day, so that
    MIN_PLACED_IN_A_DAY is not what finds it."""
    usual = {"x": -100.0, "u": -105.0, "v": -110.0}
    for copies, found in ((replay.MIN_REPLAYS - 1, False), (replay.MIN_REPLAYS, True)):
        world = World(gap_ms=replay.DAY_MS)
        world.usually_heard("s", usual)
        for _ in range(copies):
            world.replayed(("s",), {"s": {w: (level, 0.0) for w, level in usual.items()}})
        assert flagged(world.history()) == ({"s"} if found else set())


@pytest.mark.parametrize(("south", "named"), [
    (("u",), True),  # "n" fits x, y, z: 3 of "s"'s 4, within ARRIVAL_MARGIN
    (("u", "v"), False),  # "n" fits 3 of "s"'s 5: ARRIVAL_MARGIN fewer
])
def test_an_rssi_naming_the_stamps_contradict_is_dropped(
        south: tuple[str, ...], named: bool) -> None:
    """"s" replays; the late witnesses never heard "s" in time, but usually hear its honest
    neighbour "n" (2 km north) just as the copy is heard, so RSSI names "n" for every copy.
    The stamps fit "s" for all the copy's receptions and "n" only for those north of both
    (x, y, z): when "n" fits ARRIVAL_MARGIN fewer, the naming is dropped."""
    assert replay.ARRIVAL_MARGIN == 2
    late = ("x", "y", "z", *south)
    world = World()
    world.usually_heard("n", dict.fromkeys(late, -110.0))
    for _ in range(replay.MIN_REPLAYS):
        world.replayed(("s", "n"), {"s": exact(*late)})
    # Where the naming stands, "n" fits too many of the copy's receptions to place "s";
    # where it is dropped, "s" is placed by ARRIVAL_MARGIN.
    assert flagged(world.history()) == ({"n"} if named else {"s"})


def test_fullest_windows_counts_values_within_the_window() -> None:
    """A window opens at a value and holds those within ARRIVAL_WINDOW_NS of it."""
    w = replay.ARRIVAL_WINDOW_NS
    starts = np.array([[0.0, w, w + 1, 3 * w], [0.0, 2 * w, 4 * w, 6 * w]])
    count, opening = replay.fullest_windows(starts)
    assert count.tolist() == [2, 1]  # {0, w} and {w, w + 1} both hold 2: the first opens
    assert opening.tolist() == [0, 0]


@pytest.mark.parametrize(("backed", "found"),
                         [(replay.MIN_PLACED, True), (replay.MIN_PLACED - 1, False)])
def test_rssi_namings_the_stamps_back_count_as_placings(backed: int, found: bool) -> None:
    """x, y, z and u usually hear "s" as its copies are heard, and the copies' stamps fit
    "s" (4 receptions) and its neighbour "n" nearly as well (x, y, z: 3), so neither is
    placed, but the stamps back the naming of "s". "s" could also have sent 18 other
    replayed beacons (copies heard 40 dB off, by clocks too coarse to place anyone): 3 of
    21 is under REPLAY_SHARE, yet MIN_PLACED beacons the stamps back find "s", as placings
    do; one fewer does not. One a day, so that MIN_PLACED_IN_A_DAY is not what finds it."""
    usual = {"x": -100.0, "y": -103.0, "z": -106.0, "u": -109.0}
    world = World(gap_ms=replay.DAY_MS)
    world.usually_heard("s", usual)
    for _ in range(backed):
        world.replayed(("s", "n"), {"s": {w: (level, 0.0) for w, level in usual.items()}})
    for n in range(18):
        world.replayed(("s",), {"s": {w: (level + 40.0, 1e6 * (j + 1) * (n + 2))
                                      for j, (w, level) in enumerate(usual.items())}})
    assert replay.MIN_PLACED / (replay.MIN_PLACED + 18) < replay.REPLAY_SHARE
    assert flagged(world.history()) == ({"s"} if found else set())



@pytest.mark.parametrize(("hours", "found"), [
    ((1, 23), True),  # MIN_PLACED_IN_A_DAY in one UTC day
    ((23, 25), False),  # two hours apart, but across midnight: one each day
    ((25, 4 * 24 + 25), False),  # an honest neighbour's chance placings, days apart
    ((1,), False),
])
def test_placings_in_one_day(hours: tuple[int, ...], found: bool) -> None:
    """"s" replays one beacon at each of `hours` (from the start of T0's UTC day), each copy
    heard by four late witnesses whose stamps place it at "s" alone. MIN_PLACED_IN_A_DAY
    placings within one UTC day (an epoch) find it; as many on different days do not (under
    MIN_PLACED, a chance placing of an honest neighbour repeated in another epoch)."""
    assert replay.MIN_PLACED_IN_A_DAY == 2 < replay.MIN_PLACED
    world = World()
    midnight = T0 - T0 % replay.DAY_MS
    for hour in hours:
        world.replayed(("s",), {"s": exact("u", "x", "y", "z")},
                       at=midnight + hour * 3_600_000)
    assert flagged(world.history()) == ({"s"} if found else set())


def single_copies(world: World, copies: int, candidates: tuple[str, ...] = ("s", "n"),
                  heard: tuple[str, float] = ("x", -100.0)) -> None:
    """`copies` beacons of "a", one a day, each heard in time by `candidates`, and "s"'s copy
    of it heard by one late witness (`heard`: who, at what RSSI)."""
    for _ in range(copies):
        world.replayed(candidates, {"s": {heard[0]: (heard[1], 0.0)}})


@pytest.mark.parametrize(("copies", "found"),
                         [(replay.MIN_SINGLED, True), (replay.MIN_SINGLED - 1, False)])
def test_a_copy_heard_once_singles_out_the_one_candidate_its_witness_hears(
        copies: int, found: bool) -> None:
    """Each copy of "s" is heard by "x" alone (one stamp: nothing to place, nor to name by
    RSSI). Of the beacon's timely witnesses, "s" and its honest neighbour "n", x has only ever
    heard "s" in time, as the copy is heard: "s" is singled out. MIN_SINGLED beacons find
    it; one fewer does not. x, an honest hotspot that heard the copies, is never suspected."""
    world = World(gap_ms=replay.DAY_MS)
    world.usually_heard("s", {"x": -100.0})
    world.usually_heard("n", {"u": -100.0})
    single_copies(world, copies)
    assert flagged(world.history()) == ({"s"} if found else set())


def test_a_witness_that_hears_two_candidates_singles_out_no_one() -> None:
    """x usually hears "s" and its honest neighbour "n" both: a copy x heard alone could be
    either's, however many there are (nor does the cover name either: each could have sent
every copy the other could)."""
    world = World(gap_ms=replay.DAY_MS)
    world.usually_heard("s", {"x": -100.0})
    world.usually_heard("n", {"x": -100.0})
    single_copies(world, 3 * replay.MIN_SINGLED)
    assert flagged(world.history()) == set()


@pytest.mark.parametrize(("copies", "found"), [(MIN_COVERED, True), (MIN_COVERED - 1, False)])
def test_copies_only_one_could_have_sent_all_of_find_it(copies: int, found: bool) -> None:
    """Each copy of "s" is heard by one witness that usually hears two of the beacon's
    timely witnesses alike: x hears "s" and the honest "n" (they heard the odd beacons in
    time), y hears "s" and the honest "h" (the even ones). No copy singles anyone out, but
    only "s" could have sent them all (oracle/detect/cover.py): MIN_COVERED beacons find it;
    one fewer does not."""
    world = World(gap_ms=replay.DAY_MS)
    world.usually_heard("s", {"x": -100.0, "y": -100.0})
    world.usually_heard("n", {"x": -100.0})
    world.usually_heard("h", {"y": -100.0})
    for b in range(copies):
        if b % 2:
            world.replayed(("s", "n"), {"s": {"x": (-100.0, 0.0)}})
        else:
            world.replayed(("s", "h"), {"s": {"y": (-100.0, 0.0)}})
    assert flagged(world.history()) == ({"s"} if found else set())
    if found:
        (finding,) = replay.replay(world.history(), P)
        assert finding.evidence["replayed_copies_it_took_in_the_cover"] == copies


@pytest.mark.parametrize(("rssi", "found"), [
    (-100.0 + replay.SOLE_MATCH_DB, False),  # heard SOLE_MATCH_DB off how x hears "n"
    (-100.0 + replay.SOLE_MATCH_DB - 0.25, True),
])
def test_an_honest_neighbour_is_singled_out_only_when_heard_as_the_copy_is(
        rssi: float, found: bool) -> None:
    """The look-alike: x never heard the replayer "s" in time (its copies reach x, its
    beacons did not), so the only timely witness x knows is the honest "n". A copy heard
    SOLE_MATCH_DB or more off how x hears "n" is not "n"'s and singles out no one; within
    it, the history cannot tell "n" from the sender (measured rare: replay.py's figures)."""
    world = World(gap_ms=replay.DAY_MS)
    world.usually_heard("n", {"x": -100.0})
    single_copies(world, 3 * replay.MIN_SINGLED, heard=("x", rssi))
    assert flagged(world.history()) == ({"n"} if found else set())


def test_a_singling_yields_to_the_stamps() -> None:
    """Each copy of "s" is heard by x, y, z, u and v, whose stamps place it at "s" (its
    neighbour "n" fits ARRIVAL_MARGIN fewer: "s" is found); u has only ever heard the honest
    "n" in time, as the copy is heard, which alone would single "n" out. The stamps place
    the beacon's copies on "s", so "n" is not."""
    world = World(gap_ms=replay.DAY_MS)
    world.usually_heard("n", {"u": -110.0})
    for _ in range(3 * replay.MIN_SINGLED):
        world.replayed(("s", "n"), {"s": exact("x", "y", "z", "u", "v")})
    assert flagged(world.history()) == {"s"}


def test_an_honest_report_uploaded_late_is_no_copy() -> None:
    """x's backhaul was down for 15 minutes: it sends its reports of "a"'s beacons from its
    outbox 900 s late, stamped when it heard them (in time). Neither x nor the beacon's
    other witness, "s" (the only one x usually hears), is suspected."""
    world = World(gap_ms=replay.DAY_MS)
    world.usually_heard("s", {"x": -100.0})
    for n in range(3 * replay.MIN_SINGLED):
        at = T0 + n * replay.DAY_MS
        beacon = f"late{n}".encode()
        for c in ("s", "x"):
            uploaded = at + 500 + (DELAY_MS if c == "x" else 0)
            world.b.add_witness(beacon, k("a"), k(c), -100.0, 5.0, 14.0, at + 300,
                                int(uploaded), float(at), at + world.metres("a", c) / C_M_PER_MS)
    assert flagged(world.history()) == set()


def test_a_beacon_heard_twice_by_multipath_is_no_copy() -> None:
    """x hears each of "a"'s beacons twice, the second by a reflection 3 µs later (two
    reports of one beacon): no copy, so no sender, however often."""
    world = World(gap_ms=replay.DAY_MS)
    world.usually_heard("s", {"x": -100.0})
    for n in range(3 * replay.MIN_SINGLED):
        at = T0 + n * replay.DAY_MS
        beacon = f"echo{n}".encode()
        stamp = at + world.metres("a", "x") / C_M_PER_MS
        world.b.add_witness(beacon, k("a"), k("s"), -100.0, 5.0, 14.0, at + 300, at + 500,
                            float(at), at + world.metres("a", "s") / C_M_PER_MS)
        for echo_ms in (0.0, 0.003):
            world.b.add_witness(beacon, k("a"), k("x"), -100.0, 5.0, 14.0, at + 300,
                                at + 500, float(at), stamp + echo_ms)
    assert flagged(world.history()) == set()


@pytest.mark.parametrize(("copies", "found"),
                         [(replay.MIN_NARROWED, True), (replay.MIN_NARROWED - 1, False)])
def test_witnesses_together_narrow_a_copy_down_to_its_sender(copies: int, found: bool) -> None:
    """Each copy of "s" is heard by "x" and "m2", north of "s" and "n" alike: their stamps
    fit both as well (nothing to place). x usually hears "s" and the honest "n", m2 "s" and
    the honest "h": neither alone singles anyone out, together they leave "s". MIN_NARROWED
    beacons, one a day, find it; one fewer does not."""
    world = World(gap_ms=replay.DAY_MS)
    world.usually_heard("s", {"x": -100.0, "m2": -105.0})
    world.usually_heard("n", {"x": -100.0})
    world.usually_heard("h", {"m2": -105.0})
    for _ in range(copies):
        world.replayed(("s", "n", "h"), {"s": {"x": (-100.0, 0.0), "m2": (-105.0, 0.0)}})
    assert flagged(world.history()) == ({"s"} if found else set())


@pytest.mark.parametrize(("error_ns", "found"), [
    (replay.ARRIVAL_WINDOW_NS, True),  # the stamps, less the distances, ARRIVAL_WINDOW_NS apart
    (replay.ARRIVAL_WINDOW_NS + 1.0, False),
])
def test_the_receptions_narrowing_a_copy_down_must_fit_one_sender(
        error_ns: float, found: bool) -> None:
    """As above, with m2's stamp `error_ns` late: within ARRIVAL_WINDOW_NS, x's and m2's
    receptions could be one transmission of "s" (as a placing's window holds them) and the
    copy is narrowed down to it; a ns more, they could not be one copy of anyone's, and
    nothing is narrowed down (nor placed)."""
    world = World(gap_ms=replay.DAY_MS)
    world.usually_heard("s", {"x": -100.0, "m2": -105.0})
    world.usually_heard("n", {"x": -100.0})
    world.usually_heard("h", {"m2": -105.0})
    for _ in range(replay.MIN_NARROWED):
        world.replayed(("s", "n", "h"), {"s": {"x": (-100.0, 0.0), "m2": (-105.0, error_ns)}})
    tally = replay.replay_tally(world.history(), P)
    assert sum(tally.placed.values()) == 0
    assert flagged(world.history()) == ({"s"} if found else set())


def test_an_honest_hotspot_between_two_replayers_is_not_narrowed_down_to() -> None:
    """The look-alike of intersecting: "s" and "t" replay the same beacons, x hears only
    "s"'s copies and m2 only "t"'s, and both usually hear the honest "n" as they hear the
    copies. x's candidates are s and n, m2's t and n: intersected, n alone. But x's and
    m2's stamps, less their distances from n, are ~47 µs apart (the copies left s and t at
    different times, by different paths): not one transmission of n's, so nothing is
    narrowed down, however many beacons."""
    world = World(gap_ms=replay.DAY_MS)
    world.usually_heard("s", {"x": -100.0})
    world.usually_heard("t", {"m2": -105.0})
    world.usually_heard("n", {"x": -100.0, "m2": -105.0})
    for _ in range(3 * replay.MIN_NARROWED):
        world.replayed(("s", "t", "n"), {"s": {"x": (-100.0, 0.0)},
                                         "t": {"m2": (-105.0, 0.0)}})
    assert flagged(world.history()) == set()


def test_two_copies_narrowed_together_name_no_one_heard_otherwise() -> None:
    """The look-alike of intersecting: "s" and "t" replay the same beacons, x hears only
    "s"'s copies and m2 only "t"'s, and both usually hear the honest "n". x's candidates are
    s and n, m2's t and n: intersected, n alone. What keeps n out is how it is heard: m2
    hears n 20 dB weaker than the copies, so n is no candidate of m2's for them, and nothing
    is left. (Heard alike, n would be flagged: the history cannot tell that apart, and the
    stores measured it rare, replay.py's MIN_NARROWED.)"""
    world = World(gap_ms=replay.DAY_MS)
    world.usually_heard("s", {"x": -100.0})
    world.usually_heard("t", {"m2": -105.0})
    world.usually_heard("n", {"x": -100.0, "m2": -125.0})
    for _ in range(3 * replay.MIN_NARROWED):
        world.replayed(("s", "t", "n"), {"s": {"x": (-100.0, 0.0)},
                                         "t": {"m2": (-105.0, 0.0)}})
    assert flagged(world.history()) == set()


# A dense area: the replayer "s" copies every beacon of "a" (four a day for ten days), heard
# by u, v, x and y; BYSTANDERS honest hotspots 3 km apart, 60 km east, heard the beacons in
# time too, as did the honest "o" and the replayer "r" (20 km east). Every one of them stands
# by every replayed beacon: 40 chances each to be placed. Now and then a copy's receptions
# line up on one of them by coincidence: here, a copy heard by four witnesses ~1 km
# north-east, north-west, south-east and south-west of it (no other candidate is
# equidistant from three of them: only it is placed). "r"'s own copies are heard so too.
BYSTANDERS = [f"b{r}_{c}" for r in range(11) for c in range(11)]
RING_M = ((700.0, 700.0), (700.0, -700.0), (-700.0, 700.0), (-700.0, -700.0))


def daily(times: int, slot: int) -> tuple[int, ...]:
    """One beacon a day for `times` days: each day's beacon `slot` (0 or 1)."""
    return tuple(4 * day + slot for day in range(times))


def dense_world(placed: dict[str, tuple[int, ...]], bystanders_placed: int,
                bystanders: bool = True, heard_by: int = len(RING_M)) -> World:
    """40 beacons of "a", 6 h apart (four a UTC day), each copied by "s"; each of `placed`
    ("o", "r") is placed by a copy heard about it on those of the beacons (each day's first
    two are theirs); so is each of the first `bystanders_placed` bystanders (up to 40), once,
    on the days' other two. Without `bystanders`, none stands by the beacons. With
    `heard_by` 1, each such copy is heard by the first of its four witnesses alone, who
    usually hears that one hotspot (and no other) as the copy: singled out, not placed; and
    "s"'s copies by u alone (nothing placed that the singlings would yield to)."""
    grid = {f"b{r}_{c}": (-15_000.0 + 3_000.0 * r, 60_000.0 + 3_000.0 * c)
            for r in range(11) for c in range(11)}
    centres = grid | {"o": (10_000.0, 20_000.0), "r": (-10_000.0, 20_000.0)}
    ring = {f"{who}~{j}": (centre[0] + dn, centre[1] + de)
            for who, centre in centres.items() for j, (dn, de) in enumerate(RING_M)}
    world = World(gap_ms=6 * 3_600_000, off_line=centres | ring)
    if heard_by == 1:
        for who in centres:
            world.usually_heard(who, {f"{who}~0": -110.0})
    for n in range(40):
        copies = {"s": exact(*("u", "v", "x", "y")[:heard_by])}
        chance = [who for who, beacons in placed.items() if n in beacons]
        if n % 4 >= 2:
            free = n // 4 * 2 + n % 4 - 2
            chance += [BYSTANDERS[j] for j in (free, free + 20) if j < bystanders_placed]
        for who in chance:
            copies[who] = exact(*(f"{who}~{j}" for j in range(heard_by)))
        world.replayed(("s", "o", "r", *(BYSTANDERS if bystanders else ())), copies)
    return world


def test_dense_world_places_whom_it_means_to() -> None:
    """The world's premise: the stamps place each copy on whom it was built about."""
    world = dense_world({"o": daily(3, 0), "r": daily(4, 1)}, 34)
    tally = replay.replay_tally(world.history(), P)
    placed = {world.names[i]: count for i, count in tally.placed.items()}
    assert placed == {"s": 40, "o": 3, "r": 4} | dict.fromkeys(BYSTANDERS[:34], 1)
    assert {tally.exposed[world.names.index(who)] for who in ("s", "o", "r", *BYSTANDERS)} == {40}


def test_an_honest_hotspot_among_replayers_is_placed_by_chance_alone() -> None:
    """The look-alike: "o" is placed for MIN_PLACED copies over the ten days (one a day),
    as 34 of the 121 bystanders are for one, at the same 40 chances each. At that rate
    (the honest kind's, ~0.8 % of chances), o's mean is ~0.33 placings and chance alone
    places it three times or more with P ≈ 0.5 % > CHANCE_FALSE_ALARM: not flagged. The
    replayer "r", placed four times at the same chances (P ≈ 0.04 %), is, and so is "s"
    (every beacon)."""
    for mean in (0.30, 0.33, 0.36):  # the premise, from Poisson's terms, about the fitted rate
        assert 1 - math.exp(-mean) * (1 + mean + mean ** 2 / 2) > replay.CHANCE_FALSE_ALARM
        assert (1 - math.exp(-mean) * (1 + mean + mean ** 2 / 2 + mean ** 3 / 6)
                < replay.CHANCE_FALSE_ALARM)
    world = dense_world({"o": daily(replay.MIN_PLACED, 0), "r": daily(replay.MIN_PLACED + 1, 1)},
                        34)
    assert flagged(world.history()) == {"s", "r"}


def test_with_too_few_hotspots_by_the_copies_min_placed_stands() -> None:
    """The same world with no bystander: fewer than RATE_MIN_HOTSPOTS hotspots stood by the
    replayed beacons, no chance rate is known, and MIN_PLACED placings flag "o" too."""
    world = dense_world({"o": daily(replay.MIN_PLACED, 0), "r": daily(replay.MIN_PLACED + 1, 1)},
                        0, bystanders=False)
    history = world.history()
    assert len({i for i, c in replay.replay_tally(history, P).exposed.items() if c}) < (
        replay.RATE_MIN_HOTSPOTS)
    assert flagged(history) == {"s", "o", "r"}


RATE = 0.0075  # placings per chance, in the tests of the bars at the false-alarm level


@pytest.mark.parametrize(("level", "found"), [(1.0 + 1e-9, True), (1.0 - 1e-9, False)])
def test_placings_past_chance_at_the_false_alarm_level(
        monkeypatch: pytest.MonkeyPatch, level: float, found: bool) -> None:
    """At a chance rate of RATE, "o"'s 40 chances give it a mean of 0.3; its MIN_PLACED
    placings (one a day) are past chance when P(X ≥ 3) = 1 − e^−m (1 + m + m²/2) is at most
    CHANCE_FALSE_ALARM: set a hair above that probability, o is flagged; a hair under, not."""
    mean = RATE * 40
    tail = 1 - math.exp(-mean) * (1 + mean + mean ** 2 / 2)
    monkeypatch.setattr(replay, "chance_rate", lambda *_: RATE)
    monkeypatch.setattr(replay, "CHANCE_FALSE_ALARM", tail * level)
    world = dense_world({"o": daily(replay.MIN_PLACED, 0)}, 34)
    assert ("o" in flagged(world.history())) is found


@pytest.mark.parametrize(("level", "found"), [(1.0 + 1e-9, True), (1.0 - 1e-9, False)])
def test_placings_in_a_day_past_chance_at_the_false_alarm_level(
        monkeypatch: pytest.MonkeyPatch, level: float, found: bool) -> None:
    """The day's bar: "o" is placed for MIN_PLACED_IN_A_DAY of the first day's 4 beacons
    (its chances that day). At RATE, its mean that day is 0.03, and the level is shared by
    the ten days read: flagged when P(X ≥ 2) = 1 − e^−m (1 + m) is at most
    CHANCE_FALSE_ALARM / 10 (a hair above that probability); a hair under, not."""
    mean = RATE * 4
    tail = 1 - math.exp(-mean) * (1 + mean)
    monkeypatch.setattr(replay, "chance_rate", lambda *_: RATE)
    monkeypatch.setattr(replay, "CHANCE_FALSE_ALARM", 10 * tail * level)
    assert replay.MIN_PLACED_IN_A_DAY == 2
    world = dense_world({"o": (0, 1)}, 34)
    assert ("o" in flagged(world.history())) is found



@pytest.mark.parametrize(("hours", "found"), [
    ((1, 23), True),  # MIN_NARROWED_IN_A_DAY in one UTC day
    ((23, 25), False),  # two hours apart, but across midnight: one each day
    ((1,), False),
])
def test_singlings_and_narrowings_in_one_day(hours: tuple[int, ...], found: bool) -> None:
    """"s" replays one beacon at each of `hours`, each copy heard by x alone, who of the
    beacon's timely witnesses ("s", the honest "n") only ever heard "s" in time: singled
    out. MIN_NARROWED_IN_A_DAY such beacons within one UTC day find it (a replayer sends a
    copy every window), as many on two days do not (under MIN_SINGLED and MIN_NARROWED)."""
    assert replay.MIN_NARROWED_IN_A_DAY == 2 < min(replay.MIN_SINGLED, replay.MIN_NARROWED)
    world = World()
    world.usually_heard("s", {"x": -100.0})
    world.usually_heard("n", {"u": -100.0})
    midnight = T0 - T0 % replay.DAY_MS
    for hour in hours:
        world.replayed(("s", "n"), {"s": {"x": (-100.0, 0.0)}}, at=midnight + hour * 3_600_000)
    assert flagged(world.history()) == ({"s"} if found else set())


def test_dense_world_singles_out_whom_it_means_to() -> None:
    """The premise of the next two: with `heard_by` 1, each chance copy singles out whom it
    was built about, and places no one (not even "s"); every hotspot stood by all 40
    replayed beacons."""
    world = dense_world({"o": (0, 1), "r": (4, 5, 6, 7)}, 34, heard_by=1)
    tally = replay.replay_tally(world.history(), P)
    narrowed = {world.names[i]: count for i, count in tally.narrowed.items()}
    assert narrowed == {"o": 2, "r": 4} | dict.fromkeys(BYSTANDERS[:34], 1)
    assert sum(tally.placed.values()) == 0
    assert {tally.narrowable[world.names.index(who)]
            for who in ("s", "o", "r", *BYSTANDERS)} == {40}


def test_an_honest_hotspot_singled_out_twice_in_a_day_by_chance_is_not_flagged() -> None:
    """The look-alike: "o" is singled out for MIN_NARROWED_IN_A_DAY of the first day's 4
    beacons, as 34 of the 121 bystanders are for one of 40 (the rate the lower kind is
    singled out at, ~0.7 % of chances, fitted on these counts, not on placings). o's mean
    that day is ~0.03, and two reach past it with P ≈ 4·10⁻⁴, over CHANCE_FALSE_ALARM
    shared by the ten days read: not flagged. The replayer "r", singled out for all four of
    the second day's beacons (P ≈ 3·10⁻⁸), is."""
    for mean in (0.025, 0.028, 0.031):  # the premise, from Poisson's terms, about the fitted rate
        assert 1 - math.exp(-mean) * (1 + mean) > replay.CHANCE_FALSE_ALARM / 10
        assert (1 - math.exp(-mean) * (1 + mean + mean ** 2 / 2 + mean ** 3 / 6)
                < replay.CHANCE_FALSE_ALARM / 10)
    world = dense_world({"o": (0, 1), "r": (4, 5, 6, 7)}, 34, heard_by=1)
    assert flagged(world.history()) == {"r"}


@pytest.mark.parametrize(("level", "found"), [(1.0 + 1e-9, True), (1.0 - 1e-9, False)])
def test_narrowings_in_a_day_past_chance_at_the_false_alarm_level(
        monkeypatch: pytest.MonkeyPatch, level: float, found: bool) -> None:
    """The day's bar of singlings and narrowings: "o" is singled out for
    MIN_NARROWED_IN_A_DAY of the first day's 4 beacons (its chances that day), and placed
    for none. At a chance rate of RATE, its mean that day is 0.03, and the level is shared
    by the ten days read: flagged when P(X ≥ 2) = 1 − e^−m (1 + m) is at most
    CHANCE_FALSE_ALARM / 10 (a hair above that probability); a hair under, not."""
    mean = RATE * 4
    tail = 1 - math.exp(-mean) * (1 + mean)
    monkeypatch.setattr(replay, "chance_rate", lambda *_: RATE)
    monkeypatch.setattr(replay, "CHANCE_FALSE_ALARM", 10 * tail * level)
    world = dense_world({"o": (0, 1)}, 34, heard_by=1)
    assert ("o" in flagged(world.history())) is found


@pytest.mark.parametrize(("singled", "found"), [(2, True), (1, False)])
def test_placings_and_narrowings_count_together(singled: int, found: bool) -> None:
    """"s" is placed by the stamps for one beacon (four late witnesses, none of which has
    heard it in time) and singled out for `singled` more (x alone hears their copies, and of
    their candidates has heard only "s" in time), a beacon a day: each kind under its own
    bar, together MIN_PLACED beacons find it (the fixed bar: too few hotspots for a rate)."""
    assert replay.MIN_PLACED == 3 and min(replay.MIN_SINGLED, replay.MIN_NARROWED) > 2
    world = World(gap_ms=replay.DAY_MS)
    world.usually_heard("s", {"x": -100.0})
    world.usually_heard("n", {"u": -100.0})
    world.replayed(("s",), {"s": exact("u", "y", "z", "m1")})
    single_copies(world, singled)
    assert flagged(world.history()) == ({"s"} if found else set())


def test_a_beacon_both_placed_and_narrowed_counts_once() -> None:
    """As above with one singling, but x hears the placed copy too, as it usually hears "s":
    that beacon is both placed and singled out, and counts once (2 beacons, not 3)."""
    world = World(gap_ms=replay.DAY_MS)
    world.usually_heard("s", {"x": -100.0})
    world.replayed(("s",), {"s": exact("x", "y", "z", "m1", rssi=-100.0)})
    single_copies(world, 1)
    tally = replay.replay_tally(world.history(), P)
    s = world.names.index("s")
    assert (tally.by_stamps[s], tally.narrowed[s], tally.backed_or_narrowed[s]) == (1, 2, 2)
    assert flagged(world.history()) == set()
