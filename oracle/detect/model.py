"""What a detector says, and the thresholds every detector reads, as one table.

A Finding names one hotspot (or a pair, for an edge), the detector that raised it, how far past
its threshold the evidence is (`score` ≥ 1 means past it), and the numbers behind it, so that an
operator, the owner on appeal, and the proving ground's scoreboard see why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Finding:
    detector: str
    hotspots: tuple[bytes, ...]  # one key: the hotspot; two keys: the edge between them
    score: float
    evidence: dict[str, Any]

    @property
    def is_edge(self) -> bool:
        return len(self.hotspots) == 2


@dataclass(frozen=True)
class DetectParams:
    """Thresholds, each with its reason. Distances in metres, signals in dB, times in ms."""

    # Link budget (signal.py): links shorter than this are left out of the distance fit (the
    # asserted res-12 cells are ~10 m across; below 100 m "distance" is mostly rounding).
    fit_min_distance_m: float = 100.0
    # A hotspot whose links are, by their median, this much stronger than the network's own
    # distance law predicts for the asserted distances: it is not where it says (or relays).
    # Honest shadowing spreads single links by ~8–10 dB; a median over ≥ 5 links moves little.
    excess_db: float = 15.0
    min_links: int = 5  # receptions, both ways
    # ... with at least this many other hotspots: a remote honest hotspot heard over one or two
    # clear paths (across a valley) is far above the law on every reception of those paths; a
    # false location is above it with every neighbour, a wired rig with its three partners.
    min_partners: int = 3
    # Reciprocity (asymmetry.py): path loss is the same both ways, so what X hears from Y and
    # what Y hears from X differ only by their transmit powers. An RSSI inflator or a hidden
    # amplifier shows as a constant offset over its pairs.
    asymmetry_db: float = 8.0
    min_pairs: int = 3
    # ... of which, once the pairs with liars already found are set aside (peel.py), at least
    # this many remain to take the median of: a pair with a found inflator says nothing of its
    # partner (an inflator with three pairs, one with another inflator, keeps two at its
    # offset); one pair alone is one link's fading.
    min_pairs_left: int = 2
    # A hotspot with fewer pairs than that (a sparse network's edge: on the whole 2022
    # population, 51 of the 61 inflators missed in epoch 1 had one or two) is judged by its
    # pairs with reciprocal partners, those whose other pairs are mostly within asymmetry_db:
    # an offset with such a partner is the hotspot's own. Past this, hearing stronger than it is
    # heard: in that epoch 2 of 13,423 honest two-way pairs were 12 dB or more apart (σ 2.8
    # dB), and 2,038 of 2,311 pairs of an inflator (+15 dB) with an honest partner.
    asymmetry_vouched_db: float = 12.0
    # A hotspot with no such pairs (fewer than min_pairs and no reciprocal partner: on the
    # whole 2022 population some inflators hear only hotspots that do not hear them) is judged
    # by the distance law both ways (signal.py's fit): its receptions' median residual less
    # the median residual of its own beacons' receptions, past asymmetry_vouched_db, with its
    # noise floor as it reports it (RSSI − SNR, an inflated RSSI raises it as much) this far
    # above the network's median, and hearing at least asymmetry_hears_share as many partners
    # as hear it: a noisy site, whose receptions beat the law because only the strongest get
    # through, hears fewer of its neighbours than hear it; an inflator's radio hears as well as
    # theirs. On the whole population with a fifth inflating (epoch 1), honest hotspots past
    # 12 dB and 8 dB: 4 of 5,523 with any hearing share, 1 with half; inflators 46 and 43 more
    # found (docs/benchmarks.md, issue 13).
    # The same floor and asymmetry_vouched_db judge a hotspot by every two-way pair at once
    # (asymmetry.py, `_network_offsets`): its floor past asymmetry_floor_db and its own offset,
    # as all pairs give it with the hotspots whose floor is under that taken at 0, past
    # asymmetry_vouched_db. On the whole population with a fifth inflating (7 epochs), honest
    # hotspots' own offsets so measured reached 6.1 dB; 35 inflators more found, those whose
    # pairs are mostly with each other (docs/benchmarks.md, issue 13).
    asymmetry_floor_db: float = 8.0
    asymmetry_hears_share: float = 0.5
    # Shared antenna (shared.py): keys behind one antenna report the same receptions up to a
    # fixed offset (each radio's cable and port), at the same instant. Independent antennas a
    # street apart fade independently: their RSSI difference wanders by several dB.
    same_share: float = 0.8  # of the beacons both heard, with a steady RSSI difference
    # Hotspots report whole dBm: a constant offset shows as the median difference ±1.
    steady_db: float = 1.0
    # Own timestamps this close are one reception instant (1 µs: 300 m of propagation; clocks
    # of separate hotspots disagree by milliseconds).
    same_stamp_ms: float = 0.001
    # Beacons both heard, at least: honest clocks disciplined to the µs stamp a few receptions
    # of a beacon within same_stamp_ms of each other by chance, and on a handful of beacons a
    # pair's RSSI difference can sit within steady_db by chance too (4 of 5 at ~1 in 30 when
    # fading spreads it by ~5 dB); 8 of 10 or more, ~1 in 600.
    min_common_beacons: int = 8
    # The steady receptions come from this many beaconers: over one beaconer's beacons two
    # honest antennas' RSSI difference is their paths' fixed shadowing (steady when fading is
    # mild); only one antenna keeps it from every direction. Two, not three: on the re-fitted
    # radio a city antenna may hear two beaconers in a week, and no honest pair was steady
    # from two (docs/benchmarks.md, issue 13).
    min_beaconers: int = 2
    # ... or one beaconer, when the pair's RSSI difference takes at most two adjacent whole-dBm
    # values (max − min ≤ this) on every beacon both heard within relay_ms: one antenna feeds
    # both radios one signal at one instant, so only their fixed ports, cables and rounding
    # differ. Two antennas over two fixed paths still fade independently beacon by beacon: on
    # the proving ground (city and Belgrade, after 1, 3 and 7 epochs: 58,295 honest
    # pair-windows with ≥ min_common_beacons beacons both heard) one honest pair spread by
    # ≤ 1 dB (8 beacons from 6 beaconers), every other by more than 2 dB, while 49 of 62 pairs
    # behind one antenna spread by ≤ 1 dB (docs/benchmarks.md, issue 13).
    one_antenna_db: float = 1.0
    # ... but not a pair stamped at two instants (one_place_ns apart or more, within the light
    # time between their asserted places and one_place_ns) on this share of the beacons whose
    # stamps or places put the two arrivals apart (one_place_ns or more; one instant on an
    # isochrone of the beaconer tells nothing): two radios on GPS time standing apart,
    # whatever their RSSI says. Behind one
    # antenna the keys take one reception's stamp, or radios of their own each on GPS time
    # stamp within a fraction of a µs. In the city at 5 % (docs/benchmarks.md, issue 13) an
    # honest pair 9.5 km apart, each over a mild path from a false-located beaconer, had 10
    # of 11 beacons within steady_db of its median difference, and 9 of the 11 stamped 12-13
    # µs apart. (A cheat can offset one key's stamps to pass as two instants; it can as well
    # add noise to one key's RSSI against the steady test. The one-instant test below reads
    # the stamps against the places.)
    two_instants_share: float = 0.5
    # ... or, with fewer beacons both heard (one_place_beacons at least), when each of them
    # was stamped by both at one instant (within same_stamp_ms) that their asserted places
    # cannot give, and the RSSI difference spreads by one_antenna_db at most. Two GPS stamps
    # of one beacon differ by the asserted distances' difference over c, give or take the
    # stamps' errors (σ 1.4 µs for two single-channel radios, 0.14 µs for two concentrators,
    # sim_radio/reception.py); keys behind one antenna are stamped at one instant wherever
    # they assert. Past one_place_ns (3 µs of light, 900 m: 2.1 σ of two single-channel
    # radios) on every beacon both heard. Three beacons, not two: a key asserting a false
    # place contradicts, beacon after beacon, the honest hotspots beside where it really
    # stands (one instant, places kilometres apart), and only fading (a spread past
    # one_antenna_db) tells such a neighbour from one antenna. For the same reason the
    # beacons come from min_beaconers beaconers or more: over one beaconer's fixed paths,
    # in mild fading, such a neighbour's RSSI difference can stay put (on the whole 2022
    # population at 20 %, with attenuators asserting places 3 km off, one beaconer let 5
    # honest hotspots through, docs/benchmarks.md). On the proving
    # ground (helium 2022, the 2,000 hotspots nearest its densest spot, a fifth each behind
    # shared antennas and inflating, 7 epochs): two beacons flagged 8 honest hotspots, three
    # none, for 9 more keys behind one antenna (4 from two beaconers; docs/benchmarks.md,
    # issue 13).
    one_place_beacons: int = 3
    one_place_ns: float = 3_000.0
    # ... or from one beaconer, on this many beacons or more, each stamped identically by
    # both (keys behind one antenna take one reception's stamp: sim_radio/reception.py draws
    # it per antenna pair and event). On the whole 2022 population at 20 % after 7 epochs
    # (stores a20i and b20m, docs/benchmarks.md, issue 13), pairs contradicted on every
    # beacon of one beaconer with the difference spread by ≤ one_antenna_db: from 3 beacons,
    # 5 honest hotspots (each beside an attenuator, or with a partner on one isochrone of an
    # attenuator's beacons), one of them stamped identically on each of its 3 (the
    # attenuator's false place: one geometry, one stamp difference, beacon after beacon);
    # from 4, one (stamped identically on 2 of 4), and none stamped identically on every
    # one; from 4, 27 pairs of keys behind one antenna, 13 of the keys found by no detector.
    one_source_beacons: int = 4
    # Constant signals (signal.py): RSSI that varies less than this over ≥ constant_min
    # reports of different beacons (witness stuffing at fixed values, attenuated rigs).
    constant_rssi_std_db: float = 0.5
    constant_min: int = 8
    # Links (one beaconer heard by one witness, ≥ constant_min reports) whose RSSI varies less
    # than this are a cable, not the air: a rig's ±1 dB in whole dBm spreads by at most 1.0;
    # fading moves a quiet link by dBs, though now and then 8 draws happen to lie close. A
    # hotspot with constant_links such links, each steady both ways, is on a wired rig.
    constant_link_std_db: float = 1.2
    constant_links: int = 2
    # Position (position.py): a hotspot's partners gather around where it stands, whatever
    # loss it adds. Judged with this many partners at least (a rural hotspot with a few
    # neighbours gets no verdict); its place is fitted within position_reach distance scales of
    # the asserted one (the network's median link distance over 1.678: ~6 km in the proving
    # ground's city), once the partners' centre is off by a z² ≥ position_prefilter_z2 (χ², 2
    # degrees of freedom: 5 % of honest hotspots go on to the fit). Flagged ≥ position_far_m
    # from the asserted place with a likelihood ratio ≥ position_lr: χ² with 2 degrees of
    # freedom for an honest hotspot, past 12 for 0.25 % of them; on the proving ground (city,
    # 5 % and 20 % attenuators, after 1, 3 and 7 epochs) honest hotspots reached 10.7 (one,
    # at the edge of the city's hotspots, 14.7 after epoch 4), judged attenuators 4–22
    # (docs/benchmarks.md, issue 13).
    position_min_partners: int = 8
    position_reach: float = 4.0
    position_far_m: float = 2_000.0
    position_prefilter_z2: float = 6.0
    position_lr: float = 12.0
    # Arrival times (arrival.py): witnesses on GPS time stamp a reception to the µs (rounded
    # to the µs, 100 ns of error: σ ≈ 0.3 µs a stamp, sim_radio/reception.py), so a
    # reception's r (its stamp less its asserted distance over c) less its beacon's median r
    # is within a µs for an honest hotspot: the median |residual| of ≥ tdoa_min_obs
    # residuals of |N(0, 0.4 µs)| is ~0.27 µs, and past tdoa_residual_ns (1 µs, 300 m of
    # light; beyond 2.5σ) only when half of its receptions are, ~1 in 10⁶ for 8 of them; a
    # place 1 km off moves its residuals by up to 6.7 µs. Cable and radio latency (~0.1–0.5
    # µs on a rooftop's run) stays under it. Flagged when a place within tdoa_search_m,
    # ≥ tdoa_far_m from the asserted one, explains the arrivals as an honest hotspot's are:
    # median |residual| ≤ tdoa_fitted_ns (on the proving ground honest hotspots reached 642
    # ns at their own places, those with a single-channel radio's σ 1 µs among their
    # partners) and ≤ tdoa_explained of the asserted place's (clocks ms off, or µs off at
    # random, are explained by no place). Residuals from ≥ tdoa_min_partners hotspots (a place
    # has two unknowns: two ranges always meet) spread ≥ tdoa_spread_m about their centre (one
    # cluster of witnesses cannot place a beaconer). Beacons with tdoa_min_witnesses stamps
    # within tdoa_outlier_ns of their median (60 km of light: no honest geometry is past it;
    # relays' copies and NTP clocks are) are judged; each stamp against the median of the
    # others (of three stamps one is always the median: it would be 0 by construction).
    tdoa_residual_ns: float = 1_000.0
    tdoa_far_m: float = 1_000.0
    tdoa_fitted_ns: float = 750.0
    tdoa_explained: float = 0.5
    tdoa_search_m: float = 10_000.0
    tdoa_min_obs: int = 8
    tdoa_min_partners: int = 3
    tdoa_spread_m: float = 300.0
    tdoa_min_witnesses: int = 2
    tdoa_outlier_ns: float = 200_000.0
    # A verdict on fewer partners than this must stand with each partner that is itself off
    # (its pooled median |residual| past tdoa_residual_ns) left out: one partner asserting a
    # wrong place frames a hotspot that has few. On the whole 2022 population at 5 % (epoch
    # 1), 27 honest hotspots were flagged, every one with 3–5 partners, among them a false
    # location, an attenuator or keys behind one antenna; none stands so. Of the cheaters
    # flagged, 80 of 83 attenuators and 85 of 88 keys behind one antenna do (leaving out
    # every partner in turn, off or not, kept 68 and 80).
    tdoa_sturdy_partners: int = 6
    # A hotspot too sparse for that is judged again on the receptions where every other
    # hotspot of the beacon is vouched for (≥ tdoa_vouch_obs residuals of its own, median
    # |residual| under tdoa_residual_ns: an unfound liar among a beacon's two witnesses puts
    # both residuals off): flagged from tdoa_sparse_obs residuals whose median |residual| is
    # tdoa_sparse_ns or more (900 m of light) and that a place ≥ tdoa_far_m away explains,
    # however few its partners. 2 residuals of a single-channel radio (σ 1 µs) pass that ~3
    # times in 10⁵ (drawn), a concentrator's never; attenuators 3 km off show 3–11 µs
    # (docs/benchmarks.md, issue 13).
    tdoa_vouch_obs: int = 4
    tdoa_sparse_obs: int = 2
    tdoa_sparse_ns: float = 3_000.0
    # One-way ranges (arrival.py, "ranged"): a witness's stamp less its beacon's emission stamp
    # is the time of flight when both are on GPS time (sim_radio/reception.py: a concentrator's
    # stamp σ 100 ns then rounded to the µs; the simulator's emission stamp exact): its q (that
    # less the asserted distance over c and its datarate's usual offset) is within half a µs
    # for honest hotspots, −6.5 µs at the median for an attenuator 3 km off (the densest 1,500
    # hotspots of the 2022 population, a fifth attenuators: no honest hotspot's median |q|
    # against vouched partners past 0.5 µs from ≥ 2). Partners vouched as for the sparse test
    # (tdoa_vouch_obs, tdoa_residual_ns), each without its ranges with the hotspot judged;
    # flagged from range_obs q whose median |q| is range_ns
    # or more (900 m of light) and that a place ≥ tdoa_far_m away explains. 2 of a
    # single-channel radio (σ 1 µs, then the µs: ≈ 1.04) pass 3 µs ~9 times in 10⁵ (drawn), a
    # concentrator's never, a long cable's (0.5 µs) never. A hotspot's stamps in a role (as
    # beaconer, as witness) count only when range_timed_share of them are within the light
    # time of tdoa_search_m: a host clock (ms off, as a hotspot without a GPS time
    # reference stamps its beacon reports) is left out, however many land inside by chance.
    # One range alone flags from range_one_ns (1.2 km of light): an honest single-channel
    # radio's range (σ ≈ 1.04 µs) passes it ~1.2 times in 10⁴, ~65 in 10⁴ were the emission
    # stamped as noisily (σ ≈ 1.47 µs): a rate per hotspot judged on one range, and few are
    # (on the whole 2022 population at 5 %, 7 epochs, 4 honest hotspots of 3,284 judged, at
    # 27–345 ns). On the whole 2022 population at 20 % (3 epochs) no honest range between
    # concentrators reached 1.1 µs, and 32 of the attenuators missed had a single range, of
    # 5 µs or more; at 5 % (7 epochs), 3 missed had one of 4.1–4.3 µs to a partner vouched
    # for by hundreds of ranges at ~0.2 µs (docs/benchmarks.md, issue 13).
    # Many ranges a little off flag too: range_many_obs whose median |q| is range_many_ns or
    # more (600 m of light). A partner on a bearing across the lie sees a fraction of it (an
    # attenuator 3 km off, its partner 5 km away at right angles: 0.8 km, 2.8 µs), and with
    # fewer ranges than that its median would be a single-channel radio's noise: 8 of σ ≈
    # 1.04 µs pass 2 µs ~5 times in 10⁵ (drawn, as 2 pass 3 µs ~8 times), 4 pass it ~2 in
    # 10³. On the whole 2022 population at 20 % (7 epochs), with the vouchers counted without
    # the hotspot judged, 21 attenuators more were found (13 by this bar), no honest hotspot
    # (docs/benchmarks.md, issue 13).
    range_obs: int = 2
    range_ns: float = 3_000.0
    range_one_ns: float = 4_000.0
    range_many_obs: int = 8
    range_many_ns: float = 2_000.0
    # ... and range_some_obs whose median |q| is range_some_ns or more (750 m of light): 4 of a
    # single-channel radio pass 2.5 µs ~6 times in 10⁵ (2 million draws, stamps σ 1 µs then
    # rounded to the µs), as 2 pass range_ns ~9 times. On the whole 2022 population after 7
    # epochs, attenuators whose vouched ranges were 4–7 with a median of 2.5–3 µs (a partner
    # across the lie) were missed by the other bars (docs/benchmarks.md, issue 13).
    range_some_obs: int = 4
    range_some_ns: float = 2_500.0
    range_timed_share: float = 0.5
    # A hotspot that range_crossed_partners lone partners or more each refute (a "ranged" bar
    # past on their pair, each ranging with no one else), one place explaining its ranges
    # with every partner, each partner's median within tdoa_fitted_ns (arrival.py, "crossed").
    # On the whole 2022 population after 7 epochs, 3 attenuators more at 5 % (each heard by
    # two lone honest hotspots, or an inflator), 2 more at 20 %, no honest hotspot; on the
    # city, none (docs/benchmarks.md, issue 13).
    range_crossed_partners: int = 2
    # Who does not hear it (hearing.py): an honest hotspot is heard first by its nearest
    # neighbours, whatever its reach; an attenuator's partners stand around its true place, and
    # the active hotspots about the asserted place, nearer than any partner, are silent with
    # it. Each silent one counts the network's share of hotspots linked at its distance (the
    # links it would have had); flagged past hearing_silent such links, its partners' centre
    # hearing_far_m or more from the asserted place, with hearing_max_partners partners at most
    # (with more, their places and arrival times judge it: position.py, arrival.py; honest
    # hotspots past 5 links had 5–7). On the whole 2022 population (5 % after 1 and 7 epochs,
    # 20 % after 3), among those the other detectors leave, honest hotspots so judged reached
    # 7.5 (two partners 3 km off after one epoch), 6.4 (indoors behind 23 dB of walls, heard
    # by three hotspots 6 km away) and 5.7, the next 4.6; attenuators 5–49, 31 of 264 and 3 of
    # 71 of them 8 or more (docs/benchmarks.md, issue 13).
    hearing_silent: float = 8.0
    hearing_far_m: float = 1_000.0
    hearing_max_partners: int = 3
    # Closed clusters (clusters.py): members' links stay inside the group at least this share,
    # while this many active outsiders stand within the group's reach and none is linked.
    closed_share: float = 0.9
    min_cluster: int = 3
    min_outsiders: int = 3
    # Timing (timing.py): what the witness reports as its reception time, minus what the
    # beaconer reports as its transmission time. Honest clocks (GPS, NTP) agree within tens of
    # ms and LoRa propagation is µs; a relay adds an internet round trip.
    relay_ms: float = 80.0
    relay_share: float = 0.1  # of a witness's receptions that late: a relay (some links relayed)
    min_timed: int = 3
    # A relay's copy is its partner's reception, RSSI and SNR to the deci-unit; two radios
    # rarely report one beacon with both the same. A pair reporting identical
    # receptions, not at one instant (that is one antenna: shared.py), on at least this share
    # of the beacons the quieter of the two reported (and ≥ min_timed of them) is a relay and
    # its partner, however few of the relay's own receptions the copies are, and whatever the
    # partner's clock says. The copier is the one whose copies are ≥ relay_ms later, or, with a
    # clock too far off to compare, the one reporting more (its own receptions besides).
    copy_share: float = 0.5
    # A witness reporting a reception this long after the beacon heard a replayed copy.
    replay_ms: float = 10_000.0
    # A copy's RSSI at its late witnesses within this of how they usually hear its sender.
    replay_match_db: float = 6.0
    # A report's own time against the oracle's receive time, for reports the oracle judged
    # timely: honest hotspots upload within seconds.
    clock_offset_ms: float = 60_000.0
    # GPS over time (gps.py): a receiver's fixes scatter by about its accuracy estimate.
    min_fixes: int = 10
    clean_ratio: float = 0.05  # scatter below this share of h_acc: synthetic
    # Fixes whose distances from their centre spread (std/mean) this many standard deviations
    # below a real receiver's Rayleigh value (gps.RAYLEIGH_CV): jitter at a fixed radius. At 4 σ
    # one honest hotspot in ~30,000 is past it; a fixed circle nearly always from ~30 fixes on.
    ring_z: float = 4.0
    far_m: float = 400.0  # docs/protocol.md §5: past 400 m a fix gives no location trust
    jump_m: float = 1_000.0
    min_jumps: int = 2
    # Asserted places on an evenly spaced square grid (layout.py): each corner of a square
    # within grid_tolerance_m of where two sides put it, sides grid_min_m to grid_max_m, and
    # grid_members places or more in squares joined by their edges. An asserted cell (H3
    # resolution 12) rounds a place by up to ~10 m, and a corner's check adds four such
    # roundings (σ ~8 m each way): at 20 m, 4 of 342 keys of 3 × 3 grids were missed on the
    # whole 2022 population; at 40 m a chance grid of 6 stood among its real hotspots; at 25 m
    # neither (docs/benchmarks.md, issue 13).
    grid_tolerance_m: float = 25.0
    grid_min_m: float = 300.0
    grid_max_m: float = 5_000.0
    grid_members: int = 6
    # Hotspots that re-assert together (layout.py): moved_together_members or more, each
    # moved moved_min_m or more by one vector (within moved_together_m, two cells' rounding
    # and a little, or moved_together_share of the move where more: one bearing and distance
    # from places far apart differ on a sphere, by 56–106 m for 30 km between 27° S and
    # 57° N on the whole 2022 population), their new assertions within moved_together_ms of
    # each other, and two of them at least moved_apart_m apart before (keys behind one
    # antenna, or one office's hotspots, moving house together are not a layout).
    moved_together_members: int = 3
    moved_together_m: float = 50.0
    moved_together_share: float = 0.005
    moved_together_ms: int = 3_600_000
    moved_min_m: float = 300.0
    moved_apart_m: float = 300.0
    # A layout counts only assertions made within this of each other (a desk places its keys
    # in one sitting; a framer cannot change when honest hotspots asserted: layout.py).
    asserted_together_ms: int = 86_400_000


DEFAULT_PARAMS = DetectParams()
