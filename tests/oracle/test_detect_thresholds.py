"""Every detector's threshold, exactly at its boundary, on the smallest history that shows it.

Expected values come from the thresholds' definitions in oracle/detect/model.py (DetectParams),
read as the rules they state: "≥ relay_ms late", "std < constant_rssi_std_db", and so on."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from detect_world import key as k
from detect_world import offset

from oracle.detect import asymmetry, gps, replay, shared, signal, timing
from oracle.detect.arrival_fit import C_M_PER_NS
from oracle.detect.history import M_PER_DEG, History, HistoryBuilder
from oracle.detect.model import DEFAULT_PARAMS

T0 = 1_760_000_000_000
P = DEFAULT_PARAMS
SOURCES = ("a", "b", "c")  # beaconers heard by a shared antenna's keys



def builder(*names: str, one_place: tuple[str, ...] = ()) -> HistoryBuilder:
    """Hotspots 1.1 km apart, north to south; those of `one_place` asserted where the first
    of them is."""
    b = HistoryBuilder(T0, T0 + 86_400_000)
    for i, name in enumerate(names):
        at = names.index(one_place[0]) if name in one_place else i
        b.add_hotspot(k(name), 52.0 + at * 0.01, 5.0)
    return b


def witness(b: HistoryBuilder, n: int, beaconer: str, hears: str, *, rssi: float = -100.0,
            snr: float = 5.0, lag_ms: float = 0.0, clock_ms: float = 0.0, tx: float = 14.0,
            beacon: str | None = None) -> None:
    at = T0 + n * 3_600_000
    b.add_witness((beacon or f"{beaconer}{n}").encode(), k(beaconer), k(hears), rssi, snr, tx,
                  at + 300, at + 500, float(at), at + lag_ms + clock_ms)


def flagged(findings: list) -> set[str]:
    return {key.rstrip(b"_")[1:].decode() for f in findings for key in f.hotspots}


def _relayed(lag_ms: float, late: int, on_time: int = 0) -> History:
    """Beacons of "a" heard by "h" on time and by "r": `late` of them `lag_ms` after "h",
    `on_time` of them with "h"."""
    b = builder("a", "h", "r")
    for n in range(late + on_time):
        witness(b, n, "a", "h")
        witness(b, n, "a", "r", lag_ms=lag_ms if n < late else 0.0)
    return b.build()


@pytest.mark.parametrize(("lag_ms", "found"), [(P.relay_ms, True), (P.relay_ms - 0.01, False)])
def test_relay_at_its_boundary(lag_ms: float, found: bool) -> None:
    assert (flagged(timing.relay(_relayed(lag_ms, P.min_timed), P)) == {"r"}) is found


def test_relay_needs_min_timed_late_reports() -> None:
    assert timing.relay(_relayed(P.relay_ms * 2, P.min_timed - 1), P) == []


@pytest.mark.parametrize(("on_time", "found"), [(27, True), (28, False)])
def test_relay_share_at_its_boundary(on_time: int, found: bool) -> None:
    """3 late of 30 reports is `relay_share` (10 %); 3 of 31 is below it."""
    assert (flagged(timing.relay(_relayed(P.relay_ms * 2, 3, on_time), P)) == {"r"}) is found


def test_a_beaconer_clock_or_stamp_convention_is_no_relay() -> None:
    """Every witness 2.5 s 'before' the beacon's time (it is stamped after a long SF12
    transmission): judged against each other, nobody is late."""
    b = builder("a", "h", "r")
    for n in range(5):
        witness(b, n, "a", "h", lag_ms=-2_466.0)
        witness(b, n, "a", "r", lag_ms=-2_466.0)
    assert timing.relay(b.build(), P) == []


def _copied(copies: int, partner_only: int = 0, lag_ms: float = 2 * P.relay_ms,
            partner_clock_ms: float = 0.0) -> History:
    """"r" reports 40 receptions of its own (beacons of "z") and `copies` of "p"'s receptions
    of "a"'s beacons: the same RSSI and SNR, `lag_ms` after "p" (3 late of 43 is under
    relay_share). "p" also reports `partner_only` beacons that "r" does not copy."""
    b = builder("a", "p", "r", "z")
    for n in range(copies):
        rssi, snr = -100.0 - n, 5.0 + n / 10
        witness(b, n, "a", "p", rssi=rssi, snr=snr, clock_ms=partner_clock_ms)
        witness(b, n, "a", "r", rssi=rssi, snr=snr, lag_ms=lag_ms)
    for n in range(40):
        witness(b, 100 + n, "z", "r", rssi=-90.0 - n % 7)
    for n in range(partner_only):
        witness(b, 200 + n, "z", "p", rssi=-120.0)
    return b.build()


@pytest.mark.parametrize(("copies", "found"), [(P.min_timed, True), (P.min_timed - 1, False)])
def test_relay_copies_at_min_timed(copies: int, found: bool) -> None:
    assert flagged(timing.relay(_copied(copies), P)) == ({"r"} if found else set())


@pytest.mark.parametrize(("partner_only", "found"), [(3, True), (4, False)])
def test_relay_copies_share_at_its_boundary(partner_only: int, found: bool) -> None:
    """3 copies of the 6 beacons the quieter one ("p") reported is copy_share (50 %); of 7,
    below it."""
    history = _copied(P.min_timed, partner_only)
    assert flagged(timing.relay(history, P)) == ({"r"} if found else set())


@pytest.mark.parametrize(("lag_ms", "found"), [(P.relay_ms, True), (P.relay_ms - 0.01, False),
                                               (0.0, False)])
def test_relay_copies_lag_at_its_boundary(lag_ms: float, found: bool) -> None:
    """A copy relay_ms after the original names its reporter the copier; closer, the two
    are not told apart (at 0: one instant, one antenna, which is shared.py's finding)."""
    assert flagged(timing.relay(_copied(P.min_timed, lag_ms=lag_ms), P)) == (
        {"r"} if found else set())


def test_relay_copies_of_a_partner_whose_clock_is_off() -> None:
    """The partner's clock is 5 h off: no lag to compare, and the relay's copies are the
    only plausibly timed receptions of their beacons. The copier is the one that reports
    receptions of its own besides."""
    history = _copied(P.min_timed, partner_clock_ms=5 * 3_600_000)
    assert flagged(timing.relay(history, P)) == {"r"}
    assert flagged(timing.clock(history, P)) == {"p"}


@pytest.mark.parametrize(("offset_ms", "found"),
                         [(P.clock_offset_ms, True), (P.clock_offset_ms - 0.01, False),
                          (-P.clock_offset_ms, True)])
def test_clock_offset_at_its_boundary(offset_ms: float, found: bool) -> None:
    b = builder("a", "c")
    for n in range(P.min_timed):
        # The witness's own time against the oracle's receive time (T0 + n h + 500 ms).
        witness(b, n, "a", "c", clock_ms=500 + offset_ms)
    assert ("c" in flagged(timing.clock(b.build(), P))) is found


def _two_way(offset_db: float) -> History:
    """Hotspot x hears three partners `offset_db` stronger than each of them hears x."""
    b = builder("x", "p", "q", "s")
    for n, partner in enumerate(("p", "q", "s")):
        witness(b, n, partner, "x", rssi=-100.0 + offset_db)
        witness(b, n, "x", partner, rssi=-100.0, beacon=f"x{n}")
    return b.build()


@pytest.mark.parametrize(("offset_db", "found"),
                         [(P.asymmetry_db, True), (P.asymmetry_db - 0.01, False),
                          (-P.asymmetry_db, True)])
def test_asymmetry_at_its_boundary(offset_db: float, found: bool) -> None:
    assert ("x" in flagged(asymmetry.asymmetry(_two_way(offset_db), P))) is found


def _inflators_among_inflators(honest_left: int) -> History:
    """i0 and i1 inflate by 15 dB, x by 10 (past asymmetry_db, under asymmetry_vouched_db).
    i0 and i1 each pair with three honest hotspots and with x; x pairs with i0, i1 (offset
    −5 dB: both inflate) and `honest_left` honest ones."""
    assert P.asymmetry_db <= 10.0 < P.asymmetry_vouched_db
    honest = [f"h{j}" for j in range(honest_left)] + [f"u{j}" for j in range(6)]
    b = builder("x", "i0", "i1", *honest)
    pairs = [("x", "i0"), ("x", "i1")] + [("x", f"h{j}") for j in range(honest_left)] + [
        (f"i{j // 3}", f"u{j}") for j in range(6)]
    for n, (liar, partner) in enumerate(pairs):
        witness(b, n, partner, liar, rssi=-100.0 + (10.0 if liar == "x" else 15.0))
        witness(b, n, liar, partner, rssi=-100.0 + (15.0 if partner.startswith("i") else 0.0),
                beacon=f"{liar}{partner}{n}")
    return b.build()


@pytest.mark.parametrize(("honest_left", "found"), [(P.min_pairs_left, True),
                                                    (P.min_pairs_left - 1, False)])
def test_asymmetry_min_pairs_left_at_its_boundary(honest_left: int, found: bool) -> None:
    """x's median over all its pairs is under asymmetry_db (half of them with inflators like
    itself): not flagged. The inflators are found first by their honest pairs; x, judged
    again without its pairs with them, is found with min_pairs_left pairs left. (Its pairs
    with them, less their +15 dB, give its own 10 dB: under asymmetry_vouched_db.)"""
    flags = flagged(asymmetry.asymmetry(_inflators_among_inflators(honest_left), P))
    assert {"i0", "i1"} <= flags
    assert ("x" in flags) is found


def _one_pair(offset_db: float, near: int = 1, far: int = 0) -> History:
    """x has one two-way pair, with p, and hears p `offset_db` stronger than p hears x. p's
    other pairs: `near` with offset 0, `far` where p hears 15 dB stronger (each partner of
    p pairs with p alone). SNRs rise with the RSSIs (as an inflator raising both would
    report them): no one's noise floor is raised, and no one is judged by all pairs at once
    (test_detect_asymmetry.py)."""
    others = [f"q{j}" for j in range(near)] + [f"r{j}" for j in range(far)]
    b = builder("x", "p", *others)
    pairs = [("x", "p", offset_db)] + [("p", o, 15.0 if o[0] == "r" else 0.0) for o in others]
    for n, (hearer, partner, db) in enumerate(pairs):
        witness(b, n, partner, hearer, rssi=-100.0 + db, snr=5.0 + db)
        witness(b, n, hearer, partner, rssi=-100.0, beacon=f"{hearer}{partner}{n}")
    return b.build()


@pytest.mark.parametrize(("offset_db", "found"),
                         [(P.asymmetry_vouched_db, True), (P.asymmetry_vouched_db - 0.01, False),
                          (-2 * P.asymmetry_vouched_db, False)])
def test_asymmetry_with_a_reciprocal_partner_at_its_boundary(offset_db: float,
                                                             found: bool) -> None:
    """One pair, fewer than min_pairs, with a partner whose other pair is reciprocal: x's
    offset is its own, judged past asymmetry_vouched_db. Only hearing stronger than it is
    heard (what a witness can inflate): heard stronger, x may be the honest partner of an
    inflator no one has found (those need min_pairs)."""
    assert flagged(asymmetry.asymmetry(_one_pair(offset_db), P)) == ({"x"} if found else set())


def test_asymmetry_needs_a_partner_with_another_pair() -> None:
    """p pairs with x alone: which of the two inflates is not in the evidence."""
    assert flagged(asymmetry.asymmetry(_one_pair(15.0, near=0), P)) == set()


@pytest.mark.parametrize(("near", "far", "found"), [(2, 1, True), (1, 1, False)])
def test_a_reciprocal_partner_needs_most_of_its_other_pairs_near(near: int, far: int,
                                                                 found: bool) -> None:
    """p's other pairs within asymmetry_db: more than half of them, or p's word is no
    better than x's."""
    assert ("x" in flagged(asymmetry.asymmetry(_one_pair(15.0, near, far), P))) is found


def _with_a_found_liar(inflate_db: float) -> History:
    """i inflates by 15 dB among three honest partners (u0–u2: found by its median); x pairs
    with i alone and inflates by `inflate_db`: x hears i that much stronger than it is, i
    hears x 15 dB stronger."""
    b = builder("x", "i", "u0", "u1", "u2")
    pairs = [("x", "i", inflate_db, 15.0)] + [("i", f"u{j}", 15.0, 0.0) for j in range(3)]
    for n, (hearer, partner, heard_db, back_db) in enumerate(pairs):
        witness(b, n, partner, hearer, rssi=-100.0 + heard_db)
        witness(b, n, hearer, partner, rssi=-100.0 + back_db, beacon=f"{hearer}{partner}{n}")
    return b.build()


@pytest.mark.parametrize(("inflate_db", "found"), [(P.asymmetry_vouched_db, True),
                                                   (P.asymmetry_vouched_db - 0.01, False),
                                                   (0.0, False)])
def test_asymmetry_with_a_found_liar_at_its_boundary(inflate_db: float, found: bool) -> None:
    """x's one pair is with an inflator found first: its raw offset is x's inflation less
    i's (both inflate: about 0), and less i's own offset (its median, +15 dB) it is x's own,
    judged past asymmetry_vouched_db as with a reciprocal partner. At 0, x is the honest
    partner of an inflator: not flagged."""
    flags = flagged(asymmetry.asymmetry(_with_a_found_liar(inflate_db), P))
    assert flags == ({"i", "x"} if found else {"i"})


@pytest.mark.parametrize(("own_pairs", "found"), [(P.min_pairs - 1, True), (P.min_pairs, False)])
def test_a_found_liar_pair_counts_only_without_min_pairs_of_its_own(own_pairs: int,
                                                                     found: bool) -> None:
    """x's pair with the found inflator i reads 13 dB past i's own offset; x also pairs with
    `own_pairs` honest hotspots (h0…), heard both ways alike. With min_pairs of those its own
    pairs judge it (0 dB: not flagged), however loud one pair with a liar."""
    names = [f"h{j}" for j in range(own_pairs)]
    b = builder("x", "i", "u0", "u1", "u2", *names)
    pairs = ([("x", "i", 13.0, 15.0)] + [("i", f"u{j}", 15.0, 0.0) for j in range(3)]
             + [("x", h, 0.0, 0.0) for h in names])
    for n, (hearer, partner, heard_db, back_db) in enumerate(pairs):
        witness(b, n, partner, hearer, rssi=-100.0 + heard_db)
        witness(b, n, hearer, partner, rssi=-100.0 + back_db, beacon=f"{hearer}{partner}{n}")
    assert ("x" in flagged(asymmetry.asymmetry(b.build(), P))) is found


def test_asymmetry_accounts_for_transmit_power() -> None:
    """Partners that transmit 6 dB more are heard 6 dB stronger: no asymmetry."""
    b = builder("x", "p", "q", "s")
    for n, partner in enumerate(("p", "q", "s")):
        witness(b, n, partner, "x", rssi=-90.0, tx=20.0)
        witness(b, n, "x", partner, rssi=-96.0, tx=14.0, beacon=f"x{n}")
    assert asymmetry.asymmetry(b.build(), P) == []


@pytest.mark.parametrize(("spread_db", "found"), [(2 * P.constant_rssi_std_db, False),
                                                   (2 * P.constant_rssi_std_db - 0.02, True)])
def test_constant_signal_at_its_boundary(spread_db: float, found: bool) -> None:
    """RSSI alternating ±spread/2 has a standard deviation of exactly spread/2."""
    b = builder("a", "w")
    for n in range(P.constant_min):
        witness(b, n, "a", "w", rssi=-110.0 + (spread_db / 2 if n % 2 else -spread_db / 2))
    assert ("w" in flagged(signal.constant(b.build(), P))) is found


def test_constant_signal_needs_constant_min_reports() -> None:
    b = builder("a", "w")
    for n in range(P.constant_min - 1):
        witness(b, n, "a", "w", rssi=-140.0, snr=-20.0)
    assert signal.constant(b.build(), P) == []


def _rig(spread_db: float, members: int = 3, reports: int = P.constant_min) -> History:
    """Members hearing each other `reports` times each way, RSSI alternating ±spread/2 (a
    standard deviation of exactly spread/2), and each hearing an outsider through the air."""
    names = [f"m{i}" for i in range(members)]
    b = builder(*names, "air")
    for n in range(reports):
        for x in names:
            for y in names:
                if x != y:
                    witness(b, n, y, x, rssi=-105.0 + (spread_db / 2 if n % 2 else -spread_db / 2))
            witness(b, n, "air", x, rssi=-110.0 + 6 * (n % 3))
    return b.build()


@pytest.mark.parametrize(("spread_db", "found"), [(2 * P.constant_link_std_db, False),
                                                  (2 * P.constant_link_std_db - 0.02, True)])
def test_constant_links_at_their_boundary(spread_db: float, found: bool) -> None:
    """Three radios on cables: two steady links each (= constant_links), each both ways; a
    link is steady when its RSSI's standard deviation is under constant_link_std_db."""
    assert (flagged(signal.constant(_rig(spread_db), P)) == {"m0", "m1", "m2"}) is found


def test_constant_links_need_constant_links_of_them() -> None:
    """Two radios on a cable: one steady link each, fewer than constant_links."""
    assert P.constant_links == 2
    assert signal.constant(_rig(0.0, members=2), P) == []


def test_constant_links_need_constant_min_reports() -> None:
    assert signal.constant(_rig(0.0, reports=P.constant_min - 1), P) == []


@pytest.mark.parametrize(("same", "found"), [(8, True), (7, False)])
def test_shared_reception_at_its_boundary(same: int, found: bool) -> None:
    """Ten beacons both heard; identical on 8 (= 0.8 × 10) is past `same_share`, on 7 not."""
    b = builder(*SOURCES, "s1", "s2")
    for n in range(10):
        witness(b, n, SOURCES[n % 3], "s1", rssi=-100.0)
        witness(b, n, SOURCES[n % 3], "s2", rssi=-100.0 if n < same else -97.0)
    assert (flagged(shared.shared_reception(b.build(), P)) == {"s1", "s2"}) is found


@pytest.mark.parametrize(("off_db", "found"), [(P.steady_db, True), (P.steady_db + 0.01, False)])
def test_shared_reception_steady_offset_at_its_boundary(off_db: float, found: bool) -> None:
    """s2 hears 3 dB less than s1, at the same instant, with SNRs never equal: differences
    3 (seven times), 3 + off, 9 and 9 dB around their median of 3; steady on 8 of 10
    (= 0.8 × 10) when off is within steady_db."""
    b = builder(*SOURCES, "s1", "s2")
    for n, diff in enumerate((3.0,) * 7 + (3.0 + off_db, 9.0, 9.0)):
        witness(b, n, SOURCES[n % 3], "s1", rssi=-100.0, snr=5.0)
        witness(b, n, SOURCES[n % 3], "s2", rssi=-100.0 - diff, snr=1.0 - n)
    assert (flagged(shared.shared_reception(b.build(), P)) == {"s1", "s2"}) is found


@pytest.mark.parametrize("steps", [0, 1])
def test_shared_reception_same_instant_at_its_boundary(steps: int) -> None:
    """A steady 3 dB offset, never an identical report: the pair is looked at only when its
    own timestamps are within same_stamp_ms (here exactly at it, as near as float
    milliseconds at these times can be, and one float step past it)."""
    step = float(np.spacing(float(T0)))
    apart = np.floor(P.same_stamp_ms / step) * step + steps * step
    b = builder(*SOURCES, "s1", "s2")
    for n in range(10):
        witness(b, n, SOURCES[n % 3], "s1", rssi=-100.0, snr=5.0)
        witness(b, n, SOURCES[n % 3], "s2", rssi=-103.0, snr=1.0 - n, clock_ms=apart)
    assert (flagged(shared.shared_reception(b.build(), P)) == {"s1", "s2"}) is (steps == 0)


def test_shared_reception_is_not_a_relay() -> None:
    """Identical values reported `relay_ms` apart are a copy, not one antenna."""
    b = builder(*SOURCES, "s1", "s2")
    for n in range(10):
        witness(b, n, SOURCES[n % 3], "s1", rssi=-100.0)
        witness(b, n, SOURCES[n % 3], "s2", rssi=-100.0, lag_ms=P.relay_ms)
    assert shared.shared_reception(b.build(), P) == []


@pytest.mark.parametrize(("sources", "found"), [(P.min_beaconers, True),
                                              (P.min_beaconers - 1, False)])
def test_shared_reception_needs_min_beaconers(sources: int, found: bool) -> None:
    """An offset steady about its median of 3 dB on 8 of 10 beacons both heard (3, 4 and 2 dB;
    9 dB twice), from `sources` beaconers: two honest antennas hearing one beaconer over two
    fixed paths show that, their fading spreading it by more than one_antenna_db."""
    b = builder(*SOURCES, "s1", "s2")
    for n, diff in enumerate((3.0,) * 6 + (4.0, 2.0, 9.0, 9.0)):
        witness(b, n, SOURCES[n % sources], "s1", rssi=-100.0, snr=5.0)
        witness(b, n, SOURCES[n % sources], "s2", rssi=-100.0 - diff, snr=1.0 - n)
    assert (flagged(shared.shared_reception(b.build(), P)) == {"s1", "s2"}) is found


@pytest.mark.parametrize(("spread_db", "found"), [(P.one_antenna_db, True),
                                                  (P.one_antenna_db + 0.01, False)])
def test_shared_reception_from_one_beaconer_at_its_boundary(spread_db: float,
                                                            found: bool) -> None:
    """Ten beacons of one beaconer both heard at one instant, the RSSI difference 3 dB on
    nine and 3 + spread on the tenth: one signal through two ports when the spread is at
    most one_antenna_db, independent fading past it."""
    assert P.min_beaconers > 1
    b = builder(*SOURCES, "s1", "s2")
    for n, diff in enumerate((3.0,) * 9 + (3.0 + spread_db,)):
        witness(b, n, "a", "s1", rssi=-100.0, snr=5.0)
        witness(b, n, "a", "s2", rssi=-100.0 - diff, snr=1.0 - n)
    assert (flagged(shared.shared_reception(b.build(), P)) == {"s1", "s2"}) is found


@pytest.mark.parametrize(("beacons", "found"), [(P.min_common_beacons, True),
                                              (P.min_common_beacons - 1, False)])
def test_shared_reception_from_one_beaconer_needs_min_common_beacons(beacons: int,
                                                                     found: bool) -> None:
    """Asserted at one place: their one instant is no evidence by itself (one_place_ns)."""
    b = builder(*SOURCES, "s1", "s2", one_place=("s1", "s2"))
    for n in range(beacons):
        witness(b, n, "a", "s1", rssi=-100.0 - n, snr=5.0)
        witness(b, n, "a", "s2", rssi=-103.0 - n, snr=1.0 - n)
    assert (flagged(shared.shared_reception(b.build(), P)) == {"s1", "s2"}) is found


def test_shared_reception_from_two_beaconers() -> None:
    """Four keys on one antenna in a city hear two beaconers in a week (re-fitted radio,
    docs/benchmarks.md): 18 beacons both heard, a steady 4 dB offset, at one instant."""
    b = builder(*SOURCES, "s1", "s2")
    for n in range(18):
        witness(b, n, SOURCES[n % 2], "s1", rssi=-100.0, snr=5.0)
        witness(b, n, SOURCES[n % 2], "s2", rssi=-104.0, snr=5.0 - n % 3)
    assert flagged(shared.shared_reception(b.build(), P)) == {"s1", "s2"}


@pytest.mark.parametrize(("beacons", "found"), [(P.min_common_beacons, True),
                                              (P.min_common_beacons - 1, False)])
def test_shared_reception_needs_min_common_beacons(beacons: int, found: bool) -> None:
    """Asserted at one place, as in the test above."""
    b = builder(*SOURCES, "s1", "s2", one_place=("s1", "s2"))
    for n in range(beacons):
        witness(b, n, SOURCES[n % 3], "s1", rssi=-100.0)
        witness(b, n, SOURCES[n % 3], "s2", rssi=-100.0)
    assert (flagged(shared.shared_reception(b.build(), P)) == {"s1", "s2"}) is found


# Metres of light in one_place_ns: the asserted distances' difference at the boundary.
ONE_PLACE_M = P.one_place_ns * C_M_PER_NS


def _one_instant(apart_m: float, beacons: int = P.one_place_beacons,
                 diffs: tuple[float, ...] = (), s2_clock_ms: tuple[float, ...] = (),
                 sources: int = P.min_beaconers) -> History:
    """Beacons of "a" and "c" (in turn, of the first `sources` of them), both south of "s1"
    on its meridian, heard by s1 and "s2" (asserted `apart_m` north of s1: its asserted
    distance to either is longer by that) stamped by both at one instant (but for
    `s2_clock_ms`, added to s2's stamps in turn), s2 3 dB weaker (plus `diffs` in turn),
    their SNRs never equal."""
    b = HistoryBuilder(T0, T0 + 86_400_000)
    b.add_hotspot(k("a"), 52.0, 5.0)
    b.add_hotspot(k("c"), 51.99, 5.0)
    b.add_hotspot(k("s1"), 52.02, 5.0)
    b.add_hotspot(k("s2"), 52.02 + apart_m / M_PER_DEG, 5.0)
    for n in range(beacons):
        extra = diffs[n] if n < len(diffs) else 0.0
        clock = s2_clock_ms[n] if n < len(s2_clock_ms) else 0.0
        source = ("a", "c")[n % sources]
        witness(b, n, source, "s1", rssi=-100.0 - n, snr=5.0)
        witness(b, n, source, "s2", rssi=-103.0 - n - extra, snr=1.0 - n, clock_ms=clock)
    return b.build()


@pytest.mark.parametrize(("apart_m", "found"), [(ONE_PLACE_M + 0.001, True),
                                                (ONE_PLACE_M - 0.001, False)])
def test_one_instant_against_the_places_at_its_boundary(apart_m: float, found: bool) -> None:
    """A steady 3 dB offset on one_place_beacons beacons of two beaconers (under
    min_common_beacons), both stamped at one instant: one antenna when the asserted places
    put the arrivals one_place_ns apart or more (here within a millimetre of light of it)."""
    assert P.one_place_beacons < P.min_common_beacons
    history = _one_instant(apart_m)
    assert (flagged(shared.shared_reception(history, P)) == {"s1", "s2"}) is found


@pytest.mark.parametrize(("beacons", "found"), [(P.one_place_beacons, True),
                                              (P.one_place_beacons - 1, False)])
def test_one_instant_against_the_places_needs_one_place_beacons(beacons: int,
                                                                found: bool) -> None:
    history = _one_instant(5_000.0, beacons=beacons)
    assert (flagged(shared.shared_reception(history, P)) == {"s1", "s2"}) is found


@pytest.mark.parametrize(("sources", "found"), [(P.min_beaconers, True),
                                              (P.min_beaconers - 1, False)])
def test_one_instant_against_the_places_needs_min_beaconers(sources: int, found: bool) -> None:
    """From one beaconer (on fewer than one_source_beacons beacons): a hotspot asserting a
    false place beside an honest one is stamped with it at one instant, and over one fixed
    path each, in mild fading, their RSSI difference can stay put."""
    assert P.one_place_beacons < P.one_source_beacons
    history = _one_instant(5_000.0, sources=sources)
    assert (flagged(shared.shared_reception(history, P)) == {"s1", "s2"}) is found


@pytest.mark.parametrize(("spread_db", "found"), [(P.one_antenna_db, True),
                                                  (P.one_antenna_db + 0.01, False)])
def test_one_instant_against_the_places_spread_at_its_boundary(spread_db: float,
                                                               found: bool) -> None:
    """Two antennas fade apart beacon by beacon, wherever they stand."""
    history = _one_instant(5_000.0, diffs=(0.0, spread_db))
    assert (flagged(shared.shared_reception(history, P)) == {"s1", "s2"}) is found


def test_one_instant_against_the_places_on_every_beacon_both_heard() -> None:
    """s2 stamps one beacon of three when its asserted place says (5 km further: 16.7 µs
    later, to float milliseconds' precision): not one instant on every beacon."""
    later_ms = 5_000.0 / C_M_PER_NS / 1e6
    history = _one_instant(5_000.0, s2_clock_ms=(0.0, 0.0, later_ms))
    assert shared.shared_reception(history, P) == []


def test_neighbours_across_a_street_at_one_instant_are_not_one_antenna() -> None:
    """Two honest hotspots 20 m apart, GPS-disciplined: one instant, and a steady offset on
    three beacons of two beaconers (a mild fading week); their places say one instant."""
    assert shared.shared_reception(_one_instant(20.0), P) == []


def _fixes(*offsets_m: float, acc_m: float = 3.0) -> History:
    b = builder("g")
    for n, north in enumerate(offsets_m):
        b.add_fix(k("g"), T0 + n * 60_000, 52.0 + north / 111_195.0, 5.0, acc_m)
    return b.build()


def test_gps_far_at_its_boundary() -> None:
    history = _fixes(*[500.0] * 3)
    far = float(gps.gps(history, dataclasses.replace(P, far_m=1.0))[0].evidence[
        "median_fix_from_asserted_m"])
    assert [f.detector for f in gps.gps(history, dataclasses.replace(P, far_m=far - 1))] == [
        "gps_far"]
    assert gps.gps(history, dataclasses.replace(P, far_m=far + 1)) == []


@pytest.mark.parametrize(("jumps", "found"), [(P.min_jumps, True), (P.min_jumps - 1, False)])
def test_gps_jumps_at_their_boundary(jumps: int, found: bool) -> None:
    path = [0.0, P.jump_m, 0.0][: jumps + 1]
    names = [f.detector for f in gps.gps(_fixes(*path), dataclasses.replace(P, far_m=1e9))]
    assert ("gps_jumps" in names) is found


def test_gps_frozen_and_too_clean_and_real() -> None:
    n = P.min_fixes
    assert [f.detector for f in gps.gps(_fixes(*[0.0] * n), P)] == ["gps_frozen"]
    assert [f.detector for f in gps.gps(_fixes(*[0.0] * (n - 1)), P)] == []
    # Scatter of ±0.1 m against a claimed 3 m: below 5 % of h_acc.
    clean = [0.1 if i % 2 else -0.1 for i in range(n)]
    assert [f.detector for f in gps.gps(_fixes(*clean), P)] == ["gps_too_clean"]
    # A real receiver: a circular Gaussian of σ 2 m per axis against a claimed 3 m.
    real = np.random.default_rng(7).normal(0.0, 2.0, (n, 2))
    assert gps.gps(_fixes_2d(real), P) == []


def _fixes_2d(north_east_m: np.ndarray, acc_m: float = 3.0) -> History:
    b = builder("g")
    for n, (north, east) in enumerate(north_east_m):
        lat, lon = offset(52.0, 5.0, float(north), float(east))
        b.add_fix(k("g"), T0 + n * 60_000, lat, lon, acc_m)
    return b.build()


def _two_radii(fixes: int, cv: float, mean_m: float = 3.0) -> np.ndarray:
    """`fixes` (a multiple of 8) fixes whose distances from their centroid have exactly the
    spread std/mean = cv: radii mean·(1 − cv) and mean·(1 + cv) alternating, each set evenly
    spread in bearing so the centroid is the centre itself."""
    bearing = np.arange(fixes) * 2 * np.pi / fixes
    radius = np.where(np.arange(fixes) % 2, mean_m * (1 + cv), mean_m * (1 - cv))
    return np.column_stack((radius * np.cos(bearing), radius * np.sin(bearing)))


@pytest.mark.parametrize(("fixes", "step", "found"), [
    (16, -0.002, True), (16, 0.002, False), (64, -0.002, True), (64, 0.002, False)])
def test_gps_ring_at_its_boundary(fixes: int, step: float, found: bool) -> None:
    # model.py: "this many standard deviations below a real receiver's Rayleigh value".
    limit = gps.RAYLEIGH_CV - P.ring_z * gps.RAYLEIGH_CV_SD1 / np.sqrt(fixes)
    names = [f.detector for f in gps.gps(_fixes_2d(_two_radii(fixes, limit + step)), P)]
    assert names == (["gps_ring"] if found else [])


def test_gps_ring_needs_min_fixes() -> None:
    n = P.min_fixes
    circle = _two_radii(8 * n, 0.0)[:: 8][: n - 1]  # n − 1 fixes on a perfect circle
    assert gps.gps(_fixes_2d(circle), P) == []


def test_rayleigh_constants_match_the_distribution() -> None:
    # Rayleigh(σ): mean σ·√(π/2), variance (4 − π)/2 · σ² (any statistics text).
    assert gps.RAYLEIGH_CV == pytest.approx(np.sqrt((4 - np.pi) / 2) / np.sqrt(np.pi / 2))
    # The spread of std/mean over samples of 400 radii, drawn: √n · its std.
    radii = np.random.default_rng(3).rayleigh(1.0, (20_000, 400))
    cv = radii.std(axis=1) / radii.mean(axis=1)
    assert float(cv.std()) * np.sqrt(400) == pytest.approx(gps.RAYLEIGH_CV_SD1, rel=0.03)


def test_distance_law_holds_its_slope_to_physics() -> None:
    import numpy as np

    log_d = np.repeat(np.array([2.0, 3.0, 4.0]), 5)
    # A slope of 10 dB per decade (below free space): held to 20.
    assert signal.fit_distance_law(log_d, 100 + 10 * log_d)[1] == pytest.approx(20.0)
    assert signal.fit_distance_law(log_d, 100 + 50 * log_d)[1] == pytest.approx(40.0)
    assert signal.fit_distance_law(log_d, 100 + 30 * log_d) == pytest.approx((100.0, 30.0))
    assert signal.fit_distance_law(np.full(9, 3.0), np.full(9, 120.0)) is None


@pytest.mark.parametrize(("stronger_db", "found"),
                         [(P.excess_db, True), (P.excess_db - 0.01, False)])
def test_signal_excess_at_its_boundary(stronger_db: float, found: bool) -> None:
    """Links that follow 40 + 35·log10(d) exactly, and a hotspot `t` (asserted where `o` is)
    whose five links are each `stronger_db` stronger than that law."""
    import numpy as np

    from oracle.detect.history import haversine_m

    b = HistoryBuilder(T0, T0 + 86_400_000)
    b.add_hotspot(k("o"), 52.0, 5.0)
    b.add_hotspot(k("t"), 52.0, 5.0)
    distances = (300.0, 800.0, 2_000.0, 5_000.0, 9_000.0)
    for i, d in enumerate(distances):
        b.add_hotspot(k(f"h{i}"), 52.0 + d / 111_195.0, 5.0)
    for i, _ in enumerate(distances):
        lat = 52.0 + distances[i] / 111_195.0
        d = float(haversine_m(np.array([52.0]), np.array([5.0]), np.array([lat]),
                              np.array([5.0]))[0])
        loss = 40 + 35 * np.log10(d)
        for n in range(3):
            witness(b, n, "o", f"h{i}", rssi=14.0 - loss, beacon=f"o{n}")
        witness(b, 10 + i, "t", f"h{i}", rssi=14.0 - loss + stronger_db, beacon=f"t{i}")
    assert (flagged(signal.excess(b.build(), P)) == {"t"}) is found


@pytest.mark.parametrize(("partners", "found"),
                         [(P.min_partners, True), (P.min_partners - 1, False)])
def test_signal_excess_needs_min_partners(partners: int, found: bool) -> None:
    """`t` heard 30 dB above the law by `partners` hotspots, four times each: past min_links
    receptions either way, but on fewer than min_partners paths it is not judged."""
    import numpy as np

    from oracle.detect.history import haversine_m

    b = HistoryBuilder(T0, T0 + 86_400_000)
    b.add_hotspot(k("o"), 52.0, 5.0)
    b.add_hotspot(k("t"), 52.0, 5.0)
    distances = (300.0, 800.0, 2_000.0, 5_000.0, 9_000.0)[:partners]
    for i, d in enumerate(distances):
        b.add_hotspot(k(f"h{i}"), 52.0 + d / 111_195.0, 5.0)
        d = float(haversine_m(np.array([52.0]), np.array([5.0]),
                              np.array([52.0 + d / 111_195.0]), np.array([5.0]))[0])
        loss = 40 + 35 * np.log10(d)
        for n in range(12):  # the law, from "o": most of the links at each distance
            witness(b, n, "o", f"h{i}", rssi=14.0 - loss, beacon=f"o{n}")
        for n in range(4):
            witness(b, 100 + 10 * i + n, "t", f"h{i}", rssi=14.0 - loss + 30.0,
                    beacon=f"t{i}{n}")
    assert (flagged(signal.excess(b.build(), P)) == {"t"}) is found


def _replayed(named: int, unexplained: int) -> History:
    """"s" hears `named + unexplained` beacons of "a" in time; each is heard again, a replay
    later, by "x", "y" and "z". For `named` of them the copies are heard as those three usually
    hear "s" (−100, −105, −110 dBm): "s" sent them. For the others they are 40 dB off: "s"
    could have sent them (it heard them, and the three usually hear it) but did not. "n"
    heard them in time too and is usually heard by the three 25 dB stronger than "s", so no
    witness's hearing singles out or narrows down a sender (replay.MIN_SINGLED): RSSI names."""
    b = builder("a", "s", "x", "y", "z", "n")
    usual = {"x": -100.0, "y": -105.0, "z": -110.0}
    for n in range(3):  # how x, y and z usually hear s, and n
        for hearer, rssi in usual.items():
            witness(b, 1_000 + n, "s", hearer, rssi=rssi)
            witness(b, 2_000 + n, "n", hearer, rssi=rssi + 25.0)
    for n in range(named + unexplained):
        witness(b, n, "a", "s")
        witness(b, n, "a", "n")
        for hearer, rssi in usual.items():
            witness(b, n, "a", hearer, rssi=rssi + (0.0 if n < named else 40.0),
                    lag_ms=2 * P.replay_ms)
    return b.build()


@pytest.mark.parametrize(("named", "found"),
                         [(replay.MIN_REPLAYS, True), (replay.MIN_REPLAYS - 1, False)])
def test_replay_needs_min_replays(named: int, found: bool) -> None:
    """Named for every replayed beacon it could have sent, but only that many."""
    assert flagged(replay.replay(_replayed(named, 0), P)) == ({"s"} if found else set())


@pytest.mark.parametrize(("unexplained", "found"), [(17, True), (18, False)])
def test_replay_share_at_its_boundary(unexplained: int, found: bool) -> None:
    """3 named of 20 it could have sent is REPLAY_SHARE (15 %); 3 of 21 is below it."""
    assert replay.REPLAY_SHARE == 0.15 and replay.MIN_REPLAYS == 3
    history = _replayed(replay.MIN_REPLAYS, unexplained)
    assert flagged(replay.replay(history, P)) == ({"s"} if found else set())


# Placing a replayed copy by its witnesses' stamps. Every hotspot stands on one meridian, so
# a stamp's distance delay is |north − north'| / c. A small time origin keeps the history's
# float ms exact to well under a ns (at today's epoch ms, a float ms holds ~0.24 µs).
ARRIVAL_T0 = 1_000_000
C_M_PER_MS = 299_792.458


def _placed(north_m: dict[str, float], late: dict[str, float], copies: int,
            candidates: tuple[str, ...] = ("s",), gap_ms: int = 3_600_000) -> History:
    """`copies` beacons of "a", `gap_ms` apart, each heard in time by `candidates` and
    replayed by "s" 900 s later; the copy is heard by the hotspots of `late`, each stamped its
    distance from "s" over c after the copy left, plus its value in `late` (ns). Places:
    metres north of "a"."""
    b = HistoryBuilder(ARRIVAL_T0, ARRIVAL_T0 + 30 * replay.DAY_MS)
    for name, north in north_m.items():
        b.add_hotspot(k(name), 52.0 + north / 111_195.0, 5.0)
    h = b.build().hotspots  # the places as the history keeps them
    names = list(north_m)

    def metres(x: str, y: str) -> float:
        i, j = names.index(x), names.index(y)
        return h.distance_m(i, j)

    for n in range(copies):
        at = ARRIVAL_T0 + n * gap_ms
        for c in candidates:
            b.add_witness(f"a{n}".encode(), k("a"), k(c), -100.0, 5.0, 14.0, at + 300,
                          at + 500, float(at), at + metres("a", c) / C_M_PER_MS)
        copy_ms = at + metres("a", "s") / C_M_PER_MS + 900_000.0
        for name, error_ns in late.items():
            b.add_witness(f"a{n}".encode(), k("a"), k(name), -110.0, 0.0, 14.0, at + 300,
                          int(copy_ms) + 500, float(at),
                          copy_ms + metres("s", name) / C_M_PER_MS + error_ns / 1e6)
    return b.build()


_LINE = {"a": 0.0, "s": 4_000.0, "h": 6_000.0, "x": 9_000.0, "y": 11_500.0, "z": 15_000.0,
         "u": 1_000.0, "v": -2_000.0}


@pytest.mark.parametrize(("copies", "found"),
                         [(replay.MIN_PLACED, True), (replay.MIN_PLACED - 1, False)])
def test_replay_placed_by_arrival_time_needs_min_placed(copies: int, found: bool) -> None:
    # One a day: MIN_PLACED_IN_A_DAY is not what finds it (tests/oracle/test_detect_replay.py).
    history = _placed(_LINE, {"x": 0.0, "y": 0.0, "z": 0.0}, copies, gap_ms=replay.DAY_MS)
    assert flagged(replay.replay(history, P)) == ({"s"} if found else set())


@pytest.mark.parametrize(("error_ns", "found"), [(replay.ARRIVAL_WINDOW_NS, True),
                                                 (replay.ARRIVAL_WINDOW_NS + 1.0, False)])
def test_replay_arrival_window_at_its_boundary(error_ns: float, found: bool) -> None:
    """Three receptions of each copy: one stamped `error_ns` late is still in the window at
    ARRIVAL_WINDOW_NS, and leaves two (under ARRIVAL_MIN_RECEPTIONS) past it."""
    history = _placed(_LINE, {"x": 0.0, "y": 0.0, "z": error_ns}, replay.MIN_PLACED)
    assert flagged(replay.replay(history, P)) == ({"s"} if found else set())


def test_replay_arrival_needs_two_receptions() -> None:
    history = _placed(_LINE, {"x": 0.0}, 2 * replay.MIN_PLACED)
    assert replay.replay(history, P) == []


@pytest.mark.parametrize(("late", "candidates", "found"), [
    ({"u": 0.0, "x": 0.0}, ("s", "h"), True),  # south and north of "s": "h" fits one only
    ({"x": 0.0, "y": 0.0}, ("s", "h"), False),  # both north of "h" too: "h" fits both
    ({"u": 0.0, "x": replay.ARRIVAL_WINDOW_NS}, ("s",), True),
    ({"u": 0.0, "x": replay.ARRIVAL_WINDOW_NS + 1.0}, ("s",), False),
])
def test_a_copy_heard_twice_is_placed_on_the_one_candidate_both_fit(
        late: dict[str, float], candidates: tuple[str, ...], found: bool) -> None:
    """A beacon heard late by two witnesses only: placed on "s" when "s" is the one
    candidate whose window (ARRIVAL_WINDOW_NS) holds both stamps. An honest neighbour that
    heard the beacon in time and fits both as well leaves the copy unplaced (a neighbour on
    the line beyond the sender, here). MIN_PLACED copies, one a day."""
    history = _placed(_LINE, late, replay.MIN_PLACED, candidates=candidates,
                      gap_ms=replay.DAY_MS)
    assert flagged(replay.replay(history, P)) == ({"s"} if found else set())


@pytest.mark.parametrize(("late", "found"), [
    ({"x": 0.0, "y": 0.0, "u": 0.0, "v": 0.0}, True),  # h explains x, y: 2 = 4 − margin
    ({"x": 0.0, "y": 0.0, "z": 0.0, "v": 0.0}, False),  # h explains x, y, z: 3
])
def test_replay_arrival_margin_at_its_boundary(late: dict[str, float], found: bool) -> None:
    """An honest neighbour "h" 2 km north of the replayer, on the line, heard the beacon in
    time too. North of both, a copy's receptions are explained by either (each distance
    delay shifted by the same 2 km); south of "s", only by "s". Placed when "h" explains
    ARRIVAL_MARGIN fewer, not when one fewer: neither is then placed (nor flagged)."""
    assert replay.ARRIVAL_MARGIN == 2
    history = _placed(_LINE, late, replay.MIN_PLACED, candidates=("s", "h"))
    assert flagged(replay.replay(history, P)) == ({"s"} if found else set())


def test_a_neighbour_beside_the_replayer_is_not_placed() -> None:
    """An honest hotspot 50 m from the replayer heard the beacon too: every copy's
    receptions fit either of them, so neither is named by arrival time."""
    places = dict(_LINE, h=_LINE["s"] + 50.0)
    history = _placed(places, {"x": 0.0, "y": 0.0, "z": 0.0, "v": 0.0}, 3 * replay.MIN_PLACED,
                      candidates=("s", "h"))
    assert replay.replay(history, P) == []


def _one_way(excess_db: float, floor_db: float = 10.0, hears: int = 3, heard: int = 3) -> History:
    """x has no two-way pair: it hears `hears` hotspots north of it `excess_db` above the law,
    `heard` hotspots south of it hear it on the law; its reported noise floor
    (RSSI − SNR) is `floor_db` above the network's (−117 dBm). Around it a line of honest
    hotspots hearing each other both ways on the law 40 + 30·log10(d) dB."""
    b = HistoryBuilder(T0, T0 + 86_400_000)
    north = [f"n{j}" for j in range(1, 8)]
    south = [f"s{j}" for j in range(1, 8)]
    b.add_hotspot(k("x"), 52.0, 5.0)
    for j in range(1, 8):  # 1.1 km apart
        b.add_hotspot(k(f"n{j}"), 52.0 + j * 0.01, 5.0)
        b.add_hotspot(k(f"s{j}"), 52.0 - j * 0.01, 5.0)
    lat = {name: 52.0 + (j + 1) * 0.01 * (1 if name[0] == "n" else -1)
           for side in (north, south) for j, name in enumerate(side)}
    n = 0
    for side in (north, south):
        for a in side:
            for c in side:
                if a != c:
                    d = abs(lat[a] - lat[c]) * 111_195.0
                    rssi = 14.0 - (40.0 + 30.0 * np.log10(d))
                    witness(b, n, a, c, rssi=rssi, snr=rssi + 117.0)
                    n += 1
    for j in range(hears):
        rssi = 14.0 - (40.0 + 30.0 * np.log10((j + 1) * 0.01 * 111_195.0)) + excess_db
        witness(b, n, north[j], "x", rssi=rssi, snr=rssi + 117.0 - floor_db)
        n += 1
    for j in range(heard):
        rssi = 14.0 - (40.0 + 30.0 * np.log10((j + 1) * 0.01 * 111_195.0))
        witness(b, n, "x", south[j], rssi=rssi, snr=rssi + 117.0, beacon=f"x{n}")
        n += 1
    return b.build()


@pytest.mark.parametrize(("excess_db", "found"), [(P.asymmetry_vouched_db, True),
                                                  (P.asymmetry_vouched_db - 0.01, False),
                                                  (-2 * P.asymmetry_vouched_db, False)])
def test_one_way_asymmetry_at_its_boundary(excess_db: float, found: bool) -> None:
    """No pair to read: x's receptions against the law, less its beacons' receptions, past
    asymmetry_vouched_db; only hearing stronger than it is heard."""
    assert flagged(asymmetry.asymmetry(_one_way(excess_db), P)) == ({"x"} if found else set())


@pytest.mark.parametrize(("floor_db", "found"), [(P.asymmetry_floor_db, True),
                                                 (P.asymmetry_floor_db - 0.01, False)])
def test_one_way_asymmetry_needs_a_raised_noise_floor(floor_db: float, found: bool) -> None:
    """An inflated RSSI raises the noise floor the hotspot reports (RSSI − SNR) as much; an
    honest hotspot's floor is its own radio's and site's."""
    history = _one_way(15.0, floor_db=floor_db)
    assert ("x" in flagged(asymmetry.asymmetry(history, P))) is found


@pytest.mark.parametrize(("hears", "heard", "found"), [(2, 4, True), (2, 5, False),
                                                       (3, 0, False)])
def test_one_way_asymmetry_needs_hearing_as_many_as_hear_it(hears: int, heard: int,
                                                            found: bool) -> None:
    """A noisy site hears only its strongest receptions, past the law, and fewer of its
    neighbours than hear it: at least asymmetry_hears_share as many, or it is not judged;
    and it must be heard by someone to compare with."""
    assert P.asymmetry_hears_share == 0.5
    history = _one_way(15.0, hears=hears, heard=heard)
    assert ("x" in flagged(asymmetry.asymmetry(history, P))) is found
