"""Replays: the likely sender of a beacon heard again long after it was sent.

Each witness's lag is judged against the beacon's other witnesses (timing.py's
`relative_lag`). A reception `replay_ms` or more after the transmission is a copy someone sent
again. Whoever sent it must have heard the original in time, and its copy is heard the way
its own beacons are heard: of the timely witnesses of that beacon, the one whose usual RSSI
at the late witnesses best matches the copy's (within `replay_match_db`) is the likely
replayer. The copy's witnesses also say where it came from: each stamps it its distance
from the sender over c after it left (LoRa crosses 300 m in a µs; a GPS-disciplined
concentrator stamps to about that), so their stamps less that delay agree for the sender
alone. A hotspot placed so as the sender of several copies is flagged. The two are read
together: an RSSI naming whose receptions' stamps fit another candidate better (by
ARRIVAL_MARGIN) is dropped (stamps too coarse to fit anyone leave it standing); one whose
stamps fit the named hotspot counts as a placing. A copy heard by two witnesses only is
placed on the one candidate both stamps fit. A hotspot placed for several copies is
flagged (over the history, or two in one day: chance placings of an honest neighbour are
rare and spread out, a replayer's copies come every window), and so is one named or placed
for several replayed beacons, a good share of those it heard. A copy heard too thinly to
place still narrows its sender to the beacon's timely witnesses that its late witness can
hear: when that is one hotspot, heard as the copy was, it is singled out, and a hotspot
singled out for several replayed beacons is flagged; so is one that the late witnesses of
several beacons, taken together, narrow the sender down to (if their stamps could be one
transmission of its), or of two in one day; and one placed or narrowed down to for several
beacons together (a beacon once), each kind short of its own bar. A count of placings (or
of beacons named or placed, or of a day's singlings and narrowings) must also be more than
chance gives the hotspot, where replayers are many: an honest hotspot standing by hundreds
of replayed beacons in a week is placed for a few by coincidence. The bar is a Poisson tail
at its own mean: its chances (the replayed beacons it could have been placed for, or
narrowed down to) times the rate honest hotspots are placed (narrowed down to) at per
chance, read off the history (chance.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from oracle.detect.arrival_fit import C_M_PER_NS
from oracle.detect.chance import chance_rate, poisson_tail
from oracle.detect.cover import MIN_COVERED, covered
from oracle.detect.grouped import group_mean
from oracle.detect.history import History, haversine_m
from oracle.detect.model import DetectParams, Finding
from oracle.detect.timing import clock, relative_lag

# Named the sender of at least MIN_REPLAYS copies and REPLAY_SHARE of the replayed beacons it
# could have sent (heard in time, and heard by enough of the copy's witnesses to judge).
# Replayers standing among each other could have sent each other's copies too: one copy a
# window each, among five neighbours replaying, is a fifth. An honest neighbour of a replayer
# hears its copies as it hears the replayer and is named now and then: on the proving ground
# (city, 200 hotspots, replayers at 5 and 20 %) honest hotspots were named for 2 of 2, 3 of
# 12, 2 of 6 to 2 of 98 of the beacons they could have sent (mostly 4–9 %), replayers for
# 15–100 % (after a week 19–100 %). Two namings, or a tenth, denied an honest hotspot in most
# epochs; three and 15 % none at 20 % and one (epoch 1) at 5 %, at the cost of finding some
# replayers an epoch later. Beacons placed by arrival time count as named (each beacon once),
# and a naming the stamps contradict does not count: on the proving ground (Belgrade and
# city, 200 hotspots, replayers at 20 %, read back over a week) no honest hotspot reached
# three such beacons (at most 2 of 17 to 2 of 118), replayers 3 of 4–20 in their first epoch.
MIN_REPLAYS = 3
REPLAY_SHARE = 0.15
# A copy is explained by a sender when at least this many of its receptions, and this share
# of those whose witness usually hears the sender, are heard as that sender is usually heard.
REPLAY_MIN_RECEPTIONS = 3
REPLAY_EXPLAINED = 0.8
# Placing a copy by its witnesses' stamps: the candidate for whom ≥ ARRIVAL_MIN_RECEPTIONS
# of the copy's receptions, each less its distance from the candidate over c, fall within
# ARRIVAL_WINDOW_NS of each other is its sender, when every other candidate explains at least
# ARRIVAL_MARGIN receptions fewer of those same receptions (a neighbour within ~100 m of
# the sender explains nearly as many: neither is placed; another replayer of the beacon
# explains its own copy's, and is no rival). The window is ~300 m of light: a GPS-disciplined
# concentrator's stamps fit in it (and the history's float ms, ~0.24 µs at today's epoch
# times); noisier clocks place fewer copies, not wrong ones (stamps scattered by σ 1 µs
# placed no honest hotspot more than twice on the store below). On the proving ground
# (city, 200 hotspots, replayers at 20 %, 7 epochs) three honest hotspots of 80 were placed
# for one copy each, 36 of the 37 replayers whose copies anyone heard for 3–18 (one for 1);
# so three copies place a replayer. Judging rivals on the copy's own receptions placed honest
# hotspots for at most one copy in the first four epochs of the Belgrade and city stores at
# 20 %, two in the last three; with RSSI namings the stamps back counted as placings, the
# same (1, then 2): MIN_PLACED stays 3, and needs no share of the beacons heard.
ARRIVAL_WINDOW_NS = 1_000.0
ARRIVAL_MIN_RECEPTIONS = 3
ARRIVAL_MARGIN = 2
MIN_PLACED = 3
# ... or MIN_PLACED_IN_A_DAY of them among the beacons of one UTC day (an epoch, docs/protocol.md
# §6). A chance placing of an honest hotspot is a rare event and does not cluster: on the
# whole 2022 population at 5 % (epoch 1) 8 of 4,145 honest hotspots were placed once and
# none twice; over a week in Belgrade at 20 % (160 honest, 40 replayers) one honest hotspot
# reached two, four days apart, and none two in a day. A replayer sends a copy every window
# it heard a beacon, up to four a day: in that epoch 1, 19 replayers were placed for exactly
# two beacons, and waited a third (a day or more) to be denied, earning as honest hotspots
# meanwhile (their copies earn nothing: docs/protocol.md §5 rejects every late witness).
MIN_PLACED_IN_A_DAY = 2
# Placings by chance grow with the copies on air: with 1,202 replayers of the whole 2022
# population (20 %), 19 honest hotspots were placed for 2–7 copies over a week, and flagged
# (of 29 honest flagged, 1.18 %: docs/benchmarks.md, issue 13). So a count of placings (by
# the day, or over the history; or of beacons named or placed) flags only when chance alone
# reaches it with probability CHANCE_FALSE_ALARM or less: a Poisson of mean (the hotspot's
# chances: beacons with copies enough to place, among whose timely witnesses it stood) ×
# (the rate the history's honest kind of hotspot is placed at per chance, chance.py). Over
# a day, the level is shared among the days read. One honest hotspot in a thousand, a tenth
# of the 1 % for every detector together: the level is a choice, not a fit. The
# fixed bars stay floors, where copies are few (measured there). Singlings and narrowings
# keep their fixed bars over the history: their chance rate is not the honest hotspots'
# (a replayer is singled out or narrowed down to for few of its chances, as chance would:
# fitted as for placings, the whole 2022 population at 20 % after 3 epochs gave 5–16 times
# the honest hotspots' own rate). Too high a rate only makes a bar wait, so their bar of a
# day takes it (MIN_NARROWED_IN_A_DAY): a hotspot by many replayed beacons in a day needs
# more than two.
CHANCE_FALSE_ALARM = 1e-3
# A rate fitted on fewer hotspots with chances (a town, a hand-built history) is no rate:
# among a handful, a replayer's own placings would set it. Then the fixed bars alone.
RATE_MIN_HOTSPOTS = 100
DAY_MS = 86_400_000
# A beacon heard late by PAIR_RECEPTIONS witnesses only (a thin copy) is placed on the one
# candidate whose distances to the two explain their stamps' difference within
# ARRIVAL_WINDOW_NS: the sender always does (it heard the original in time, so it is a
# candidate), a neighbour only by chance. On the whole 2022 population at 5 %, epochs 1–3,
# 238 such beacons: 2 honest hotspots placed once each, 44 replayers (21 twice or more).
PAIR_RECEPTIONS = 2
# A copy heard by one witness (or by a few, each too thinly to place) still says two things:
# its sender heard the original in time, and the witness can hear the sender. When one
# hotspot alone of the beacon's timely witnesses is one the late witness has ever heard in
# time (and the copy is heard within SOLE_MATCH_DB of how it usually hears that one), that
# hotspot is singled out as the copy's sender, by no stamp at all; where the stamps place
# the beacon's copies, only a hotspot they place can be. A replayer is singled out wherever
# its copy lands among few neighbours; an honest hotspot only when the true sender is one
# the late witness never heard in time, and that did not repeat. On the whole 2022
# population at 20 % (replayers, inflators, attenuators; epochs 1–3): 71 singlings (without
# the RSSI bound) fell on honest hotspots, none thrice, 11,268 on replayers; three beacons
# or more singled out 594 replayers (87 the other rules did not find) and one inflator. At
# 5 % of eight classes over 7 epochs: 199 replayers (23 new) and nothing else. The RSSI
# bound: singled-out honest hotspots' copies were heard 5 dB off their usual median (20 dB
# at the 95th percentile), replayers' 2.4 (7.1); it cost 3 of the 633 replayers at 20 %.
SOLE_MATCH_DB = 10.0
MIN_SINGLED = 3
# A copy heard by several witnesses, none alone enough, is narrowed down by them together:
# the candidates each of them has heard in time as the copy was heard (within
# SOLE_MATCH_DB), intersected, when one is left. Two receptions of one beacon may be of two
# replayers' copies, whose intersection can leave an honest hotspot both witnesses hear
# (it stands between the two replayers); then their stamps, less the distances from it,
# disagree by the copies' different paths, so the one left must also be where the stamps
# of the receptions that narrowed it say one sender could be: within ARRIVAL_WINDOW_NS, as
# a placing's are (the true sender always is; one hotspot standing for two copies only by
# coincidence). On the whole 2022 population at 20 % (replayers, inflators, attenuators),
# over a week: without that check honest hotspots were singled out or narrowed down to for
# 39 beacons, 30 hotspots, two of them four times (both flagged at four); with it for 14,
# 13 hotspots, none more than twice (replayers: 1,097 four times in one day). So three.
MIN_NARROWED = 3
# ... or MIN_NARROWED_IN_A_DAY among one UTC day's beacons (as MIN_PLACED_IN_A_DAY: a replayer
# sends a copy every window), when chance alone reaches that count with probability
# CHANCE_FALSE_ALARM / days or less: a Poisson of mean (the hotspot's chances that day: the
# beacons with copies heard late among whose timely witnesses it stood) × the rate the
# history's lower kind of hotspot is singled out or narrowed down to per chance (chance.py,
# fitted on its own counts: singlings and narrowings come at their own rate). That fitted
# rate is above the honest hotspots' own (same store: after 1, 3 and 7 epochs 0.0039,
# 0.0035, 0.0019 per chance fitted; honest hotspots' own 0.0010, 0.0003, 0.0002): the bar
# errs toward waiting. There, after one epoch it found 57 more replayers (603 → 660 on air)
# and one honest hotspot (two singlings in a day by one witness that had not yet heard the
# replayer beside it); after 3 and 7 epochs none.
MIN_NARROWED_IN_A_DAY = 2

@dataclass
class ReplayTally:
    """Per hotspot (index), what the replayed beacons of a history say of it as their sender;
    each counts replayed beacons (a beacon once), `*_daily` keyed (hotspot, UTC day)."""

    named: Counter[int] = field(default_factory=Counter)
    testable: Counter[int] = field(default_factory=Counter)
    placed: Counter[int] = field(default_factory=Counter)
    either: Counter[int] = field(default_factory=Counter)  # named or placed
    by_stamps: Counter[int] = field(default_factory=Counter)  # placed, or named and backed
    by_stamps_daily: Counter[tuple[int, int]] = field(default_factory=Counter)
    contradicted: Counter[int] = field(default_factory=Counter)
    singled: Counter[int] = field(default_factory=Counter)
    narrowed: Counter[int] = field(default_factory=Counter)  # singled out or narrowed down
    narrowed_daily: Counter[tuple[int, int]] = field(default_factory=Counter)
    # Backed by the stamps or narrowed down to (a beacon once, whichever it was)
    backed_or_narrowed: Counter[int] = field(default_factory=Counter)
    # Beacons with copies heard late, among whose timely witnesses the hotspot stood: the
    # copies it could be singled out or narrowed down to.
    narrowable: Counter[int] = field(default_factory=Counter)
    narrowable_daily: Counter[tuple[int, int]] = field(default_factory=Counter)
    # Beacons with copies heard by enough late witnesses to place one (PAIR_RECEPTIONS),
    # among whose timely witnesses the hotspot stood: the copies it could be placed for.
    exposed: Counter[int] = field(default_factory=Counter)
    exposed_daily: Counter[tuple[int, int]] = field(default_factory=Counter)
    # Per replayed beacon, the hotspots that could have sent its copies (cover.py): those
    # every late witness hears as it heard the copy, whose distances fit the stamps.
    could_send: list[frozenset[int]] = field(default_factory=list)


def replay_tally(history: History, params: DetectParams) -> ReplayTally:
    """What each replayed beacon of `history` says of its likely senders (module docstring)."""
    w = history.witnesses
    h = history.hotspots
    index = {key: i for i, key in enumerate(h.keys)}
    wrong_clock = {index[f.hotspots[0]] for f in clock(history, params)}
    honest_clock = ~np.isin(w.witness, np.array(sorted(wrong_clock), dtype=np.int64))
    lag = relative_lag(history, params, exclude=~honest_clock)
    late = (lag >= params.replay_ms) & honest_clock
    tally = ReplayTally()
    if not late.any():
        return tally
    # How each hotspot usually hears each other one (mean RSSI of timely receptions): a copy
    # is heard the way its sender is usually heard, so the late witnesses' RSSI of the copy
    # points at the sender among the beacon's timely witnesses.
    prompt = (np.abs(lag) < params.relay_ms) & w.timely()
    n = len(h)
    pair = w.witness[prompt].astype(np.int64) * n + w.beaconer[prompt]
    pairs, inverse = np.unique(pair, return_inverse=True)
    usual = dict(zip(pairs.tolist(), group_mean(inverse, w.rssi_dbm[prompt], pairs.size).tolist(),
                     strict=True))
    order = np.argsort(w.beacon, kind="stable")
    by_beacon = w.beacon[order]
    for beacon in np.unique(w.beacon[late]):
        rows = order[np.searchsorted(by_beacon, beacon):np.searchsorted(by_beacon, beacon, "right")]
        late_rows = rows[late[rows]]
        heard = [(int(w.witness[r]) * n, float(w.rssi_dbm[r])) for r in late_rows]
        timely = set(w.witness[rows[np.abs(lag[rows]) < params.relay_ms]].tolist())
        timely -= set(w.witness[late_rows].tolist())
        candidates = sorted(timely)
        by_time = senders_by_arrival(history, late_rows, candidates)
        day = int(w.beacon_received_ms[rows[0]]) // DAY_MS
        tally.narrowable.update(candidates)
        tally.narrowable_daily.update((i, day) for i in candidates)
        if late_rows.size >= PAIR_RECEPTIONS:
            tally.exposed.update(candidates)
            tally.exposed_daily.update((i, day) for i in candidates)
        # A singling yields to the stamps: where they place the beacon's copies, only a
        # candidate they place can be the one singled out. The one the receptions narrow
        # down to must fit their stamps (MIN_NARROWED).
        sole, common = senders_by_hearing(heard, candidates, usual)
        could = frozenset(c for c in candidates
                          if all(heard_as(base, rssi, c, usual) for base, rssi in heard)
                          and one_sender(history, late_rows, c))
        if could:
            tally.could_send.append(could)
        if common:
            (left,) = common
            joined = [j for j, (base, rssi) in enumerate(heard)
                      if heard_as(base, rssi, left, usual)]
            if not one_sender(history, late_rows[joined], left):
                common = set()
        if by_time:
            sole, common = sole & set(by_time), common & set(by_time)
        tally.singled.update(sole)
        tally.narrowed.update(sole | common)
        tally.narrowed_daily.update((i, day) for i in sole | common)
        tally.placed.update(by_time)
        attributed, backed = set(by_time), set(by_time)
        # Per candidate: the late receptions it could explain (their witness usually hears
        # it) and those it does (heard as usual, within replay_match_db).
        known = {c: [j for j, (base, _) in enumerate(heard) if base + c in usual]
                 for c in sorted(timely)}
        known = {c: js for c, js in known.items() if len(js) >= REPLAY_MIN_RECEPTIONS}
        tally.testable.update(known.keys())
        left = set(range(len(heard)))
        # Several neighbours may replay one beacon: the best explanation takes its copies'
        # receptions, and the rest are explained again, while someone explains enough.
        while known:
            best, best_key, best_rows = -1, (0, 0.0), set()
            for c, js in known.items():
                js = [j for j in js if j in left]
                gaps = [abs(heard[j][1] - usual[heard[j][0] + c]) for j in js]
                match = {j for j, g in zip(js, gaps, strict=True)
                         if g < params.replay_match_db}
                if (len(match) >= REPLAY_MIN_RECEPTIONS
                        and len(match) >= REPLAY_EXPLAINED * len(js)
                        and (key := (len(match), -float(np.mean(gaps)))) > best_key):
                    best, best_key, best_rows = c, key, match
            if best < 0:
                break
            # The stamps of the receptions RSSI gave `best` may fit another candidate by
            # ARRIVAL_MARGIN more: then the copy was heard as `best` usually is by chance
            # (a neighbour of the replayer), and the naming is dropped. Stamps that fit no
            # one (clocks too coarse) leave it standing.
            fit = fullest_windows(np.sort(arrival_offsets(
                history, late_rows[sorted(best_rows)], candidates), axis=1))[0]
            own = fit[candidates.index(best)]
            if fit.max() < ARRIVAL_MIN_RECEPTIONS:
                tally.named[best] += 1
                attributed.add(best)
            elif own >= ARRIVAL_MIN_RECEPTIONS and own > fit.max() - ARRIVAL_MARGIN:
                tally.named[best] += 1
                attributed.add(best)
                backed.add(best)  # the stamps agree: as good as placed
            else:
                tally.contradicted[best] += 1
            left -= best_rows
            del known[best]
        tally.either.update(attributed)
        tally.by_stamps.update(backed)
        tally.backed_or_narrowed.update(backed | sole | common)
        tally.by_stamps_daily.update((i, day) for i in backed)
    return tally


def replay(history: History, params: DetectParams) -> list[Finding]:
    h = history.hotspots
    tally = replay_tally(history, params)
    # Placings against what chance gives the hotspot: the rate the history's hotspots are
    # placed at per chance (the lower kind's, chance.py), times its own chances.
    n = len(h)
    rate = chance_rate(np.array([tally.by_stamps[i] for i in range(n)], dtype=np.int64),
                       np.array([tally.exposed[i] for i in range(n)], dtype=np.int64),
                       RATE_MIN_HOTSPOTS)
    narrowing_rate = chance_rate(
        np.array([tally.narrowed[i] for i in range(n)], dtype=np.int64),
        np.array([tally.narrowable[i] for i in range(n)], dtype=np.int64), RATE_MIN_HOTSPOTS)
    days = len({day for _, day in tally.narrowable_daily}) or 1

    def past(count: int, bar: int, chances: int, level: float = CHANCE_FALSE_ALARM,
             per_chance: float = rate) -> bool:
        return count >= bar and poisson_tail(count, per_chance * chances) <= level

    flagged = {i for i, count in tally.either.items()
               if count >= REPLAY_SHARE * tally.testable[i]
               and past(count, MIN_REPLAYS, tally.exposed[i])}
    flagged |= {i for i, count in tally.by_stamps.items()
                if past(count, MIN_PLACED, tally.exposed[i])}
    in_a_day: Counter[int] = Counter()
    for (i, day), count in tally.by_stamps_daily.items():
        in_a_day[i] = max(in_a_day[i], count)
        if past(count, MIN_PLACED_IN_A_DAY, tally.exposed_daily[(i, day)],
                CHANCE_FALSE_ALARM / days):
            flagged.add(i)
    # Placings and narrowings together (MIN_PLACED of them, a beacon once): chance gives the
    # sum of the two Poissons, of mean the sum of theirs (a beacon both placed and narrowed
    # down to counts once, its chances twice: the bar errs toward waiting). On the whole 2022
    # population after 7 epochs it found 3 replayers more at 20 % and 1 at 5 %, and no honest
    # hotspot: none there was both placed and narrowed down to (docs/benchmarks.md).
    flagged |= {i for i, count in tally.backed_or_narrowed.items()
                if count >= MIN_PLACED and poisson_tail(
                    count, rate * tally.exposed[i] + narrowing_rate * tally.narrowable[i])
                <= CHANCE_FALSE_ALARM}
    flagged |= {i for i, count in tally.singled.items() if count >= MIN_SINGLED}
    flagged |= {i for i, count in tally.narrowed.items() if count >= MIN_NARROWED}
    narrowed_in_a_day: Counter[int] = Counter()
    for (i, day), count in tally.narrowed_daily.items():
        narrowed_in_a_day[i] = max(narrowed_in_a_day[i], count)
        if past(count, MIN_NARROWED_IN_A_DAY, tally.narrowable_daily[(i, day)],
                CHANCE_FALSE_ALARM / days, narrowing_rate):
            flagged.add(i)
    # The copies left, shared out among those who could have sent them (cover.py).
    took = covered(tally.could_send, flagged, tally.narrowable)
    flagged |= took.keys()
    return [
        Finding(
            detector="replay",
            hotspots=(h.keys[i],),
            score=float(max(tally.either[i] / MIN_REPLAYS, tally.by_stamps[i] / MIN_PLACED,
                            in_a_day[i] / MIN_PLACED_IN_A_DAY, tally.singled[i] / MIN_SINGLED,
                            tally.narrowed[i] / MIN_NARROWED,
                            narrowed_in_a_day[i] / MIN_NARROWED_IN_A_DAY,
                            took.get(i, 0) / MIN_COVERED)),
            evidence={"replayed_beacons_explained": tally.named[i],
                      "replayed_beacons_it_could_explain": tally.testable[i],
                      "replayed_beacons_placed_by_arrival_time": tally.placed[i],
                      "replayed_beacons_named_or_placed": tally.either[i],
                      "replayed_beacons_the_arrival_times_back": tally.by_stamps[i],
                      "most_the_arrival_times_back_in_a_day": in_a_day[i],
                      "replayed_beacons_it_could_be_placed_for": tally.exposed[i],
                      "placings_expected_by_chance": round(rate * tally.exposed[i], 3),
                      "namings_the_arrival_times_contradict": tally.contradicted[i],
                      "replayed_beacons_singled_out_on_it": tally.singled[i],
                      "replayed_beacons_singled_out_or_narrowed_down_to_it": tally.narrowed[i],
                      "most_singled_out_or_narrowed_down_in_a_day": narrowed_in_a_day[i],
                      "replayed_beacons_it_could_be_narrowed_down_to": tally.narrowable[i],
                      "narrowings_expected_by_chance":
                          round(narrowing_rate * tally.narrowable[i], 3),
                      "replayed_copies_it_took_in_the_cover": took.get(i, 0)},
        )
        for i in sorted(flagged)
    ]


def senders_by_hearing(heard: list[tuple[int, float]], candidates: list[int],
                       usual: dict[int, float]) -> tuple[set[int], set[int]]:
    """Of one beacon's candidates, by who its late witnesses can hear (`heard`: each late
    reception's witness × n and RSSI; `usual`: mean RSSI keyed witness × n + beaconer, of
    receptions in time): (those singled out, the one candidate a reception's witness has
    ever heard in time, heard within SOLE_MATCH_DB of that; the one candidate left when the
    receptions' witnesses' candidates heard as the copy was are intersected, or none)."""
    sole: set[int] = set()
    common: set[int] | None = None
    for base, rssi in heard:
        known = [c for c in candidates if base + c in usual]
        alike = {c for c in known if heard_as(base, rssi, c, usual)}
        if len(known) == 1 and alike:
            sole |= alike
        if alike:
            common = alike if common is None else common & alike
    return sole, (common if common is not None and len(common) == 1 else set())


def heard_as(base: int, rssi: float, sender: int, usual: dict[int, float]) -> bool:
    """Whether a reception (its witness × n, its RSSI) is heard as its witness usually hears
    `sender` in time (within SOLE_MATCH_DB): of a copy narrowed down to `sender`, the
    receptions that did it."""
    return base + sender in usual and abs(rssi - usual[base + sender]) < SOLE_MATCH_DB


def one_sender(history: History, rows: np.ndarray, candidate: int) -> bool:
    """Whether `candidate` could have sent what each of `rows` heard as one transmission:
    their stamps, less its distance from each witness over c, within ARRIVAL_WINDOW_NS (one
    reception always could)."""
    if rows.size < 2:
        return True
    sent = arrival_offsets(history, rows, [candidate])[0]
    return bool(sent.max() - sent.min() <= ARRIVAL_WINDOW_NS)


def senders_by_arrival(history: History, late_rows: np.ndarray,
                       candidates: list[int]) -> list[int]:
    """The candidates placed, by their witnesses' stamps, as senders of copies of one beacon
    (`late_rows`: its late receptions, from witnesses whose clocks are trusted). Several may
    have replayed it: the fullest window takes its copy's receptions, and its candidate is
    placed when every other candidate explains ARRIVAL_MARGIN fewer of those same receptions
    (a candidate explaining as many of another copy's is no rival). A copy whose sender
    cannot be told from a neighbour is set aside, and the rest are placed in turn. A beacon
    whose only late receptions are PAIR_RECEPTIONS is placed on the one candidate whose
    window holds both."""
    if len(candidates) == 0 or late_rows.size < PAIR_RECEPTIONS:
        return []
    sent = arrival_offsets(history, late_rows, candidates)
    if late_rows.size == PAIR_RECEPTIONS:  # one copy heard twice
        both = np.abs(sent[:, 1] - sent[:, 0]) <= ARRIVAL_WINDOW_NS
        return [int(candidates[int(both.argmax())])] if both.sum() == 1 else []
    if late_rows.size < ARRIVAL_MIN_RECEPTIONS:
        return []
    left = np.ones(late_rows.size, dtype=bool)
    out: list[int] = []
    while left.sum() >= ARRIVAL_MIN_RECEPTIONS:
        rows = np.flatnonzero(left)
        order = np.argsort(sent[:, rows], axis=1)
        count, opening = fullest_windows(np.take_along_axis(sent[:, rows], order, axis=1))
        best = int(count.argmax())
        if count[best] < ARRIVAL_MIN_RECEPTIONS:
            break
        taken = rows[order[best, opening[best]:opening[best] + count[best]]]
        rivals = fullest_windows(np.sort(np.delete(sent[:, taken], best, axis=0), axis=1))[0]
        if rivals.size == 0 or rivals.max() <= count[best] - ARRIVAL_MARGIN:
            out.append(int(candidates[best]))
        left[taken] = False
    return out


def arrival_offsets(history: History, rows: np.ndarray, candidates: list[int]) -> np.ndarray:
    """Per candidate (row) and reception (column): when the candidate would have sent what
    each witness heard, its stamp less the candidate's distance over c, in whole ns (as
    reports stamp them) from the first reception's stamp."""
    w, h = history.witnesses, history.hotspots
    cand = np.array(candidates, dtype=np.int64)
    heard_by = w.witness[rows]
    metres = haversine_m(h.lat[cand][:, None], h.lon[cand][:, None],
                         h.lat[heard_by][None, :], h.lon[heard_by][None, :])
    stamps = (w.witness_timestamp_ms[rows] - w.witness_timestamp_ms[rows[0]]) * 1e6
    return np.round(stamps[None, :] - metres / C_M_PER_NS)


def fullest_windows(starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `starts` (each sorted): the most values in one ARRIVAL_WINDOW_NS window and
    the index it opens at (a window opens at a value)."""
    count = np.zeros(starts.shape[0], dtype=np.int64)
    opening = np.zeros(starts.shape[0], dtype=np.int64)
    if starts.shape[1] == 0:
        return count, opening
    for c in range(starts.shape[0]):
        ends = np.searchsorted(starts[c], starts[c] + ARRIVAL_WINDOW_NS, side="right")
        opening[c] = int(np.argmax(ends - np.arange(starts.shape[1])))
        count[c] = ends[opening[c]] - opening[c]
    return count, opening
