"""One-way ranges (oracle/detect/arrival.py, tier "ranged") on hand-built beacons: each beacon
report stamped at the end of its emission (its time on air after the start), each witness
stamping the start of its reception, the true great-circle distance over c (c = 299,792,458
m/s) after the start of the emission, with or without a concentrator's error (σ 100 ns, then
the µs). A sparse corner: x heard by w1 alone, 1 km north of where x stands; w1 vouched for by
the beacons of an honest h1, 2 km west of w1, heard by w1 and w2 (2 km east of w1).
Its thresholds at their boundary, and the honest look-alikes that must not be flagged."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
from detect_world import key as k
from detect_world import offset

from oracle.detect import arrival
from oracle.detect.detectors import detect
from oracle.detect.history import History, HistoryBuilder
from oracle.detect.model import DEFAULT_PARAMS
from oracle.detect.ranges import Ranges
from pocnet.geo import haversine_m

T0 = 1_760_000_000_000
P = DEFAULT_PARAMS
CENTRE = (52.0, 5.0)
C_M_PER_NS = 0.299_792_458
AIRTIME_NS = 2_465_792_000.0  # a 51-byte beacon at SF12BW125 (the usual offset of its rate)
EAST_3KM = (3_000.0, 0.0)  # x's asserted place when it lies: 3 km east of where it stands

Stamp = Callable[[str, float], float]


def place(east_m: float, north_m: float) -> tuple[float, float]:
    return offset(*CENTRE, north_m, east_m)


def exact(_name: str, ns: float) -> float:
    return ns


def concentrator(rng: np.random.Generator) -> Stamp:
    """A GPS-disciplined concentrator's stamp of a true arrival (ns): σ 100 ns, then the µs."""
    return lambda _name, ns: round((ns + rng.normal(0, 100)) / 1_000) * 1_000


@dataclasses.dataclass
class Corner:
    """Who stands where (true), who asserts what, and the beacons to stamp."""

    true: dict[str, tuple[float, float]]
    asserted: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    asserted_at_ms: dict[str, int] = dataclasses.field(default_factory=dict)
    builder: HistoryBuilder = dataclasses.field(
        default_factory=lambda: HistoryBuilder(T0, T0 + 7 * 86_400_000))
    count: int = 0
    # Stamps on the day the oracle receives them (for every detector, whose clock test
    # reads them against the oracle's), not from a small origin (for exact boundaries), and
    # each witness's RSSI of its own (by default every reception at −110 dBm).
    on_the_day: bool = False
    rssi: Callable[[str], float] = lambda _name: -110.0

    def __post_init__(self) -> None:
        for name in sorted(self.true):
            self.builder.add_hotspot(k(name), *self.asserted.get(name, self.true[name]), 3.0,
                                     self.asserted_at_ms.get(name, 0))

    def beacon(self, beaconer: str, heard_by: list[str], stamp: Stamp = exact,
               emission_late_ns: float = 0.0, datarate: int = 0,
               airtime_ns: float = AIRTIME_NS) -> None:
        """One beacon: its report stamped `airtime_ns` (and `emission_late_ns`) after the
        emission's start, each witness's its true distance over c after that start. Stamps
        are kept as ms from a small origin, so float ms hold them to well under a ns."""
        self.count += 1
        at_ms = T0 + self.count * 600_000
        emitted_ns = (at_ms - 1_000) * 1e6 if self.on_the_day else 1e9 + self.count * 1e7
        src = self.true[beaconer]
        for name in heard_by:
            d = haversine_m(*src, *self.true[name])
            self.builder.add_witness(
                f"b{self.count}".encode(), k(beaconer), k(name), self.rssi(name), 2.0, 14.0, at_ms,
                at_ms + 300, (emitted_ns + airtime_ns + emission_late_ns) / 1e6,
                stamp(name, emitted_ns + d / C_M_PER_NS) / 1e6, datarate=datarate)

    def history(self) -> History:
        return self.builder.build()


def corner(x_asserted: tuple[float, float] = EAST_3KM, *, x_beacons: int = 2,
           helper_beacons: int = 4, x_hears: int = 0, stamp: Stamp = exact) -> Corner:
    """x at the centre asserting `x_asserted`, heard by w1 alone (1 km north) on each of its
    `x_beacons` beacons; h1 beacons `helper_beacons` times, heard by w1 and w2 (and by x on
    the first `x_hears`)."""
    true = {"x": place(0.0, 0.0), "w1": place(0.0, 1_000.0), "h1": place(-2_000.0, 1_000.0),
            "w2": place(2_000.0, 1_000.0)}
    world = Corner(true, {"x": place(*x_asserted)})
    for n in range(helper_beacons):
        world.beacon("h1", ["w1", "w2", "x"] if n < x_hears else ["w1", "w2"], stamp)
    for _ in range(x_beacons):
        world.beacon("x", ["w1"], stamp)
    return world


def flagged(h: History, **changes: float) -> dict[str, dict]:
    params = dataclasses.replace(P, **changes)
    return {f.hotspots[0].rstrip(b"_")[1:].decode(): f.evidence
            for f in arrival.arrival(h, params) if f.detector == "arrival_fit"}


def edges(h: History, **changes: float) -> dict[tuple[str, ...], dict]:
    """The links whose ranges refute their asserted distance, each by its two names."""
    params = dataclasses.replace(P, **changes)
    return {tuple(sorted(key.rstrip(b"_")[1:].decode() for key in f.hotspots)): f.evidence
            for f in arrival.arrival(h, params) if f.detector == "range_refuted"}


def change_ns(world: Corner, a: str, b: str, asserted: tuple[float, float]) -> float:
    """How much farther a's asserted place is from b than where a stands, over c (ns)."""
    return (haversine_m(*place(*asserted), *world.true[b])
            - haversine_m(*world.true[a], *world.true[b])) / C_M_PER_NS


# x's range to w1 at its asserted place: √(3² + 1²) km where it is 1 km: 7.2 µs too far.
RANGE_NS = (math.hypot(3_000.0, 1_000.0) - 1_000.0) / C_M_PER_NS


def test_an_attenuator_heard_by_one_witness_is_found_by_its_range() -> None:
    # Each of x's beacons heard by one witness: no time difference, only the range.
    world = corner()
    assert abs(change_ns(world, "x", "w1", EAST_3KM) - RANGE_NS) < 1
    found = flagged(world.history())
    assert set(found) == {"x"}
    assert found["x"]["tier"] == "ranged"
    assert found["x"]["partners"] == 1
    assert found["x"]["residuals_as_beaconer"] == 2
    assert abs(found["x"]["median_residual_ns_at_asserted"] - RANGE_NS) <= 2
    # One range: somewhere on a circle about w1, at least |q| × c from the asserted place.
    assert found["x"]["fitted_from_asserted_m"] >= RANGE_NS * C_M_PER_NS - 50
    assert found["x"]["median_residual_ns_at_fitted"] <= 200


def test_an_attenuator_hearing_one_beaconer_is_found_by_its_ranges_as_a_witness() -> None:
    # x never beacons; it hears 2 of h1's beacons (h1 2 km west, 1 km north of it).
    world = corner(x_beacons=0, x_hears=2, stamp=concentrator(np.random.default_rng(1)))
    found = flagged(world.history())
    assert set(found) == {"x"}
    assert found["x"]["tier"] == "ranged"
    assert found["x"]["residuals_as_witness"] == 2
    expected = abs(change_ns(world, "x", "h1", EAST_3KM))
    assert abs(found["x"]["median_residual_ns_at_asserted"] - expected) <= 1_000


def test_range_ns_at_its_boundary() -> None:
    # Two ranges (the one-range bar out of the way).
    h = corner().history()
    assert set(flagged(h, range_ns=RANGE_NS - 1, range_one_ns=math.inf)) == {"x"}
    assert flagged(h, range_ns=RANGE_NS + 1, range_one_ns=math.inf) == {}


def test_range_obs_at_its_boundary() -> None:
    # Two beacons heard once each: 2 ranges.
    h = corner().history()
    assert set(flagged(h, range_obs=2, range_one_ns=math.inf)) == {"x"}
    assert flagged(h, range_obs=3, range_one_ns=math.inf) == {}


def test_one_range_is_enough_from_range_one_ns() -> None:
    # One beacon heard once: under range_obs, but its 7.2 µs is past range_one_ns (4 µs).
    h = corner(x_beacons=1).history()
    found = flagged(h)
    assert set(found) == {"x"}
    assert found["x"]["residuals_as_beaconer"] == 1
    assert set(flagged(h, range_one_ns=RANGE_NS - 1)) == {"x"}
    assert flagged(h, range_one_ns=RANGE_NS + 1) == {}


def test_tdoa_vouch_obs_at_its_boundary_for_ranges() -> None:
    # w1 has 4 ranges with hotspots other than x (of h1's beacons; median 0) and 2 with x:
    # it vouches for x with tdoa_vouch_obs 4, not 5 (x's own are not counted), and without a
    # voucher x is not judged.
    h = corner().history()
    assert set(flagged(h, tdoa_vouch_obs=4)) == {"x"}
    assert flagged(h, tdoa_vouch_obs=5) == {}


def test_a_voucher_is_judged_without_the_ranges_it_vouches_on() -> None:
    # x beacons 6 times, each heard by w1 alone (7.2 µs off), and w1 has 4 ranges of h1's
    # beacons (0 µs): with x's, w1's median |q| is past tdoa_residual_ns and it would vouch
    # for no one; without them it is 0, and x is judged on its ranges to w1.
    h = corner(x_beacons=6).history()
    found = flagged(h)
    assert set(found) == {"x"}
    assert found["x"]["tier"] == "ranged"
    assert found["x"]["residuals_as_beaconer"] == 6


def test_a_voucher_must_be_within_tdoa_residual_ns() -> None:
    # w1's stamps all 0.8 µs late (a long cable and more): x's ranges are 0.8 µs shorter, and
    # w1's median |q| over its 6 is 0.8 µs: vouched under a 0.8 µs + 1 ns bar, not at 0.8.
    late = corner(stamp=lambda name, ns: ns + (800.0 if name == "w1" else 0.0)).history()
    assert set(flagged(late, tdoa_residual_ns=801.0)) == {"x"}
    assert flagged(late, tdoa_residual_ns=800.0) == {}


def test_tdoa_far_m_at_its_boundary_for_ranges() -> None:
    # One range explains a circle of places, every one of them at least |q| × c (2,162 m)
    # from the asserted place; the fit lands on one of them.
    h = corner().history()
    fit = next(f for f in arrival.judge(h, P).values() if f.flagged)
    assert fit.far_m >= RANGE_NS * C_M_PER_NS - 50
    assert set(flagged(h, tdoa_far_m=fit.far_m)) == {"x"}
    assert flagged(h, tdoa_far_m=fit.far_m + 0.01) == {}


def test_range_timed_share_at_its_boundary() -> None:
    # x honest where it says, but its beacon reports stamped by a host clock, not on GPS
    # time: of its 10 beacons, 4 stamped 20 µs before the emission's end (inside the light
    # time of tdoa_search_m, as an unlucky host clock may be), 6 ms after. Judged on the
    # four (a place 6 km farther from w1 explains them) only when 4 in 10 of its ranges as
    # a beaconer within that light time is enough: at range_timed_share 0.4, flagged; past
    # it (and at the default 0.5), blind.
    true = {"x": place(0.0, 0.0), "w1": place(0.0, 1_000.0), "h1": place(-2_000.0, 1_000.0),
            "w2": place(2_000.0, 1_000.0)}
    world = Corner(true)
    for _ in range(12):  # the network's usual offset is the honest majority's
        world.beacon("h1", ["w1", "w2"])
    for n in range(10):
        world.beacon("x", ["w1"], emission_late_ns=-20_000.0 if n < 4 else 3e6 + 1e5 * n)
    h = world.history()
    assert set(flagged(h, range_timed_share=0.4)) == {"x"}
    assert flagged(h, range_timed_share=0.41) == {}
    assert flagged(h) == {}


def test_the_light_time_of_tdoa_search_m_bounds_the_ranges() -> None:
    # x's ranges are 7.2 µs off: kept when tdoa_search_m reaches that far (2,163 m), left out
    # (a clock, not a place) when it does not.
    h = corner().history()
    reach_m = RANGE_NS * C_M_PER_NS
    assert set(flagged(h, tdoa_search_m=reach_m + 1)) == {"x"}
    assert flagged(h, tdoa_search_m=reach_m - 1) == {}


def test_each_datarate_has_its_own_usual_offset() -> None:
    # Beacons of a faster rate (0.4 s on air, DataRate 3) beside the SF12 ones: their stamps'
    # offset is their own, and x is found among honest hotspots of both.
    world = corner(helper_beacons=0)
    for n in range(8):
        world.beacon("h1", ["w1", "w2"], datarate=3 if n % 2 else 0,
                     airtime_ns=411_648_000.0 if n % 2 else AIRTIME_NS)
    world.beacon("w2", ["w1", "h1"], datarate=3, airtime_ns=411_648_000.0)
    found = flagged(world.history())
    assert set(found) == {"x"}
    assert abs(found["x"]["median_residual_ns_at_asserted"] - RANGE_NS) <= 2


def test_a_quiet_rural_hotspot_where_it_says_is_not_flagged() -> None:
    # x where it says, beaconing twice, heard by w1 alone, with a concentrator's stamps.
    for seed in range(5):
        world = corner((0.0, 0.0), stamp=concentrator(np.random.default_rng(seed)))
        assert flagged(world.history()) == {}, seed


def test_a_long_cable_is_not_flagged() -> None:
    # x where it says behind 100 m of coax (velocity factor 0.66: ~0.5 µs): its emission
    # leaves the antenna 0.5 µs after its stamp, and it stamps receptions 0.5 µs late.
    rng = np.random.default_rng(2)
    base = concentrator(rng)
    cable = 505.0
    world = corner((0.0, 0.0), x_hears=4, helper_beacons=8, x_beacons=0,
                   stamp=lambda name, ns: base(name, ns + (cable if name == "x" else 0.0)))
    for _ in range(4):
        world.count += 1
        emitted = 1e9 + world.count * 1e7
        d = haversine_m(*world.true["x"], *world.true["w1"])
        world.builder.add_witness(f"b{world.count}".encode(), k("x"), k("w1"), -110.0, 2.0,
                                  14.0, T0 + world.count * 600_000,
                                  T0 + world.count * 600_000 + 300, (emitted + AIRTIME_NS) / 1e6,
                                  base("w1", emitted + cable + d / C_M_PER_NS) / 1e6)
    assert flagged(world.history()) == {}


def test_a_single_channel_radio_is_not_flagged() -> None:
    # x where it says stamps as a single-channel radio on GPS time (σ 1 µs), the others as
    # concentrators: 2 beacons and 2 receptions, over 30 draws; and one beacon heard once
    # (the one-range bar), x and w1 both single-channel radios, over 100 draws.
    for seed in range(30):
        rng = np.random.default_rng(100 + seed)

        def stamp(name: str, ns: float, rng: np.random.Generator = rng) -> float:
            return round((ns + rng.normal(0, 1_000 if name == "x" else 100)) / 1_000) * 1_000

        world = corner((0.0, 0.0), x_hears=2, stamp=stamp)
        assert flagged(world.history()) == {}, seed
    for seed in range(100):
        rng = np.random.default_rng(1_000 + seed)

        def both(name: str, ns: float, rng: np.random.Generator = rng) -> float:
            return round((ns + rng.normal(0, 1_000 if name in ("x", "w1") else 100))
                         / 1_000) * 1_000

        world = corner((0.0, 0.0), x_beacons=1, stamp=both)
        assert flagged(world.history()) == {}, seed


def test_a_hotspot_that_moved_and_re_asserted_is_not_flagged() -> None:
    # x stood 3 km east until noon of day 1, then moved and re-asserted where it now stands:
    # its morning's ranges would place it 3 km off; they are not judged.
    moved_at = T0 + 12 * 3_600_000
    true = {"x": place(*EAST_3KM), "w1": place(0.0, 1_000.0), "h1": place(-2_000.0, 1_000.0),
            "w2": place(2_000.0, 1_000.0)}
    world = Corner(dict(true), {"x": place(0.0, 0.0)}, {"x": moved_at})
    for _ in range(4):
        world.beacon("h1", ["w1", "w2"])
    for _ in range(3):  # the morning, from 3 km east
        world.beacon("x", ["w1"])
    assert T0 + world.count * 600_000 < moved_at
    world.count = 12 * 6  # noon
    world.true["x"] = place(0.0, 0.0)
    for _ in range(4):
        world.beacon("h1", ["w1", "w2"])
    for _ in range(3):
        world.beacon("x", ["w1"])
    assert flagged(world.history()) == {}


def test_one_voucher_stamping_late_places_both_itself_and_its_victim() -> None:
    # x where it says, heard on its own beacons by three vouched partners (each ranged with
    # h1 too): w1 on 6 of them, stamping each 7 µs late, w2 and w3 on 2 each, exactly. 6 of
    # x's 10 ranges are 7 µs off, and a place on w1's circle explains the median of them
    # all: x is placed there, a hole (docs/security.md, "Neighbours, through the detectors").
    # The lie lands on the liar too: x vouches for w1 by its other ranges, and w1's two
    # vouchers' circles meet elsewhere.
    true = {"x": place(0.0, 0.0), "w1": place(0.0, 1_000.0), "w2": place(1_000.0, -500.0),
            "w3": place(-1_000.0, -500.0), "h1": place(-2_000.0, 1_000.0)}
    world = Corner(true)
    for _ in range(6):
        world.beacon("h1", ["w1", "w2", "w3"])
    for _ in range(6):
        world.beacon("x", ["w1"], lambda _name, ns: ns + 7_000.0)
    for name in ("w2", "w3", "w2", "w3"):
        world.beacon("x", [name])
    assert set(flagged(world.history())) == {"w1", "x"}


def lone_pair(beacons: int) -> History:
    """x where it says, heard only by l, which stands 1 km north of x and asserts a place 3 km
    further north, and hears nothing else: `beacons` of x's, each heard once by l. An honest
    pair 20 km west (h1 heard by w2, 2 km apart, 8 times) sets the datarate's usual offset."""
    true = {"x": place(0.0, 0.0), "l": place(0.0, 1_000.0), "h1": place(-20_000.0, 0.0),
            "w2": place(-20_000.0, 2_000.0)}
    world = Corner(true, {"l": place(0.0, 4_000.0)})
    for _ in range(8):
        world.beacon("h1", ["w2"])
    for _ in range(beacons):
        world.beacon("x", ["l"])
    return world.history()


# The pair's ranges: they stand 3 km nearer each other than they assert (1 km, not 4).
LONE_NS = 3_000.0 / C_M_PER_NS


def test_an_honest_hotspot_whose_only_partner_lies_is_not_flagged() -> None:
    # l is off with its only partner, so it vouches for no one, and which of the two lies is
    # not in the evidence: neither is flagged, and the link between them pays neither.
    h = lone_pair(6)
    assert flagged(h) == {}
    found = edges(h)
    assert list(found) == [("l", "x")]
    assert found[("l", "x")]["ranges"] == 6
    assert abs(found[("l", "x")]["median_abs_range_offset_ns"] - LONE_NS) <= 1
    assert found[("l", "x")]["median_range_offset_m"] == -3_000
    assert found[("l", "x")]["asserted_distance_m"] == 4_000


def test_a_pair_s_ranges_refute_its_link_from_range_ns() -> None:
    # Two ranges (the one-range bar out of the way), each the pair's 3 km over c.
    h = lone_pair(2)
    assert list(edges(h, range_ns=LONE_NS - 1, range_one_ns=math.inf)) == [("l", "x")]
    assert edges(h, range_ns=LONE_NS + 1, range_one_ns=math.inf) == {}
    assert edges(h, range_obs=3, range_one_ns=math.inf) == {}


def test_one_range_refutes_a_link_from_range_one_ns() -> None:
    h = lone_pair(1)
    assert list(edges(h, range_one_ns=LONE_NS - 1)) == [("l", "x")]
    assert edges(h, range_one_ns=LONE_NS + 1) == {}


def test_a_flagged_hotspot_s_links_are_not_refuted_again() -> None:
    # The ranged attenuator of the sparse corner is flagged itself: its link with its
    # voucher is not an edge finding as well (the hotspot's entry already covers it).
    h = corner().history()
    assert set(flagged(h)) == {"x"}
    assert edges(h) == {}


def test_a_hotspot_stamping_a_few_us_off_refutes_no_link() -> None:
    # x where it says stamps its beacon reports 5 µs early (a delay its radio misreports):
    # every range of its beacons, heard by w1 and w2 (each ranged with h1 too), is 5 µs off,
    # past range_ns, but no pair stands alone; and as both witnesses are off alike, its time
    # differences place it where it says.
    world = corner((0.0, 0.0), helper_beacons=6, x_beacons=0)
    for _ in range(6):
        world.beacon("x", ["w1", "w2"], emission_late_ns=-5_000.0)
    h = world.history()
    assert flagged(h) == {}
    assert edges(h) == {}
    # Alone with one of them, the same pair is refuted (it cannot be told from a lie).
    assert list(edges(lone_pair(6))) == [("l", "x")]


def two_lone(x_asserted: tuple[float, float] = EAST_3KM,
             asserted: dict[str, tuple[float, float]] | None = None,
             beacons: tuple[int, int] = (3, 3), w1_beacons: int = 0) -> History:
    """x, asserting `x_asserted`, heard by l1 (1 km north of it) and by l2 (1 km south), each
    on beacons of its own (`beacons`), neither hearing anyone else; l1 and l2 assert
    `asserted` (where they stand by default). An honest pair 20 km west sets the datarate's
    usual offset; with `w1_beacons`, x is heard by w1 too (1 km west), which ranges with the
    pair's beaconer as well (vouched)."""
    true = {"x": place(0.0, 0.0), "l1": place(0.0, 1_000.0), "l2": place(0.0, -1_000.0),
            "h1": place(-20_000.0, 0.0), "w2": place(-20_000.0, 2_000.0),
            "w1": place(-1_000.0, 0.0)}
    world = Corner(true, {"x": place(*x_asserted)} | (asserted or {}))
    for _ in range(8):
        world.beacon("h1", ["w2", "w1"] if w1_beacons else ["w2"])
    for name, count in zip(("l1", "l2"), beacons, strict=True):
        for _ in range(count):
            world.beacon("x", [name])
    for _ in range(w1_beacons):
        world.beacon("x", ["w1"])
    return world.history()


def test_an_attenuator_two_lone_partners_refute_alike_is_flagged() -> None:
    # Each of x's two partners hears no one else, and each pair alone would only lose its
    # link; but both say x stands elsewhere, and one place (where it stands: the two 1 km
    # circles about them touch there) explains both: x is the one lying.
    h = two_lone()
    found = flagged(h)
    assert set(found) == {"x"}
    assert found["x"]["tier"] == "crossed"
    assert found["x"]["partners"] == 2
    assert found["x"]["fitted_from_asserted_m"] >= 2_000
    assert edges(h) == {}


def test_range_crossed_partners_at_its_boundary() -> None:
    h = two_lone()
    assert set(flagged(h, range_crossed_partners=2)) == {"x"}
    assert flagged(h, range_crossed_partners=3) == {}
    assert set(edges(h, range_crossed_partners=3)) == {("l1", "x"), ("l2", "x")}


def test_an_honest_hotspot_two_lone_liars_disagree_on_is_not_flagged() -> None:
    # x where it says; l1 asserts 3 km further north, l2 3 km further south: each says x is
    # 3 km nearer it than asserted, and no one place is both. With most of the ranges l1's,
    # a median over them all would place x by l1 alone: each partner's must be explained.
    h = two_lone((0.0, 0.0), {"l1": place(0.0, 4_000.0), "l2": place(0.0, -4_000.0)},
                 beacons=(5, 2))
    assert flagged(h) == {}
    assert set(edges(h)) == {("l1", "x"), ("l2", "x")}


def test_tdoa_fitted_ns_at_its_boundary_for_two_lone_partners() -> None:
    # Two liars that disagree: l1 puts x on a circle of 1 km about (0, 4 km), l2 on one of
    # 1 km about (2 km, -1 km), 5.4 km apart; the place nearest both (~1.8 km from x) is
    # ~1.7 km from each circle, and the farther off partner's median there is what
    # tdoa_fitted_ns bounds (tdoa_explained out of the way: ~0.56 of the asserted place's).
    h = two_lone((0.0, 0.0), {"l1": place(0.0, 4_000.0), "l2": place(2_000.0, -1_000.0)})
    none = np.zeros(len(h.hotspots), dtype=bool)
    x = list(h.hotspots.keys).index(k("x"))
    fit = Ranges(h, P).fit(x, none, ~none, tier="crossed")
    assert abs(fit.fitted_ns * C_M_PER_NS - (math.hypot(2_000.0, 5_000.0) - 2_000.0) / 2) < 50
    assert set(flagged(h, tdoa_fitted_ns=fit.fitted_ns, tdoa_explained=1.0)) == {"x"}
    assert flagged(h, tdoa_fitted_ns=fit.fitted_ns - 1, tdoa_explained=1.0) == {}


def test_two_lone_liars_agreeing_do_not_outweigh_a_vouched_partner() -> None:
    # l1 and l2 assert places that put x 3 km east (each 1 km from there, as far as it
    # truly is from x): alone they would frame it. w1, which ranges with others, hears x
    # where it says, and that place must explain w1's ranges too.
    liars = {"l1": place(3_000.0, 1_000.0), "l2": place(3_000.0, -1_000.0)}
    assert set(flagged(two_lone((0.0, 0.0), liars))) == {"x"}
    h = two_lone((0.0, 0.0), liars, w1_beacons=3)
    assert flagged(h) == {}
    assert set(edges(h)) == {("l1", "x"), ("l2", "x")}


def test_a_quiet_rural_pair_where_they_say_is_no_refuted_link() -> None:
    # x and l where they say, with a concentrator's stamps (σ 100 ns, then the µs), and with
    # a single-channel radio's (σ 1 µs): 6 beacons, then 1, over many draws.
    true = {"x": place(0.0, 0.0), "l": place(0.0, 1_000.0)}
    for seed in range(100):
        rng = np.random.default_rng(2_000 + seed)
        sigma = 100 if seed % 2 else 1_000

        def stamp(_name: str, ns: float, rng: np.random.Generator = rng,
                  sigma: float = sigma) -> float:
            return round((ns + rng.normal(0, sigma)) / 1_000) * 1_000

        world = Corner(dict(true) | {"h1": place(-20_000.0, 0.0), "w2": place(-20_000.0, 2_000.0)})
        for _ in range(8):
            world.beacon("h1", ["w2"], stamp)
        for _ in range(6 if seed < 50 else 1):
            world.beacon("x", ["l"], stamp)
        assert edges(world.history()) == {}, seed


def test_clocks_off_by_ms_are_not_judged_and_do_not_frame() -> None:
    # Every report of x, as beaconer and as witness, on a host clock a few ms off: x is
    # left out, and so are its ranges against the others.
    rng = np.random.default_rng(3)
    world = corner((0.0, 0.0), x_hears=4, helper_beacons=8, x_beacons=0,
                   stamp=lambda name, ns: ns + (rng.uniform(2e6, 9e6) if name == "x" else 0.0))
    for _ in range(4):
        world.beacon("x", ["w1"], emission_late_ns=float(rng.uniform(2e6, 9e6)))
    assert flagged(world.history()) == {}


def test_a_partner_found_for_what_it_reports_still_vouches_for_ranges() -> None:
    # w1, x's only partner, reports every reception at one RSSI (witness stuffing): found by
    # `constant` before `arrival` runs. Its place is not in doubt, and its stamps are on GPS
    # time: x is still judged on its range to w1 (arrival is read without the links of
    # hotspots whose places are in doubt, not of every hotspot found).
    rng = np.random.default_rng(5)
    true = {"x": place(0.0, 0.0), "w1": place(0.0, 1_000.0), "h1": place(-2_000.0, 1_000.0),
            "w2": place(2_000.0, 1_000.0)}
    world = Corner(true, {"x": place(*EAST_3KM)}, on_the_day=True,
                   rssi=lambda name: -100.0 if name == "w1" else float(rng.normal(-110, 4)))
    for _ in range(8):
        world.beacon("h1", ["w1", "w2"], concentrator(rng))
    for _ in range(2):
        world.beacon("x", ["w1"], concentrator(rng))
    found = {f.hotspots[0].rstrip(b"_")[1:].decode(): f for f in detect(world.history())}
    assert found["w1"].detector == "signal_constant"
    assert found["x"].detector == "arrival_fit"
    assert found["x"].evidence["tier"] == "ranged"


def near_corner(stamp: Stamp = exact, x_asserted: tuple[float, float] = (-780.0, -780.0),
                x_beacons: int = 4, far_m: float = 5_000.0) -> Corner:
    """x at the centre asserting a place 1.1 km south-west (`x_asserted`), its beacons heard by
    w1 (`far_m` north) and w2 (`far_m` east) alike: both asserted distances 832 m too long, so
    its time differences are 0 and each range is 2.8 µs off, under range_ns. w1 and w2 are
    vouched for by h1's 12 beacons (h1 north-east of both; the network's usual offset is
    the honest majority's)."""
    true = {"x": place(0.0, 0.0), "w1": place(0.0, far_m), "w2": place(far_m, 0.0),
            "h1": place(far_m, far_m)}
    world = Corner(true, {"x": place(*x_asserted)})
    for _ in range(12):
        world.beacon("h1", ["w1", "w2"], stamp)
    for _ in range(x_beacons):
        world.beacon("x", ["w1", "w2"], stamp)
    return world


# Each of x's ranges to w1 and w2 in near_corner: √(0.78² + 5.78²) km where it is 5 km.
NEAR_NS = (math.hypot(780.0, 5_780.0) - 5_000.0) / C_M_PER_NS


def test_many_ranges_a_little_off_are_enough_from_range_many_ns() -> None:
    # 8 ranges, each 2.8 µs off: under range_ns (3 µs), past range_many_ns (2 µs) (and
    # range_some_ns, out of the way at the boundary); the two partners pin the place (two
    # circles meet where x stands, 1.1 km from the asserted one).
    world = near_corner()
    assert abs(change_ns(world, "x", "w1", (-780.0, -780.0)) - NEAR_NS) < 1
    assert NEAR_NS < P.range_ns
    h = world.history()
    found = flagged(h)
    assert set(found) == {"x"}
    assert found["x"]["tier"] == "ranged"
    assert found["x"]["residuals_as_beaconer"] == 8
    assert abs(found["x"]["fitted_from_asserted_m"] - math.hypot(780.0, 780.0)) <= 50
    assert set(flagged(h, range_many_ns=NEAR_NS - 1, range_some_ns=math.inf)) == {"x"}
    assert flagged(h, range_many_ns=NEAR_NS + 1, range_some_ns=math.inf) == {}


def test_range_many_obs_at_its_boundary() -> None:
    h = near_corner().history()
    assert set(flagged(h, range_many_obs=8, range_some_ns=math.inf)) == {"x"}
    assert flagged(h, range_many_obs=9, range_some_ns=math.inf) == {}
    assert flagged(near_corner(x_beacons=3).history(), range_some_ns=math.inf) == {}


def test_some_ranges_a_little_off_are_enough_from_range_some_ns() -> None:
    # 4 ranges (2 beacons heard by w1 and w2), each 2.8 µs off: under range_ns, too few for
    # range_many_obs, past range_some_ns (2.5 µs).
    h = near_corner(x_beacons=2).history()
    assert NEAR_NS >= P.range_some_ns and P.range_some_obs == 4 < P.range_many_obs
    found = flagged(h)
    assert set(found) == {"x"}
    assert found["x"]["residuals_as_beaconer"] == 4
    assert set(flagged(h, range_some_ns=NEAR_NS - 1)) == {"x"}
    assert flagged(h, range_some_ns=NEAR_NS + 1) == {}


def test_range_some_obs_at_its_boundary() -> None:
    h = near_corner(x_beacons=2).history()
    assert set(flagged(h, range_some_obs=4)) == {"x"}
    assert flagged(h, range_some_obs=5) == {}
    assert flagged(near_corner(x_beacons=1).history()) == {}


def test_a_single_channel_radio_with_many_ranges_is_not_flagged() -> None:
    # x where it says, stamping as a single-channel radio (σ 1 µs, then the µs), its 4
    # beacons heard by w1 and w2 and their ranges 8: over 200 draws (the median of 8 such
    # |q| reaches 2 µs ~5 times in 10⁵).
    for seed in range(200):
        rng = np.random.default_rng(2_000 + seed)

        def stamp(name: str, ns: float, rng: np.random.Generator = rng) -> float:
            return round((ns + rng.normal(0, 1_000 if name == "x" else 100)) / 1_000) * 1_000

        world = near_corner(stamp, x_asserted=(0.0, 0.0))
        assert flagged(world.history()) == {}, seed
        # ... and 2 beacons, 4 ranges (their median reaches 2.5 µs ~6 times in 10⁵).
        world = near_corner(stamp, x_asserted=(0.0, 0.0), x_beacons=2)
        assert flagged(world.history()) == {}, seed


def test_a_rooftop_hearing_far_with_many_ranges_is_not_flagged() -> None:
    # x where it says, heard 15 km away by w1 and w2 (a high antenna), 8 ranges on
    # concentrators' stamps.
    world = near_corner(concentrator(np.random.default_rng(7)), x_asserted=(0.0, 0.0),
                        far_m=15_000.0)
    assert flagged(world.history()) == {}


def test_a_voucher_spoiled_by_an_attenuator_found_first_vouches_again() -> None:
    # w hears 4 of h1's beacons (0 µs) and 5 of y's (9 µs: y, 3 km east of where it stands,
    # is found by its ranges to v and w), and x (3 km south) beacons twice to w alone. Without
    # x's, w's ranges have a median of 9 µs: it vouches for no one until y's are left out,
    # once y is found; then 4 of its own vouch for x.
    true = {"h1": place(-2_000.0, 0.0), "v": place(0.0, 2_000.0), "w2": place(2_000.0, 0.0),
            "w": place(0.0, 0.0), "y": place(1_000.0, 1_000.0), "x": place(0.0, -1_000.0)}
    world = Corner(true, {"y": place(4_000.0, 1_000.0), "x": place(0.0, -4_000.0)})
    for n in range(12):
        world.beacon("h1", ["v", "w2", "w"] if n < 4 else ["v", "w2"])
    for n in range(8):
        world.beacon("y", ["w"] if n < 5 else ["v"])
    for _ in range(2):
        world.beacon("x", ["w"])
    found = flagged(world.history())
    assert set(found) == {"x", "y"}
    assert found["x"]["tier"] == found["y"]["tier"] == "ranged"
