"""The in-process radio mesh: which hotspots hear a frame, and with what RSSI and SNR.

Finding the receivers of one beacon must not cost O(N): positions live on a 3-D grid of cubes
(Earth-centred coordinates, so poles and the antimeridian need no special case) whose side is
the largest distance at which the best case (strongest transmitter, best receiver, most
favourable shadowing within its cut-off, radio horizon) still meets sensitivity. A receiver can
only be in the 27 cubes around the transmitter's, and every candidate link of a batch of frames
is then evaluated at once with numpy.

Every random choice (beacon time and channel, shadowing, measurement noise) is a hash of the
seed and the antennas or event involved, so a run replays exactly, whatever order or batch size
the links are evaluated in. `MeshAir` (mesh_air.py) puts SimRadio and the virtual devices on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields

import numpy as np
from numpy.typing import NDArray

from pocnet import link
from pocnet.regions import RegionPlan, get_plan
from sim_radio import channel as ch
from sim_radio import reception
from sim_radio.population import EARTH_RADIUS_M, Hotspot, arc_m, radio_horizon_m, to_xyz
from sim_radio.propagation import (
    SHADOW_STREAM,
    PathLossModel,
    _splitmix,
    hash_normal,
    key_mix,
    link_hash,
    max_range_m,
    shadowing_from_hash,
)

BEACON_FRAME_LEN = 52  # docs/protocol.md §4: MHDR + 51-byte payload
BEACON_WINDOW_NS = 6 * 3600 * 1_000_000_000  # docs/protocol.md §4: one beacon per 6-hour window
MIN_CELL_M = 100.0  # keeps grid keys inside int64 for tiny ranges
PAIRS_PER_BATCH = 1_000_000  # candidate links per numpy pass: bounds temporary memory
REPORT_BATCH = 1_000_000  # receptions given measurement noise per numpy pass
C_M_PER_NS = 0.299792458
_SCHEDULE_STREAM = 0x5C4E


@dataclass(frozen=True)
class Transmissions:
    """Frames put on the air: one row per frame."""

    tx: NDArray[np.int32]
    start_ns: NDArray[np.int64]
    freq_hz: NDArray[np.int64]
    event: NDArray[np.int64]  # unique id of the frame (measurement noise hashes it)
    power_dbm: NDArray[np.float64]  # conducted
    sf: NDArray[np.int8]
    airtime_ns: NDArray[np.int64]


@dataclass(frozen=True)
class Receptions:
    """Frames as receivers reported them, one row each; tx/rx index the mesh's hotspots."""

    tx: NDArray[np.int32]
    rx: NDArray[np.int32]
    event: NDArray[np.int64]
    power_dbm: NDArray[np.float32]  # true received power
    rssi_dbm: NDArray[np.float32]  # as the radio reports it
    snr_db: NDArray[np.float32]
    received_ns: NDArray[np.int64]
    distance_m: NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.rx.size)

    def select(self, mask: NDArray[np.bool_] | NDArray[np.int64]) -> Receptions:
        return Receptions(*(getattr(self, f.name)[mask] for f in fields(self)))


@dataclass(frozen=True)
class _Heard:
    """Candidate receptions before collisions: lean, since a round can hold tens of millions."""

    row: NDArray[np.int32]  # row of the Transmissions
    rx: NDArray[np.int32]
    power_dbm: NDArray[np.float32]
    distance_m: NDArray[np.float32]


@dataclass(frozen=True)
class RoundResult:
    round_index: int
    transmissions: Transmissions
    receptions: Receptions
    stats: dict[str, int] = field(default_factory=dict)


def antenna_key(name: str) -> int:
    """A stable 64-bit key per antenna: shadowing and noise hash these, not list positions."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


class Mesh:
    """Hotspots in one seeded radio world. Fixed after construction, except the transmit
    budgets, which remember what each node has sent."""

    def __init__(
        self,
        hotspots: Sequence[Hotspot],
        model: PathLossModel,
        seed: int = 0,
        *,
        collisions: bool = True,
        symmetric_shadowing: bool = True,
        shadowing_cutoff_sigma: float = 3.0,
        start_ns: int = 0,
        channel: ch.Channel = ch.STATIC,
    ) -> None:
        if not hotspots:
            raise ValueError("a mesh needs at least one hotspot")
        self.hotspots = tuple(hotspots)
        self.model = model
        self.seed = seed
        self.collisions = collisions
        self.symmetric = symmetric_shadowing
        self.cutoff_sigma = shadowing_cutoff_sigma
        self.start_ns = start_ns
        self.channel = channel
        self.index_of = {h.node_id: i for i, h in enumerate(self.hotspots)}
        if len(self.index_of) != len(self.hotspots):
            raise ValueError("duplicate hotspot node_id")
        n = len(self.hotspots)
        lat = np.fromiter((h.lat for h in hotspots), np.float64, n)
        lon = np.fromiter((h.lon for h in hotspots), np.float64, n)
        self.x, self.y, self.z = (np.ascontiguousarray(c) for c in to_xyz(lat, lon).T)
        self.height_m = np.fromiter((h.height_m for h in hotspots), np.float64, n)
        self.gain_dbi = np.fromiter((h.gain_dbi_x10 for h in hotspots), np.float64, n) / 10.0
        # Everything between the radio and the open air, each way: cable and building walls.
        self.cable_db = np.fromiter(
            (h.cable_loss_db + h.entry_loss_db for h in hotspots), np.float64, n
        )
        self.noise_excess_db = np.fromiter((h.noise_excess_db for h in hotspots), np.float64, n)
        cache: dict[str, int] = {}
        self.key = np.fromiter(
            (cache.setdefault(h.antenna, antenna_key(h.antenna)) for h in hotspots), np.uint64, n
        )
        self._shadow_mix = key_mix(seed, self.key, SHADOW_STREAM)
        # Per hotspot, not per antenna: members of a shared antenna schedule and churn apart.
        self.node_key = np.fromiter((antenna_key(h.node_id) for h in hotspots), np.uint64, n)
        self.kinds = sorted({h.radio_kind for h in hotspots})
        unknown = set(self.kinds) - set(reception.RADIO_KINDS)
        if unknown:
            raise ValueError(f"unknown radio kind(s): {', '.join(sorted(unknown))}")
        kind_of = {k: i for i, k in enumerate(self.kinds)}
        self.kind_idx = np.fromiter((kind_of[h.radio_kind] for h in hotspots), np.int8, n)
        self.noise_figure_db = np.array(
            [reception.RADIO_KINDS[k].noise_figure_db for k in self.kinds]
        )[self.kind_idx]
        self.plans: list[RegionPlan] = [get_plan(r) for r in sorted({h.region for h in hotspots})]
        region_of = {p.name: i for i, p in enumerate(self.plans)}
        self.region_idx = np.fromiter(
            (region_of[get_plan(h.region).name] for h in hotspots), np.int8, n
        )
        # Conducted power: the region's max EIRP for the antenna gain (docs/protocol.md §4), but
        # never more than the radio can put out.
        self.max_power_dbm = np.fromiter(
            (
                min(
                    self.plans[i].max_conducted_dbm(h.gain_dbi_x10),
                    reception.RADIO_KINDS[h.radio_kind].max_tx_dbm,
                )
                for i, h in zip(self.region_idx, hotspots, strict=True)
            ),
            np.float64,
            n,
        )
        # docs/protocol.md §4: no beacon when the antenna alone exceeds the max EIRP (it still
        # hears).
        self.may_beacon = np.fromiter(
            (
                self.plans[i].beacon_power_dbm(h.gain_dbi_x10) is not None
                for i, h in zip(self.region_idx, hotspots, strict=True)
            ),
            np.bool_,
            n,
        )
        self.beacon_sf_bw = [link.parse_datarate(p.beacon_datarate()) for p in self.plans]
        self.centre_freq_hz = [float(np.mean(p.channels_hz)) for p in self.plans]
        self.indexed_sensitivity_dbm = min(
            link.sensitivity_dbm(sf, bw, float(self.noise_figure_db.min()))
            for sf, bw in self.beacon_sf_bw
        )
        self.range_m = self._max_range_m()
        self._build_grid()
        self._budgets: dict[int, reception.TransmitBudget] = {}

    # ----- index -------------------------------------------------------------------------
    def _max_range_m(self) -> float:
        """Distance beyond which no link meets the indexed sensitivity, even in the best case."""
        eirp = float(np.max(self.max_power_dbm + self.gain_dbi - self.cable_db))
        rx_best = float(np.max(self.gain_dbi - self.cable_db))
        budget = (
            eirp
            + rx_best
            - self.indexed_sensitivity_dbm
            + self.cutoff_sigma * self.model.shadowing_sigma_db
            + self.channel.fading_best_db
            + self.channel.lowest_snr_below_floor_db
        )
        if self.collisions:  # interferers count down to the capture threshold below that
            budget += reception.CAPTURE_THRESHOLD_DB
        top = float(self.height_m.max())
        loss_range = max_range_m(self.model, budget, min(self.centre_freq_hz), top, top)
        return float(
            min(loss_range, radio_horizon_m(top, top), self.channel.open_path_range_m)
        )

    def _build_grid(self) -> None:
        self.cell_m = max(self.range_m, MIN_CELL_M)
        ijk = np.floor(np.stack((self.x, self.y, self.z), axis=-1) / self.cell_m).astype(np.int64)
        self._offset = int(EARTH_RADIUS_M // self.cell_m) + 2
        self._span = 2 * self._offset + 1
        keys = self._cell_keys(ijk)
        self._order = np.argsort(keys, kind="stable").astype(np.int64)
        self._sorted_keys = keys[self._order]
        self._cell_ijk = ijk
        deltas = [(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)]
        self._neighbour_deltas = np.array(deltas, dtype=np.int64)
        sample = np.unique(np.linspace(0, self.x.size - 1, 64).astype(np.int64))
        self._mean_candidates = max(1.0, self.candidates(sample)[0].size / sample.size)

    def _cell_keys(self, ijk: NDArray[np.int64]) -> NDArray[np.int64]:
        o, s = self._offset, self._span
        return ((ijk[..., 0] + o) * s + (ijk[..., 1] + o)) * s + (ijk[..., 2] + o)

    def candidates(self, tx: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(row of `tx`, receiver) pairs from the 27 cubes around each transmitter."""
        keys = self._cell_keys(self._cell_ijk[tx][:, None, :] + self._neighbour_deltas[None])
        lo = np.searchsorted(self._sorted_keys, keys, side="left").ravel()
        hi = np.searchsorted(self._sorted_keys, keys, side="right").ravel()
        counts = hi - lo
        row = np.repeat(np.repeat(np.arange(tx.size, dtype=np.int64), 27), counts)
        starts = np.repeat(lo - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
        return row, self._order[starts + np.arange(int(counts.sum()), dtype=np.int64)]

    # ----- physics ------------------------------------------------------------------------
    def median_power_dbm(self, tx, rx, freq_hz: float, power_dbm=None, dist=None):
        """Received power without shadowing, the great-circle distance, and whether the link
        is inside the radio horizon (int64 index arrays in, float arrays out). `dist`: the
        links' great-circle distances when the caller has them already (`link_distance_m`)."""
        if dist is None:
            dist = self.link_distance_m(tx, rx)
        h_tx, h_rx = self.height_m[tx], self.height_m[rx]
        loss = self.model.median_loss_db(
            dist, freq_hz, np.maximum(h_tx, h_rx), np.minimum(h_tx, h_rx), strict=False
        )
        power = reception.received_power_dbm(
            self.max_power_dbm[tx] if power_dbm is None else power_dbm,
            self.gain_dbi[tx],
            self.cable_db[tx],
            self.gain_dbi[rx],
            self.cable_db[rx],
            loss,
        )
        return power, dist, dist <= radio_horizon_m(h_tx, h_rx)

    def link_distance_m(self, tx, rx):
        """Great-circle distance of links tx→rx, from the chord between their points."""
        dx = self.x[tx] - self.x[rx]
        dy = self.y[tx] - self.y[rx]
        dz = self.z[tx] - self.z[rx]
        return arc_m(np.sqrt(dx * dx + dy * dy + dz * dz))

    def shadowing_db(self, tx, rx, time_ns=None):
        """Shadowing loss in dB. Without a time share in the channel (or without `time_ns`)
        equal to propagation.shadowing_db on the antenna keys; with one, that share of the
        variance is drawn anew each day, the total still cut at ±cutoff σ."""
        sigma = self.model.shadowing_sigma_db
        if sigma == 0.0:
            return np.zeros(np.asarray(tx).size)
        ka, kb = self.key[tx], self.key[rx]
        if self.symmetric:
            first, second = np.where(ka <= kb, tx, rx), np.maximum(ka, kb)
        else:
            first, second = tx, kb
        share = self.channel.shadowing_time_share
        if share == 0.0 or time_ns is None:
            return shadowing_from_hash(
                _splitmix(self._shadow_mix[first] ^ second), sigma, self.cutoff_sigma
            )
        fixed = hash_normal(_splitmix(self._shadow_mix[first] ^ second))
        daily = ch.slow_normal(self.seed, self._shadow_mix[first], second, ch.day_of(time_ns))
        z = np.sqrt(1.0 - share) * fixed + np.sqrt(share) * daily
        return sigma * np.clip(z, -self.cutoff_sigma, self.cutoff_sigma)

    def link_power_dbm(self, tx, rx, freq_hz: float):
        """True received power (with shadowing) of links tx→rx at the nodes' max power."""
        median, dist, visible = self.median_power_dbm(tx, rx, freq_hz)
        return median - self.shadowing_db(tx, rx), dist, visible

    def _propagate(
        self,
        sent: Transmissions,
        brute_force: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> _Heard:
        """Every frame at every hotspot that could decode it or spoil another by collision.
        `progress` is told how many frames each batch finished."""
        parts: list[tuple[NDArray, ...]] = []
        favourable = self.cutoff_sigma * self.model.shadowing_sigma_db
        favourable += self.channel.fading_best_db
        margin = reception.CAPTURE_THRESHOLD_DB if self.collisions else 0.0
        margin += self.channel.lowest_snr_below_floor_db
        max_chord = 2.0 * EARTH_RADIUS_M * np.sin(min(self.range_m / (2 * EARTH_RADIUS_M), 1.5))
        tx_all = sent.tx.astype(np.int64)
        up = None  # churn: who is online on each frame's day, one draw per node and day
        if self.channel.offline_share:
            days, day_row = np.unique(ch.day_of(sent.start_ns), return_inverse=True)
            up = np.stack(
                [
                    ch.online(self.channel, self.seed, self.node_key, int(d) * ch.NS_PER_DAY)
                    for d in days
                ]
            )
        for region in range(len(self.plans)):
            bw = self.plans[region].bandwidth_hz
            for chunk in self._chunks(np.flatnonzero(self.region_idx[tx_all] == region)):
                if brute_force:
                    row = np.repeat(np.arange(chunk.size), self.x.size)
                    rx = np.tile(np.arange(self.x.size, dtype=np.int64), chunk.size)
                else:
                    row, rx = self.candidates(tx_all[chunk])
                which = chunk[row]
                owner = tx_all[which]
                dx = self.x[owner] - self.x[rx]
                dy = self.y[owner] - self.y[rx]
                dz = self.z[owner] - self.z[rx]
                chord2 = dx * dx + dy * dy + dz * dz  # once, for the range and the obstruction
                del dx, dy, dz
                ok = (self.key[owner] != self.key[rx]) & (self.region_idx[rx] == region)
                if up is not None:
                    ok &= up[day_row[which], rx]
                if not brute_force:
                    ok &= chord2 <= max_chord * max_chord
                dist = None  # the links' distances, where the obstruction needed them first
                if self.channel.open_path_m is not None:  # obstruction first: it drops most
                    dist = arc_m(np.sqrt(chord2[ok]))  # as link_distance_m computes it
                    is_open = ch.open_path(
                        self.channel, self.seed, self.key[owner[ok]], self.key[rx[ok]], dist
                    )
                    ok[ok] = is_open
                    dist = dist[is_open]
                del chord2
                which, owner, rx = which[ok], owner[ok], rx[ok]
                median, dist, visible = self.median_power_dbm(
                    owner, rx, self.centre_freq_hz[region], sent.power_dbm[which], dist
                )
                floor = np.array([link.DEMOD_SNR_FLOOR_DB[sf] for sf in range(7, 13)])
                threshold = (
                    reception.noise_floor_dbm(bw, self.noise_figure_db[rx])
                    + floor[sent.sf[which] - 7]
                    - margin
                )
                ok = visible & (median + favourable >= threshold)
                which, owner, rx, median, dist = which[ok], owner[ok], rx[ok], median[ok], dist[ok]
                threshold = threshold[ok]
                power = median - self.shadowing_db(owner, rx, sent.start_ns[which])
                if self.channel.rician_k is not None:  # fading only where it can matter
                    ok = power + self.channel.fading_best_db >= threshold
                    which, owner, rx, dist = which[ok], owner[ok], rx[ok], dist[ok]
                    power, threshold = power[ok], threshold[ok]
                    power += ch.fading_db(
                        self.channel, self.seed, self.key[owner], self.key[rx], sent.event[which]
                    )
                ok = power >= threshold
                parts.append(
                    (
                        which[ok].astype(np.int32),
                        rx[ok].astype(np.int32),
                        power[ok].astype(np.float32),
                        dist[ok].astype(np.float32),
                    )
                )
                if progress is not None:
                    progress(int(chunk.size))
        if not parts:
            return _Heard(*(np.zeros(0, t) for t in (np.int32, np.int32, np.float32, np.float32)))
        columns = [list(c) for c in zip(*parts, strict=True)]
        parts.clear()
        out = []
        for column in columns:  # one column at a time: peak stays near the result's size
            out.append(np.concatenate(column))
            column.clear()
        return _Heard(*out)

    def _chunks(self, sel: NDArray[np.int64]) -> Iterator[NDArray[np.int64]]:
        step = max(1, int(PAIRS_PER_BATCH / self._mean_candidates))
        for i in range(0, sel.size, step):
            yield sel[i : i + step]

    def _finish(self, sent: Transmissions, heard: _Heard) -> Receptions:
        """Collisions and capture, half duplex, decodability, then the radio's report."""
        row, rx = heard.row, heard.rx
        tx = sent.tx[row]
        keep = np.ones(row.size, dtype=bool)
        if self.collisions and row.size:
            start = sent.start_ns[row]
            air = sent.airtime_ns[row]
            # Channel key: frequency in kHz and SF (frames on other SFs are quasi-orthogonal).
            channel = (sent.freq_hz[row] // 1000).astype(np.int32) * 16 + sent.sf[row]
            keep &= reception.resolve_collisions(rx, channel, start, air, heard.power_dbm)
            del channel
            keep &= ~_transmitting(sent, rx, start, air, self.x.size)  # half duplex
            del start, air
        tx, rx, row = tx[keep], rx[keep], row[keep]
        power, dist = heard.power_dbm[keep], heard.distance_m[keep]
        del heard, keep
        event = sent.event[row]
        noise = self.noise_floor_dbm(tx, rx, sent.start_ns[row])
        demod = np.array([link.DEMOD_SNR_FLOOR_DB[sf] for sf in range(7, 13)])[sent.sf[row] - 7]
        keep = ch.decoded(
            self.channel, power - noise, demod, self.seed, self.key[tx], self.key[rx], event
        )
        del demod
        tx, rx, row, event = tx[keep], rx[keep], row[keep], event[keep]
        power, dist, noise = power[keep], dist[keep], noise[keep]
        # The true arrival; the radio's stamp of it (reception.stamp_ns) is set below.
        received = sent.start_ns[row] + np.round(dist / C_M_PER_NS).astype(np.int64)
        rssi = np.empty(tx.size, np.float32)
        snr = np.empty(tx.size, np.float32)
        for lo in range(0, tx.size, REPORT_BATCH):
            part = slice(lo, lo + REPORT_BATCH)
            kind_idx = self.kind_idx[rx[part]]
            region_idx = self.region_idx[tx[part]]
            for k, kind_name in enumerate(self.kinds):
                for region, plan in enumerate(self.plans):
                    m = np.flatnonzero((kind_idx == k) & (region_idx == region)) + lo
                    if m.size:
                        kind = reception.RADIO_KINDS[kind_name]
                        rssi[m], snr[m] = reception.report(
                            power[m],
                            plan.bandwidth_hz,
                            kind,
                            self.seed,
                            self.key[tx[m]],
                            self.key[rx[m]],
                            event[m],
                            noise[m],
                        )
                        received[m] = reception.stamp_ns(
                            received[m], kind, self.seed, self.key[tx[m]], self.key[rx[m]],
                            event[m])
        return Receptions(tx, rx, event, power, rssi, snr, received, dist)

    def noise_floor_dbm(self, tx, rx, time_ns):
        """Each receiver's noise plus interference at that time: thermal over the frame's
        bandwidth + its noise figure + its site's excess and the hour's wobble (never below
        thermal + noise figure)."""
        bw = np.array([p.bandwidth_hz for p in self.plans])[self.region_idx[tx]]
        excess = self.noise_excess_db[rx] + ch.noise_wobble_db(
            self.channel, self.seed, self.node_key[rx], time_ns
        )
        return reception.noise_floor_dbm(bw, self.noise_figure_db[rx]) + np.maximum(excess, 0.0)

    def transmit(
        self, sent: Transmissions, progress: Callable[[int], None] | None = None
    ) -> tuple[Receptions, int]:
        """What every hotspot reports of these frames, and how many links were evaluated."""
        heard = [self._propagate(sent, progress=progress)]
        candidate_links = int(heard[0].row.size)
        return self._finish(sent, heard.pop()), candidate_links  # hand over the only reference

    # ----- rounds -------------------------------------------------------------------------
    def budget(self, node: int) -> reception.TransmitBudget:
        budget = self._budgets.get(node)
        if budget is None:
            budget = reception.TransmitBudget(self.plans[self.region_idx[node]])
            self._budgets[node] = budget
        return budget

    def schedule_round(self, round_index: int) -> tuple[Transmissions, int, int]:
        """Every hotspot beacons once at a seeded time in the round's 6-hour window, on a seeded
        channel of its plan, deferred when its transmit budget says so. Returns the frames and
        the counts of deferred and refused beacons."""
        n = self.x.size
        h = link_hash(
            self.seed,
            self.node_key,
            np.full(n, round_index, np.uint64),
            _SCHEDULE_STREAM,
            symmetric=False,
        )
        wanted = (
            self.start_ns
            + round_index * BEACON_WINDOW_NS
            + (h >> np.uint64(1)).astype(np.int64) % BEACON_WINDOW_NS
        )
        freq = np.empty(n, np.int64)
        sf = np.empty(n, np.int8)
        airtime = np.empty(n, np.int64)
        for region, plan in enumerate(self.plans):
            m = self.region_idx == region
            channels = np.array(plan.channels_hz, np.int64)
            freq[m] = channels[(_splitmix(h[m]) % np.uint64(channels.size)).astype(np.int64)]
            beacon_sf, bw = self.beacon_sf_bw[region]
            sf[m] = beacon_sf
            airtime[m] = round(link.time_on_air_s(BEACON_FRAME_LEN, beacon_sf, bw) * 1e9)
        start = np.empty(n, np.int64)
        deferred = refused = 0
        up = ch.online(self.channel, self.seed, self.node_key, wanted)
        for i in range(n):
            if not up[i]:
                start[i] = -1
                continue
            t = (
                self.budget(i).schedule(int(freq[i]), airtime[i] / 1e9, int(wanted[i]))
                if self.may_beacon[i]
                else None
            )
            start[i] = -1 if t is None else t
            deferred += t is not None and t != wanted[i]
            refused += t is None
        nodes = np.flatnonzero(start >= 0)
        sent = Transmissions(
            nodes.astype(np.int32),
            start[nodes],
            freq[nodes],
            round_index * n + nodes,
            self.max_power_dbm[nodes],
            sf[nodes],
            airtime[nodes],
        )
        return sent, deferred, refused

    def beacon_round(
        self, round_index: int = 0, progress: Callable[[int], None] | None = None
    ) -> RoundResult:
        """Every hotspot beacons once (see schedule_round); what each hotspot heard."""
        sent, deferred, refused = self.schedule_round(round_index)
        received, candidate_links = self.transmit(sent, progress)
        outside = ~self.model.validity.contains(received.distance_m)
        stats = {
            "beacons": int(sent.tx.size),
            "deferred": int(deferred),
            "refused": int(refused),
            "candidate_links": candidate_links,
            "receptions": len(received),
            "outside_model_validity": int(outside.sum()),
        }
        return RoundResult(round_index, sent, received, stats)


def _transmitting(sent: Transmissions, rx, start, air, n: int) -> NDArray[np.bool_]:
    """True where the receiver was itself on air while the frame arrived (its last frame of
    `sent`; a beacon round sends one per node)."""
    own_start = np.full(n, -1, np.int64)
    own_air = np.zeros(n, np.int64)
    own_start[sent.tx] = sent.start_ns
    own_air[sent.tx] = sent.airtime_ns
    rs = own_start[rx]
    return (rs >= 0) & (rs < start + air) & (start < rs + own_air[rx])


def __getattr__(name: str) -> object:
    """`sim_radio.mesh.MeshAir` stays importable; it lives in mesh_air.py (which imports this
    module, hence the lazy lookup)."""
    if name == "MeshAir":
        from sim_radio.mesh_air import MeshAir

        return MeshAir
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
