"""Dishonest hotspots: what a scenario's adversaries do to the radio world and to the reports.

Some cheats change the physics, so they are applied before the mesh is built: an attenuator
adds loss between radio and antenna (hiding a false location a few km away); hotspots sharing
one antenna stand in one place and share its shadowing. The others change what is reported, so
they are applied to each round's receptions: false asserted locations (GPS honest, or spoofed
to match), RSSI inflation, a ring that only witnesses its own members and fabricates those
witnesses, relays that report what a partner far away heard (internet latency added), replays
of heard beacons (real re-transmissions through the mesh, long after the entropy expired),
clocks hours off, and witness stuffing with the same RSSI and SNR on every report. Shared
antennas may assert an evenly spaced grid.

`Assignment.dishonest` records who cheats and how, so the oracle's detection can be scored;
each report carries flags (sim_radio/reports.py) saying which cheat produced or altered it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np

from sim_radio.mesh import Mesh, RoundResult, Transmissions
from sim_radio.population import EARTH_RADIUS_M, Hotspot
from sim_radio.reports import (  # the record API: importable from here as before
    FLAG_CLOCK_OFFSET,
    FLAG_CONSTANT,
    FLAG_FABRICATED,
    FLAG_INFLATED,
    FLAG_RELAYED,
    FLAG_REPLAYED,
    FLAG_WIRED,
    WitnessReports,
    concat,
    select,
)
from sim_radio.reports import (
    FLAG_NAMES as FLAG_NAMES,  # re-exported: run reports count flags by these names
)

# Parameters of each behaviour and their defaults; a scenario may set only these keys.
BEHAVIOURS: Mapping[str, Mapping[str, float | str]] = MappingProxyType(
    {
        "false_location": {"offset_km": 20.0, "gps": "honest"},  # gps: honest | spoofed
        "rssi_inflation": {"db": 15.0},
        # A false location a few km away (GPS spoofed to match) hidden behind an attenuator:
        # `db` lost both ways, so its true neighbours do not hear it too strongly for the
        # asserted distance (docs/protocol.md §5 rule 11; signal.py's distance law). 3 km keeps
        # its neighbours (links of 1-5 km) and puts it in hexes of its own (HIP-17 scaling).
        # offset_km = 0 is an honest hotspot behind a long cable.
        "attenuator": {"db": 20.0, "offset_km": 3.0, "gps": "spoofed"},
        # grid_km > 0: the members assert an evenly spaced square grid (real denylist cases)
        "shared_antenna": {"group": 4, "spread_km": 5.0, "grid_km": 0.0},
        "collusion_ring": {"size": 5, "margin_db": 20.0},
        "beacon_relay": {"latency_ms": 150.0},
        "replay": {"delay_s": 900.0},
        "clock_offset": {"hours": 5.0},
        # Witness stuffing as real denylist cases show it: the same RSSI and SNR on every
        # report, whatever was received (−140 dBm / −20 dB in the cases found).
        "constant_report": {"rssi_dbm": -140.0, "snr_db": -20.0},
        # GPS spoofers as real denylist cases show them over time (see gps_fixes.py): a false
        # location whose fix never moves, or jitters at one exact distance from it.
        "gps_frozen": {"offset_km": 20.0},
        "gps_clean_jitter": {"offset_km": 20.0, "radius_m": 5.0},
        # Hotspots in one room joined by cables and attenuators, asserting places spread_km
        # apart: they "hear" each other at an RSSI that barely varies (±1 dB).
        "wired_cluster": {"size": 4, "spread_km": 3.0, "rssi_dbm": -105.0},
        # A group that asserts new places at once, all moved by one vector (gps_fixes.claim_at).
        "cluster_move": {"size": 5, "move_km": 30.0, "round": 2},
    }
)
# Parameters that are not counts or magnitudes ≥ 0, with the range a scenario may give.
PARAM_RANGES: Mapping[str, tuple[float, float]] = MappingProxyType(
    {"rssi_dbm": (-200.0, 0.0), "snr_db": (-40.0, 20.0)}
)
GROUP_SIZE_KEY = {"shared_antenna": "group"} | dict.fromkeys(
    ("collusion_ring", "wired_cluster", "cluster_move"), "size"
)

_REPLAY_EVENT_BASE = 1 << 52


@dataclass(frozen=True)
class AdversarySpec:
    behaviour: str
    share: float
    params: tuple[tuple[str, float | str], ...] = ()

    def param(self, key: str) -> float | str:
        return dict(self.params).get(key, BEHAVIOURS[self.behaviour][key])


@dataclass(frozen=True)
class Dishonesty:
    """One cheat of one hotspot; `group` ties members of a ring or of one shared antenna."""

    behaviour: str
    params: tuple[tuple[str, float | str], ...]
    group: int = -1

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"behaviour": self.behaviour, **dict(self.params)}
        if self.group >= 0:
            out["group"] = self.group
        return out


@dataclass(frozen=True)
class Claim:
    """What a hotspot tells the network about itself."""

    asserted_lat: float
    asserted_lon: float
    gps_lat: float | None
    gps_lon: float | None
    clock_offset_ns: int = 0


@dataclass(frozen=True)
class Assignment:
    hotspots: tuple[Hotspot, ...]  # the physical world
    claims: tuple[Claim, ...]
    dishonest: Mapping[int, tuple[Dishonesty, ...]]  # node index -> its cheats
    rings: tuple[tuple[int, ...], ...] = ()
    relay_partner: Mapping[int, tuple[int, int]] = field(default_factory=dict)  # (partner, ns)
    inflation_db: Mapping[int, float] = field(default_factory=dict)
    replay_delay_ns: Mapping[int, int] = field(default_factory=dict)
    constant_report: Mapping[int, tuple[float, float]] = field(default_factory=dict)  # RSSI, SNR
    # How each node's GPS fix moves over time (gps_fixes.py): ("frozen" | "clean_jitter",
    # radius m); nodes not listed wander as a real receiver does.
    gps_mode: Mapping[int, tuple[str, float]] = field(default_factory=dict)
    wired: tuple[tuple[int, ...], ...] = ()  # members of each wired cluster
    moves: Mapping[int, tuple[int, float, float]] = field(default_factory=dict)  # round, lat, lon


def offset_position(lat: float, lon: float, distance_m: float, bearing_rad: float):
    """The point `distance_m` away along a great circle (spherical Earth)."""
    la, lo, d = math.radians(lat), math.radians(lon), distance_m / EARTH_RADIUS_M
    la2 = math.asin(math.sin(la) * math.cos(d) + math.cos(la) * math.sin(d) * math.cos(bearing_rad))
    lo2 = lo + math.atan2(
        math.sin(bearing_rad) * math.sin(d) * math.cos(la),
        math.cos(d) - math.sin(la) * math.sin(la2),
    )
    return math.degrees(la2), (math.degrees(lo2) + 180.0) % 360.0 - 180.0


def assign(hotspots: Sequence[Hotspot], specs: Sequence[AdversarySpec], seed: int) -> Assignment:
    """Give each spec's share of hotspots its behaviour (disjoint sets, seeded draw)."""
    rng = np.random.default_rng([seed, 0xAD7])
    world = list(hotspots)
    claims = [Claim(h.lat, h.lon, h.lat, h.lon) for h in world]
    dishonest: dict[int, list[Dishonesty]] = {}
    rings: list[tuple[int, ...]] = []
    relay: dict[int, tuple[int, int]] = {}
    inflation: dict[int, float] = {}
    replay: dict[int, int] = {}
    constant: dict[int, tuple[float, float]] = {}
    gps_mode: dict[int, tuple[str, float]] = {}
    wired: list[tuple[int, ...]] = []
    moves: dict[int, tuple[int, float, float]] = {}
    pool = [int(i) for i in rng.permutation(len(world))]
    # The attenuators' bearings come from a stream of their own: the other classes' draws
    # stay those of the same seed as before attenuators asserted false places.
    bearings = np.random.default_rng([seed, 0xA77E])
    group_id = 0
    for spec in sorted(specs, key=lambda s: list(BEHAVIOURS).index(s.behaviour)):
        count = round(spec.share * len(world))
        size = (
            int(spec.param(GROUP_SIZE_KEY[spec.behaviour]))
            if spec.behaviour in GROUP_SIZE_KEY
            else 1
        )
        count -= count % size
        if count > len(pool):
            raise ValueError(f"adversary shares need more hotspots than the {len(world)} there are")
        chosen, pool = pool[:count], pool[count:]
        params = tuple(sorted((k, spec.param(k)) for k in BEHAVIOURS[spec.behaviour]))
        for start in range(0, count, size):
            members = chosen[start : start + size]
            group = group_id if size > 1 else -1
            group_id += size > 1
            for i in members:
                dishonest.setdefault(i, []).append(Dishonesty(spec.behaviour, params, group))
            _apply(spec, members, world, claims, rng, rings, relay, inflation, replay, pool,
                   bearings)
            if spec.behaviour == "constant_report":
                value = (float(spec.param("rssi_dbm")), float(spec.param("snr_db")))
                constant.update(dict.fromkeys(members, value))
            elif spec.behaviour in ("gps_frozen", "gps_clean_jitter"):
                radius = float(spec.param("radius_m")) if "radius_m" in dict(params) else 0.0
                mode = spec.behaviour.removeprefix("gps_")
                gps_mode.update(dict.fromkeys(members, (mode, radius)))
            elif spec.behaviour == "wired_cluster":
                wired.append(tuple(members))
            elif spec.behaviour == "cluster_move":
                move_m, bearing = float(spec.param("move_km")) * 1000, rng.uniform(0, 2 * math.pi)
                when = round(float(spec.param("round")))
                for i in members:
                    c = claims[i]
                    moves[i] = (
                        when,
                        *offset_position(c.asserted_lat, c.asserted_lon, move_m, bearing),
                    )
    return Assignment(
        tuple(world),
        tuple(claims),
        MappingProxyType({i: tuple(v) for i, v in sorted(dishonest.items())}),
        tuple(rings),
        MappingProxyType(relay),
        MappingProxyType(inflation),
        MappingProxyType(replay),
        MappingProxyType(constant),
        MappingProxyType(gps_mode),
        tuple(wired),
        MappingProxyType(moves),
    )


def _apply(spec, members, world, claims, rng, rings, relay, inflation, replay, honest, bearings):
    """One group of `members` takes up `spec`'s behaviour: edits `world`/`claims` in place and
    notes what the report stage needs (rings, relays, inflation, replays)."""
    b = spec.behaviour
    if b == "attenuator":
        for i in members:
            world[i] = replace(
                world[i], cable_loss_db=world[i].cable_loss_db + float(spec.param("db"))
            )
    offset_m = float(spec.param("offset_km")) * 1000 if "offset_km" in BEHAVIOURS[b] else 0.0
    if b in ("false_location", "gps_frozen", "gps_clean_jitter") or (
        b == "attenuator" and offset_m > 0
    ):
        draw = bearings if b == "attenuator" else rng
        for i in members:
            h = world[i]
            lat, lon = offset_position(h.lat, h.lon, offset_m, draw.uniform(0, 2 * math.pi))
            spoofed = b.startswith("gps_") or spec.param("gps") == "spoofed"
            claims[i] = replace(
                claims[i],
                asserted_lat=lat,
                asserted_lon=lon,
                gps_lat=lat if spoofed else h.lat,
                gps_lon=lon if spoofed else h.lon,
            )
    elif b in ("shared_antenna", "wired_cluster"):
        leader = world[members[0]]
        shared = b == "shared_antenna"  # else one room, each radio on its own cable
        for k, i in enumerate(members):
            world[i] = replace(
                world[i],
                lat=leader.lat,
                lon=leader.lon,
                height_m=leader.height_m,
                # One place, one region plan: a key drawn elsewhere (another continent's plan)
                # and moved here runs the plan of where its radio now stands, as its leader's.
                region=leader.region,
                gain_dbi_x10=leader.gain_dbi_x10 if shared else world[i].gain_dbi_x10,
                antenna_id=f"antenna-of-{leader.node_id}" if shared else world[i].antenna_id,
            )
            grid_m = float(spec.param("grid_km")) * 1000 if shared else 0.0
            if k and grid_m > 0:
                row, col = divmod(k, math.ceil(math.sqrt(len(members))))
                lat, lon = offset_position(leader.lat, leader.lon, grid_m * row, 0.0)
                lat, lon = offset_position(lat, lon, grid_m * col, math.pi / 2)
                claims[i] = Claim(lat, lon, lat, lon)
            elif k:
                lat, lon = offset_position(
                    leader.lat,
                    leader.lon,
                    float(spec.param("spread_km")) * 1000 * k,
                    rng.uniform(0, 2 * math.pi),
                )
                claims[i] = Claim(lat, lon, lat, lon)  # GPS spoofed along with the assertion
            else:
                claims[i] = Claim(leader.lat, leader.lon, leader.lat, leader.lon)
    elif b == "collusion_ring":
        rings.append(tuple(members))
    elif b == "beacon_relay":
        hearing = _hearing_partners(world, honest)
        for i in members:
            # One draw per relay over the whole pool, as before the partners were chosen by
            # hearing: the other classes' draws stay those of the same seed.
            k = int(rng.integers(len(honest))) if honest else 0
            partner = hearing[k * len(hearing) // len(honest)] if honest else (i + 1) % len(world)
            relay[i] = (partner, round(float(spec.param("latency_ms")) * 1e6))
    elif b == "rssi_inflation":
        inflation.update({i: float(spec.param("db")) for i in members})
    elif b == "replay":
        replay.update({i: round(float(spec.param("delay_s")) * 1e9) for i in members})
    elif b == "clock_offset":
        offset = round(float(spec.param("hours")) * 3600e9)
        for i in members:
            claims[i] = replace(claims[i], clock_offset_ns=offset)


# A relay's partner is a hotspot that hears (see _hearing_partners): one with at least this
# many other hotspots in its own and the eight surrounding grid cells of this side.
PARTNER_NEIGHBOURS = 3
PARTNER_CELL_M = 5_000.0


def _hearing_partners(world: Sequence[Hotspot], pool: Sequence[int]) -> list[int]:
    """The hotspots of `pool` a relay operator would pick as partner, best first: a relay
    earns only what its partner hears, so an operator places the partner where it hears; an
    indoor hotspot behind 10–20 dB of walls, or on a noisy site, may hear nothing in a week,
    and one with no other hotspot around has nothing to hear. Of those with ≥
    PARTNER_NEIGHBOURS others within about PARTNER_CELL_M (same or adjacent grid cell), the
    best quarter by receive loss (cable, walls and site noise less antenna gain: in a Helium
    siting, 70 % indoors, about the outdoor ones); of the whole pool when none has such
    neighbours."""
    if not pool:
        return []
    cell_deg = PARTNER_CELL_M / EARTH_RADIUS_M * 180.0 / math.pi
    cells = [(math.floor(h.lat / cell_deg), math.floor(h.lon / cell_deg)) for h in world]
    count: dict[tuple[int, int], int] = {}
    for c in cells:
        count[c] = count.get(c, 0) + 1

    def neighbours(i: int) -> int:
        y, x = cells[i]
        return sum(count.get((y + dy, x + dx), 0) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) - 1

    def loss(i: int) -> float:
        h = world[i]
        return h.cable_loss_db + h.entry_loss_db + h.noise_excess_db - h.gain_dbi_x10 / 10

    ranked = sorted(pool, key=lambda i: (loss(i), i))
    good = [i for i in ranked if neighbours(i) >= PARTNER_NEIGHBOURS] or ranked
    return good[: max(1, len(good) // 4)]


def witness_reports(mesh: Mesh, result: RoundResult, assignment: Assignment) -> WitnessReports:
    """Turn a round's physical receptions into the witness reports hotspots would submit.

    Replays are real transmissions through `mesh` and spend the replayers' transmit budgets:
    call this once per round, in round order."""
    rec = result.receptions
    n = len(rec)
    parts = [
        WitnessReports(
            rec.event,  # not copied: concat below always makes new arrays
            rec.tx,
            rec.rx,
            rec.rssi_dbm,
            rec.snr_db,
            rec.received_ns,
            np.zeros(n, np.uint8),
        )
    ]
    base = parts[0]
    # Ring members witness only each other (and fabricate what they missed); wired clusters
    # hear each other through cables, not the air.
    for groups, keep, rssi_of, flag in (
        (assignment.rings, np.equal, _ring_rssi, FLAG_FABRICATED),
        (assignment.wired, np.not_equal, _wired_rssi, FLAG_WIRED),
    ):
        if not groups:
            continue
        group_of = np.full(len(assignment.hotspots), -1, np.int64)
        for g, members in enumerate(groups):
            group_of[list(members)] = g
        w, b = group_of[base.witness], group_of[base.beaconer]
        parts[0] = base = select(base, (w < 0) | keep(w, b))
        sent = result.transmissions
        parts.append(_fabricate(mesh, sent, assignment, base, groups, rssi_of, flag))
    if assignment.relay_partner:
        partners = np.array([p for p, _ in assignment.relay_partner.values()], np.int64)
        heard_by_partner = select(base, np.isin(base.witness, partners))
        for node, (partner, latency_ns) in assignment.relay_partner.items():
            m = (heard_by_partner.witness == partner) & (heard_by_partner.beaconer != node)
            copy = select(heard_by_partner, m)
            parts.append(
                replace(
                    copy,
                    witness=np.full(len(copy), node, np.int32),
                    reported_ns=copy.reported_ns + latency_ns,
                    flags=copy.flags | FLAG_RELAYED,
                )
            )
    if assignment.replay_delay_ns:
        parts.append(_replays(mesh, result, assignment))
    out = concat(parts)
    n_nodes = len(assignment.hotspots)
    if assignment.inflation_db:
        inflation = np.zeros(n_nodes, np.float32)
        inflation[list(assignment.inflation_db)] = list(assignment.inflation_db.values())
        out.rssi_dbm[:] += inflation[out.witness]
        out.flags[inflation[out.witness] != 0] |= FLAG_INFLATED
    if assignment.constant_report:
        fixed = np.full((n_nodes, 2), np.nan, np.float32)
        fixed[list(assignment.constant_report)] = list(assignment.constant_report.values())
        stuffer = ~np.isnan(fixed[out.witness, 0])
        out.rssi_dbm[stuffer] = fixed[out.witness[stuffer], 0]
        out.snr_db[stuffer] = fixed[out.witness[stuffer], 1]
        out.flags[stuffer] |= FLAG_CONSTANT
    offsets = np.array([c.clock_offset_ns for c in assignment.claims], np.int64)
    if offsets.any():
        out.reported_ns[:] += offsets[out.witness]
        out.flags[offsets[out.witness] != 0] |= FLAG_CLOCK_OFFSET
    return out


def _ring_rssi(mesh: Mesh, sent: Transmissions, a: Assignment, k: int, b: int, w: int) -> float:
    """A ring's fabricated witness: `margin_db` under the free-space bound at the asserted
    distance, so the verifier's bound passes."""
    margin = float(dict(a.dishonest[w][0].params)["margin_db"])
    cb, cw = a.claims[b], a.claims[w]
    d = _haversine_m(cb.asserted_lat, cb.asserted_lon, cw.asserted_lat, cw.asserted_lon)
    fspl = 20 * math.log10(4 * math.pi * max(d, 1.0) * sent.freq_hz[k] / 299_792_458.0)
    gains = mesh.gain_dbi[b] + mesh.gain_dbi[w]
    return round(min(float(sent.power_dbm[k]) + gains - fspl - margin, -60.0))


def _wired_rssi(mesh: Mesh, sent: Transmissions, a: Assignment, k: int, b: int, w: int) -> float:
    """Through a cable and attenuator: the cluster's RSSI, ±1 dB by frame and receiver."""
    rssi = float(dict(a.dishonest[w][0].params)["rssi_dbm"])
    return rssi + (int(sent.event[k]) * 31 + w) % 3 - 1


def _fabricate(
    mesh: Mesh,
    sent: Transmissions,
    a: Assignment,
    real: WitnessReports,
    groups: tuple[tuple[int, ...], ...],
    rssi_of: Callable[[Mesh, Transmissions, Assignment, int, int, int], float],
    flag: int,
) -> WitnessReports:
    """Witnesses the members of each group report of each other's beacons without hearing
    them over the air (those already reported are kept), at `rssi_of`'s RSSI; flagged
    fabricated (rings) or wired (wired clusters)."""
    members_all = np.array([m for group in groups for m in group], np.int64)
    mine = np.isin(real.witness, members_all)
    have = set(zip(real.beaconer[mine].tolist(), real.witness[mine].tolist(), strict=True))
    rows: list[tuple[int, int, int, float, float, int]] = []
    row_of = {int(t): k for k, t in enumerate(sent.tx)}
    for members in groups:
        for b in members:
            k = row_of.get(b)
            if k is None:
                continue
            for w in members:
                if w == b or (b, w) in have:
                    continue
                rssi = rssi_of(mesh, sent, a, k, b, w)
                snr = round(4 * max(min(rssi + 117.0, 10.0), -19.0)) / 4
                rows.append(
                    (int(sent.event[k]), b, w, rssi, snr, int(sent.start_ns[k]) + 1_000_000)
                )
    if not rows:
        return select(real, np.zeros(len(real), bool))
    ev, bb, ww, rs, sn, t = zip(*rows, strict=True)
    return WitnessReports(
        np.array(ev, np.int64),
        np.array(bb, np.int32),
        np.array(ww, np.int32),
        np.array(rs, np.float32),
        np.array(sn, np.float32),
        np.array(t, np.int64),
        np.full(len(rows), flag, np.uint8),
    )


def _replays(mesh: Mesh, result: RoundResult, a: Assignment) -> WitnessReports:
    """Each replayer re-sends the last beacon it heard, `delay_s` later, from where it stands;
    whoever hears that copy reports a witness of the old beacon (its `sender`, the replayer,
    is the simulator's ground truth, not on the wire)."""
    rec, sent = result.receptions, result.transmissions
    row_of = {int(e): k for k, e in enumerate(sent.event)}
    mine = np.flatnonzero(np.isin(rec.rx, np.array(list(a.replay_delay_ns), np.int64)))
    tx, start, freq, event, origin = [], [], [], [], []
    for node, delay_ns in sorted(a.replay_delay_ns.items()):
        heard = mine[rec.rx[mine] == node]
        if heard.size == 0:
            continue
        last = heard[np.argmax(rec.received_ns[heard])]
        k = row_of[int(rec.event[last])]
        when = mesh.budget(node).schedule(
            int(sent.freq_hz[k]), sent.airtime_ns[k] / 1e9, int(rec.received_ns[last]) + delay_ns
        )
        if when is None:
            continue
        tx.append(node)
        start.append(when)
        freq.append(int(sent.freq_hz[k]))
        event.append(_REPLAY_EVENT_BASE + int(sent.event[k]) * 4096 + node % 4096)
        origin.append(k)
    if not tx:
        return WitnessReports(
            *(
                np.zeros(0, t)
                for t in (np.int64, np.int32, np.int32, np.float32, np.float32, np.int64, np.uint8)
            )
        )
    o = np.array(origin)
    copies = Transmissions(
        np.array(tx, np.int32),
        np.array(start, np.int64),
        np.array(freq, np.int64),
        np.array(event, np.int64),
        mesh.max_power_dbm[np.array(tx)],
        sent.sf[o],
        sent.airtime_ns[o],
    )
    heard, _ = mesh.transmit(copies)
    by_event = np.argsort(copies.event)
    pos = by_event[np.searchsorted(copies.event, heard.event, sorter=by_event)]
    k = o[pos]  # the original beacon's row; copies.tx[pos] is the replayer that sent it
    # Hotspots ignore their own beacons and beacons they already witnessed (docs/protocol.md §4).
    n_nodes = np.int64(len(a.hotspots))
    originals = np.isin(rec.event, sent.event[o])
    seen = rec.event[originals] * n_nodes + rec.rx[originals]
    fresh = ~np.isin(sent.event[k] * n_nodes + heard.rx, seen)
    fresh &= heard.rx != sent.tx[k]
    heard, k = heard.select(fresh), k[fresh]
    return WitnessReports(
        sent.event[k],
        sent.tx[k],
        heard.rx,
        heard.rssi_dbm,
        heard.snr_db,
        heard.received_ns,
        np.full(len(heard), FLAG_REPLAYED, np.uint8),
        copies.tx[pos[fresh]],
    )


def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
