"""The verified PoC history the detectors read: hotspots with their asserted places, every
witness report with its beacon, and every GPS fix, as columns (numpy arrays).

Columns, not objects: an epoch of a 100,000-hotspot network holds millions of witness reports,
and every detector is a few vectorised passes over them. Hotspots are numbered 0..n-1 in the
order they were added; every array that names a hotspot holds that index.

`HistoryBuilder` is the one way to make a History: the store adapter (`source.py`) feeds it
rows, and the tests feed it hand-built networks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np
from numpy.typing import NDArray

from pocnet import geo

# docs/protocol.md §5 witness rule 4: a witness received more than 4 s after its beacon is too late.
TIMELY_MS = 4_000


@dataclass(frozen=True)
class Hotspots:
    keys: tuple[bytes, ...]
    lat: NDArray[np.float64]  # asserted cell centre
    lon: NDArray[np.float64]
    gain_db: NDArray[np.float64]  # asserted antenna gain, dBi
    asserted_at_ms: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.keys)

    def distance_m(self, a: int, b: int) -> float:
        """Metres between two hotspots' asserted cell centres."""
        return geo.haversine_m(float(self.lat[a]), float(self.lon[a]),
                               float(self.lat[b]), float(self.lon[b]))


@dataclass(frozen=True)
class Witnesses:
    """One row per witness report of a beacon received in the window."""

    beacon: NDArray[np.int64]  # a number per beacon (rows of one beacon share it)
    beaconer: NDArray[np.int32]
    witness: NDArray[np.int32]
    rssi_dbm: NDArray[np.float64]
    snr_db: NDArray[np.float64]
    tx_power_dbm: NDArray[np.float64]  # the beacon's conducted power
    beacon_received_ms: NDArray[np.int64]  # the oracle's clock
    witness_received_ms: NDArray[np.int64]
    beacon_timestamp_ms: NDArray[np.float64]  # the beaconer's clock (its report's timestamp)
    witness_timestamp_ms: NDArray[np.float64]  # the witness's clock
    valid: NDArray[np.bool_]
    distance_m: NDArray[np.float64]  # between the asserted cells
    # The beacon's DataRate (pocnet.v1): a beacon's time on air, and so how its report's
    # timestamp (taken after transmission) stands to a witness's (of the reception), is its.
    datarate: NDArray[np.int16]

    def __len__(self) -> int:
        return int(self.witness.size)

    def prompt(self, max_lag_ms: float) -> NDArray[np.bool_]:
        """Reports of the reception itself, not of a replayed copy: at the oracle within
        docs/protocol.md §5's 4 s of the beacon, and by the hotspots' own clocks less than
        `max_lag_ms` after the transmission. The signal detectors read only these."""
        return self.timely() & (
            np.abs(self.witness_timestamp_ms - self.beacon_timestamp_ms) < max_lag_ms)

    def timely(self) -> NDArray[np.bool_]:
        """Reports at the oracle within docs/protocol.md §5's 4 s of their beacon, whatever
        the two hotspots' own clocks say (a beaconer's clock hours off leaves its witnesses'
        stamps as good as any)."""
        return self.witness_received_ms - self.beacon_received_ms <= TIMELY_MS

    def subset(self, mask: NDArray[np.bool_]) -> Witnesses:
        return Witnesses(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})


@dataclass(frozen=True)
class Fixes:
    """One row per report that carried a usable GPS fix."""

    hotspot: NDArray[np.int32]
    received_ms: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    h_acc_m: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.hotspot.size)


@dataclass(frozen=True)
class Moves:
    """One row per hotspot whose current assertion, made in the window, moved it: where it
    asserted before (its new place is the hotspot's own)."""

    hotspot: NDArray[np.int32]
    at_ms: NDArray[np.int64]  # the new assertion's time
    from_lat: NDArray[np.float64]
    from_lon: NDArray[np.float64]
    from_at_ms: NDArray[np.int64]  # when the place it left was asserted

    def __len__(self) -> int:
        return int(self.hotspot.size)

    @staticmethod
    def none() -> Moves:
        return Moves(np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0), np.zeros(0),
                     np.zeros(0, np.int64))


@dataclass(frozen=True)
class History:
    from_ms: int
    to_ms: int
    hotspots: Hotspots
    witnesses: Witnesses
    fixes: Fixes
    moves: Moves = field(default_factory=Moves.none)

    def links(self, max_lag_ms: float) -> NDArray[np.int64]:
        """The linked pairs as codes i × n + k (n hotspots), sorted, each both ways: a
        prompt witness report (`Witnesses.prompt`) of either's beacon by the other."""
        w = self.witnesses.subset(self.witnesses.prompt(max_lag_ms))
        n = len(self.hotspots)
        a, b = w.beaconer.astype(np.int64), w.witness.astype(np.int64)
        pairs = np.unique(np.concatenate((a * n + b, b * n + a)))
        return pairs[pairs // n != pairs % n]


@dataclass
class HistoryBuilder:
    from_ms: int
    to_ms: int
    _index: dict[bytes, int] = field(default_factory=dict)
    _hotspots: list[tuple[bytes, float, float, float, int]] = field(default_factory=list)
    _witnesses: list[tuple[int, int, int, float, float, float, int, int, float, float, bool,
                           int]] = field(default_factory=list)
    _fixes: list[tuple[int, int, float, float, float]] = field(default_factory=list)
    _beacons: dict[bytes, int] = field(default_factory=dict)
    _moves: list[tuple[int, int, float, float, int]] = field(default_factory=list)

    def add_hotspot(
        self, key: bytes, lat: float, lon: float, gain_db: float = 0.0, asserted_at_ms: int = 0
    ) -> int:
        if key in self._index:
            return self._index[key]
        self._index[key] = len(self._hotspots)
        self._hotspots.append((key, lat, lon, gain_db, asserted_at_ms))
        return self._index[key]

    def index(self, key: bytes) -> int | None:
        return self._index.get(key)

    def add_witness(
        self,
        beacon_id: bytes,
        beaconer: bytes,
        witness: bytes,
        rssi_dbm: float,
        snr_db: float,
        tx_power_dbm: float,
        beacon_received_ms: int,
        witness_received_ms: int,
        beacon_timestamp_ms: float,
        witness_timestamp_ms: float,
        valid: bool = True,
        datarate: int = 0,
    ) -> None:
        """A witness report; both hotspots must have been added (others are skipped: a key
        the registry does not place cannot be judged by geometry)."""
        b, w = self._index.get(beaconer), self._index.get(witness)
        if b is None or w is None:
            return
        beacon = self._beacons.setdefault(beacon_id, len(self._beacons))
        self._witnesses.append((
            beacon, b, w, rssi_dbm, snr_db, tx_power_dbm, beacon_received_ms,
            witness_received_ms, beacon_timestamp_ms, witness_timestamp_ms, valid, datarate,
        ))

    def add_fix(self, key: bytes, received_ms: int, lat: float, lon: float, h_acc_m: float) -> None:
        h = self._index.get(key)
        if h is not None:
            self._fixes.append((h, received_ms, lat, lon, h_acc_m))

    def add_move(self, key: bytes, at_ms: int, from_lat: float, from_lon: float,
                 from_at_ms: int) -> None:
        """A hotspot (added before) asserted its current place at `at_ms`, moving from
        (from_lat, from_lon), which it asserted at `from_at_ms`."""
        h = self._index.get(key)
        if h is not None:
            self._moves.append((h, at_ms, from_lat, from_lon, from_at_ms))

    def build(self) -> History:
        """The columns. Reports made before either hotspot's current assertion are left out:
        their geometry is not the one the registry now holds (a hotspot that moved and
        re-asserted is judged on where it is, not on where it was)."""
        hs = self._hotspots
        asserted = {i: h[4] for i, h in enumerate(hs)}
        self._witnesses = [r for r in self._witnesses
                           if r[6] >= asserted[r[1]] and r[6] >= asserted[r[2]]]
        self._fixes = [f for f in self._fixes if f[1] >= asserted[f[0]]]
        hotspots = Hotspots(
            keys=tuple(h[0] for h in hs),
            lat=np.array([h[1] for h in hs], dtype=np.float64),
            lon=np.array([h[2] for h in hs], dtype=np.float64),
            gain_db=np.array([h[3] for h in hs], dtype=np.float64),
            asserted_at_ms=np.array([h[4] for h in hs], dtype=np.int64),
        )
        cols = list(zip(*self._witnesses, strict=True)) if self._witnesses else [()] * 12
        beaconer = np.array(cols[1], dtype=np.int32)
        witness = np.array(cols[2], dtype=np.int32)
        witnesses = Witnesses(
            beacon=np.array(cols[0], dtype=np.int64),
            beaconer=beaconer,
            witness=witness,
            rssi_dbm=np.array(cols[3], dtype=np.float64),
            snr_db=np.array(cols[4], dtype=np.float64),
            tx_power_dbm=np.array(cols[5], dtype=np.float64),
            beacon_received_ms=np.array(cols[6], dtype=np.int64),
            witness_received_ms=np.array(cols[7], dtype=np.int64),
            beacon_timestamp_ms=np.array(cols[8], dtype=np.float64),
            witness_timestamp_ms=np.array(cols[9], dtype=np.float64),
            valid=np.array(cols[10], dtype=np.bool_),
            distance_m=haversine_m(hotspots.lat[beaconer], hotspots.lon[beaconer],
                                   hotspots.lat[witness], hotspots.lon[witness]),
            datarate=np.array(cols[11], dtype=np.int16),
        )
        fcols = list(zip(*self._fixes, strict=True)) if self._fixes else [()] * 5
        fixes = Fixes(
            hotspot=np.array(fcols[0], dtype=np.int32),
            received_ms=np.array(fcols[1], dtype=np.int64),
            lat=np.array(fcols[2], dtype=np.float64),
            lon=np.array(fcols[3], dtype=np.float64),
            h_acc_m=np.array(fcols[4], dtype=np.float64),
        )
        mcols = list(zip(*self._moves, strict=True)) if self._moves else [()] * 5
        moves = Moves(hotspot=np.array(mcols[0], dtype=np.int32),
                      at_ms=np.array(mcols[1], dtype=np.int64),
                      from_lat=np.array(mcols[2], dtype=np.float64),
                      from_lon=np.array(mcols[3], dtype=np.float64),
                      from_at_ms=np.array(mcols[4], dtype=np.int64))
        return History(self.from_ms, self.to_ms, hotspots, witnesses, fixes, moves)


# Metres a degree of latitude on h3's sphere: the local flat maps the place fits search on
# (position.py, arrival.py) use it both ways.
M_PER_DEG = math.pi / 180 * geo.EARTH_RADIUS_M


def fitted_place(lat: float, lon: float, east_m: float, north_m: float) -> dict[str, float]:
    """A finding's evidence of where a fit places a hotspot asserted at (lat, lon): the point
    `east_m`, `north_m` from it on the local flat map, to 5 decimals (about a metre)."""
    return {
        "fitted_lat": round(lat + north_m / M_PER_DEG, 5),
        "fitted_lon": round(lon + east_m / (M_PER_DEG * math.cos(math.radians(lat))), 5),
    }


def haversine_m(
    lat1: NDArray[np.float64], lon1: NDArray[np.float64],
    lat2: NDArray[np.float64], lon2: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Great-circle metres on h3's sphere (pocnet.geo.haversine_m, vectorised)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * geo.EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
