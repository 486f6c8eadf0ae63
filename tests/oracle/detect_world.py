"""Hand-built PoC histories for the gaming detectors: an honest town with its own physics,
and each cheat and each honest look-alike written into it explicitly.

The physics here is deliberately the test's own (not the oracle's fit, not the simulator):
log-distance path loss with exponent 3.5 and 40 dB at 1 m, a fixed shadowing per link
(σ 6 dB, the same both ways), independent fading per reception (σ 3 dB), reception above
−134 dBm, RSSI and SNR quantised as hotspots report them, clocks within ±5 ms, uploads within
1.5 s, GPS fixes scattered by ~2 m around the true place with h_acc 3 m.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from oracle.detect.history import History, HistoryBuilder

T0_MS = 1_760_000_000_000  # the epoch's start, for these worlds
BEACON_EVERY_MS = 6 * 3_600_000
SENSITIVITY_DBM = -134.0
NOISE_DBM = -117.0
EARTH_M_PER_DEG = 111_195.0
C_M_PER_MS = 299_792.458


def key(name: str) -> bytes:
    """A hotspot key named for reading: tag 0x01 and the name padded to 32 bytes."""
    return b"\x01" + name.encode().ljust(32, b"_")


def square_grid(side: int, spacing_m: float) -> dict[str, tuple[float, float]]:
    """`side` × `side` hotspots `spacing_m` apart, named g{row}_{col}, as (m east, m north) of
    the square's centre."""
    half = side // 2
    return {f"g{r}_{c}": ((c - half) * spacing_m, (r - half) * spacing_m)
            for r in range(side) for c in range(side)}


def add_reception(b: HistoryBuilder, n: int, beaconer: str, hears: str, at_ms: int,
                  rssi: float = -110.0) -> None:
    """`hears` witnessed `beaconer`'s n-th beacon at `at_ms` (SNR 2 dB, 14 dBm sent), uploaded
    300 ms later, with no clock error."""
    b.add_witness(f"{beaconer}-{hears}-{n}".encode(), key(beaconer), key(hears), rssi, 2.0, 14.0,
                  at_ms, at_ms + 300, float(at_ms), float(at_ms))


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return (lat + north_m / EARTH_M_PER_DEG,
            lon + east_m / (EARTH_M_PER_DEG * math.cos(math.radians(lat))))


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    dn = (a[0] - b[0]) * EARTH_M_PER_DEG
    de = (a[1] - b[1]) * EARTH_M_PER_DEG * math.cos(math.radians((a[0] + b[0]) / 2))
    return math.hypot(dn, de)


@dataclass
class Node:
    name: str
    true: tuple[float, float]
    asserted: tuple[float, float]
    gain_db: float = 3.0
    tx_power_dbm: float = 14.0
    extra_loss_db: float = 0.0  # cable, walls: both ways
    height_gain_db: float = 0.0  # a rooftop's clearer path: both ways
    noise_db: float = 0.0  # the site's interference above the floor: it hears less, and lower
    asserted_at_ms: int = 0
    # Cheats (what this hotspot reports differently from what its radio got)
    inflate_db: float = 0.0
    clock_offset_ms: float = 0.0
    relay_from: str | None = None  # reports what this node heard, 150 ms later
    relay_keeps_own: bool = False  # ... and what it hears itself (on time), as well
    listens_only_to: frozenset[str] | None = None
    constant_signal: tuple[float, float] | None = None  # (rssi, snr) on every report
    gps: str = "real"  # real | frozen | clean | ring | none
    copy_gain_db: float = 0.0  # a replayer's copies go out this much louder than its beacons
    antenna_of: str | None = None  # shares this node's antenna (and place)
    # Behind a shared antenna, its own splitter port and cable (dB less RSSI on every report)
    # and its own receiver (SNR with its own noise).
    port_loss_db: float = 0.0


@dataclass
class World:
    seed: int = 1
    nodes: dict[str, Node] = field(default_factory=dict)
    fabricated: list[tuple[str, str]] = field(default_factory=list)  # (beaconer, witness)
    # Radios in one room joined by cables: each hears the others at −105 dBm ±1 (by frame),
    # whatever their asserted places; the air as usual otherwise.
    wired: list[str] = field(default_factory=list)
    # Each replays, once a round, the last beacon it heard (as sim_radio's replayers do);
    # the copy is reported by whoever hears it and missed the original.
    replayers: list[str] = field(default_factory=list)
    # Whether a hotspot that listens only to some (a ring) also reports replayed copies of
    # others' beacons, as sim_radio's ring members do.
    copies_reach_rings: bool = False
    # Paths clearer than the town's law (a line of sight across a valley): dB less loss, both
    # ways, between the two named hotspots.
    clear_paths: dict[frozenset[str], float] = field(default_factory=dict)
    # Radios whose clocks are disciplined to the nanosecond (GPS): they stamp a reception at
    # its instant, so two of them hearing one beacon report one instant, as an antenna's keys do.
    exact_clocks: set[str] = field(default_factory=set)
    # Every radio's clock GPS-disciplined, stamping a reception when the signal arrives: the
    # transmission's instant plus the distance between the true places over c, within ±0.3
    # µs (σ). Replaces the ±5 ms clocks and exact_clocks' shared instant.
    arrival_clocks: bool = False
    epochs: int = 1
    _original: dict[bytes, set[str]] = field(default_factory=dict)  # beacon -> who heard it
    # One antenna, one instant: the clock error of each (beacon, radio, copy) reception.
    _stamps: dict[tuple[bytes, str, float], float] = field(default_factory=dict)
    _relayed: set[str] = field(default_factory=set)  # the last beacon's relayed receptions

    def add(self, node: Node) -> Node:
        self.nodes[node.name] = node
        return node

    def town(self, rows: int = 8, cols: int = 8, spacing_m: float = 700.0,
             centre: tuple[float, float] = (52.15, 5.39)) -> list[str]:
        rng = np.random.default_rng(self.seed)
        names = []
        for r in range(rows):
            for c in range(cols):
                jitter = rng.normal(0, spacing_m / 6, 2)
                place = offset(*centre, r * spacing_m + jitter[0], c * spacing_m + jitter[1])
                names.append(self.add(Node(f"h{r}{c}", place, place)).name)
        return names

    def key(self, name: str) -> bytes:
        return b"\x01" + name.encode().ljust(32, b"_")

    def history(self) -> History:
        rng = np.random.default_rng(self.seed + 1000)
        builder = HistoryBuilder(T0_MS, T0_MS + self.epochs * 86_400_000)
        for n in self.nodes.values():
            builder.add_hotspot(self.key(n.name), *n.asserted, n.gain_db, n.asserted_at_ms)
        names = sorted(self.nodes)
        shadow: dict[frozenset[str], float] = {}
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                shadow[frozenset((a, b))] = float(rng.normal(0, 6))
        for pair, clear_db in self.clear_paths.items():
            shadow[pair] -= clear_db
        beacon_no = 0
        rounds = 4 * self.epochs
        for k in range(rounds):
            last_heard: dict[str, tuple[bytes, Node, int, float, int]] = {}
            for name in names:
                sender = self.nodes[name]
                sent_ms = T0_MS + k * BEACON_EVERY_MS + int(rng.integers(0, 3_600_000))
                beacon_id = f"b{beacon_no}".encode()
                beacon_no += 1
                beacon_clock = sent_ms + rng.normal(0, 5) + sender.clock_offset_ms
                beacon_received = sent_ms + int(rng.integers(200, 800))
                self._fix(builder, sender, beacon_received, rng)
                heard = self._receptions(sender, names, shadow, rng)
                for witness_name, (rssi, snr) in heard.items():
                    self._report(builder, beacon_id, sender, witness_name, rssi, snr,
                                 sent_ms, beacon_clock, beacon_received, rng,
                                 relayed=witness_name in self._relayed)
                for replayer in self.replayers:
                    if replayer in heard and sent_ms > last_heard.get(replayer, (b"", sender,
                                                                               -1))[2]:
                        last_heard[replayer] = (beacon_id, sender, sent_ms, beacon_clock,
                                                beacon_received)
                        self._original[beacon_id] = set(heard) | {name}
            for replayer, original in sorted(last_heard.items()):
                self._replay(builder, replayer, *original, names, shadow, rng)
        return builder.build()

    # -- physics --------------------------------------------------------------------------
    def _rssi(self, tx: Node, rx: Node, shadow: float, rng: np.random.Generator) -> float:
        src, dst = self._place(tx), self._place(rx)
        d = max(distance_m(src, dst), 1.0)
        loss = 40 + 35 * math.log10(d) + shadow + tx.extra_loss_db + rx.extra_loss_db
        loss -= tx.height_gain_db + rx.height_gain_db
        return tx.tx_power_dbm + tx.gain_db + rx.gain_db - loss + float(rng.normal(0, 3))

    def _place(self, node: Node) -> tuple[float, float]:
        return self.nodes[node.antenna_of].true if node.antenna_of else node.true

    def _radio(self, node: Node) -> str:
        return node.antenna_of or node.name

    def _receptions(self, sender: Node, names: list[str], shadow: dict[frozenset[str], float],
                    rng: np.random.Generator, listening: bool = True
                    ) -> dict[str, tuple[float, float]]:
        heard: dict[str, tuple[float, float]] = {}
        by_radio: dict[str, tuple[float, float] | None] = {}
        for name in names:
            rx = self.nodes[name]
            if name == sender.name or self._radio(rx) == self._radio(sender):
                continue
            radio = self._radio(rx)
            if radio not in by_radio:  # one antenna, one reception, whoever reports it
                pair = frozenset((self._radio(sender), radio))
                rssi = self._rssi(sender, self.nodes[radio], shadow.get(pair, 0.0), rng)
                noise = self.nodes[radio].noise_db
                by_radio[radio] = (rssi, rssi - NOISE_DBM - noise + float(rng.normal(0, 2))) if (
                    rssi >= SENSITIVITY_DBM + noise) else None
            if by_radio[radio] is not None:
                heard[name] = by_radio[radio]  # type: ignore[assignment]
        self._relayed = set()
        for node in self.nodes.values():
            if node.relay_from:  # a relay reports what its partner heard (and its own, or not)
                if not node.relay_keeps_own:
                    heard.pop(node.name, None)
                if node.relay_from in heard and node.name not in heard:
                    heard[node.name] = heard[node.relay_from]
                    self._relayed.add(node.name)
        if sender.name in self.wired:
            frame = len(self._stamps)
            for k, witness in enumerate(self.wired):
                if witness != sender.name:
                    heard[witness] = (-105.0 + (frame * 31 + k) % 3 - 1, 7.0)
        for beaconer, witness in self.fabricated:
            if beaconer == sender.name:
                heard[witness] = (-118.0 + float(rng.normal(0, 4)), -2.0)
        return {w: v for w, v in heard.items()
                if not listening or self._listens(self.nodes[w], sender)}

    def _listens(self, node: Node, sender: Node) -> bool:
        return node.listens_only_to is None or sender.name in node.listens_only_to

    # -- reports --------------------------------------------------------------------------
    def _report(self, builder: HistoryBuilder, beacon_id: bytes, sender: Node, name: str,
                rssi: float, snr: float, sent_ms: int, beacon_clock: float,
                beacon_received: int, rng: np.random.Generator, late_ms: float = 0.0,
                relayed: bool = False, transmitter: Node | None = None) -> None:
        node = self.nodes[name]
        rssi += node.inflate_db
        if node.port_loss_db:
            rssi -= node.port_loss_db
            snr += float(rng.normal(0, 2)) - node.port_loss_db
        if node.constant_signal:
            rssi, snr = node.constant_signal
        lag = 150.0 if relayed else 0.0
        jitter = self._stamps.setdefault((beacon_id, self._radio(node), late_ms),
                                         float(rng.normal(0, 5)))
        if self._radio(node) in self.exact_clocks:
            jitter = 0.0
        if self.arrival_clocks:
            source = self._place(transmitter or sender)
            # A relay passes on its partner's reception, stamped where the partner stands.
            radio = self.nodes[node.relay_from] if relayed and node.relay_from else node
            jitter = (distance_m(source, self._place(radio)) / C_M_PER_MS
                      + float(rng.normal(0, 0.0003)))
        clock = sent_ms + late_ms + lag + jitter + node.clock_offset_ms
        received = sent_ms + late_ms + lag + int(rng.integers(100, 1500))
        builder.add_witness(beacon_id, self.key(sender.name), self.key(name),
                            rssi_dbm=round(rssi), snr_db=math.trunc(snr * 10) / 10,
                            tx_power_dbm=sender.tx_power_dbm, beacon_received_ms=beacon_received,
                            witness_received_ms=int(received), beacon_timestamp_ms=beacon_clock,
                            witness_timestamp_ms=clock, valid=late_ms == 0)
        self._fix(builder, node, int(received), rng)

    def _replay(self, builder: HistoryBuilder, replayer: str, beacon_id: bytes, sender: Node,
                sent_ms: int, beacon_clock: float, beacon_received: int, names: list[str],
                shadow: dict[frozenset[str], float], rng: np.random.Generator) -> None:
        copy = self.nodes[replayer]
        heard = self._receptions(copy, names, shadow, rng, not self.copies_reach_rings)
        for name, (rssi, snr) in heard.items():
            if name not in self._original[beacon_id]:
                rssi, snr = rssi + copy.copy_gain_db, snr + copy.copy_gain_db
                self._report(builder, beacon_id, sender, name, rssi, snr, sent_ms,
                             beacon_clock, beacon_received, rng, late_ms=900_000.0,
                             relayed=name in self._relayed, transmitter=copy)

    def _fix(self, builder: HistoryBuilder, node: Node, at_ms: int,
             rng: np.random.Generator) -> None:
        if node.gps == "none":
            return
        if node.gps == "frozen":
            lat, lon = node.asserted
        elif node.gps == "clean":
            lat, lon = offset(*node.asserted, *rng.normal(0, 0.02, 2))
        elif node.gps == "ring":  # 5 m from the asserted place, only the bearing wandering
            bearing = rng.uniform(0, 2 * math.pi)
            lat, lon = offset(*node.asserted, 5.0 * math.cos(bearing), 5.0 * math.sin(bearing))
        elif node.gps == "spoofed":
            lat, lon = offset(*node.asserted, *rng.normal(0, 2.0, 2))
        else:
            lat, lon = offset(*node.true, *rng.normal(0, 2.0, 2))
        builder.add_fix(self.key(node.name), at_ms, round(lat, 7), round(lon, 7), 3.0)
