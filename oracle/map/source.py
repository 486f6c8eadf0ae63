"""What an epoch's map shows, read from the oracle's store: hotspots at their asserted cells
with their density scale and reward, the hexes the scales were computed for, and every witness
link of the epoch with its verdicts.

The scales are the ones the epoch's rewards used (`oracle.rewards.runner.epoch_scales`), so a
hex's colour and a hotspot's reward on the map agree with the manifest. A map is an operator's
tool: it shows verdicts after they are written, never a beacon's payload.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from oracle.density.params import DEFAULT_PARAMS, DensityParams
from oracle.density.scale import MISSING_SCALE
from oracle.rewards.model import DAY_MS, epoch_bounds_ms
from oracle.rewards.runner import epoch_scales
from oracle.rewards.source import RepositorySource
from oracle.storage.scan import Scanner
from pocnet import geo
from pocnet.keys import PublicKey
from pocnet.wire import verdict_pb2

# Hexes are drawn at res 8, the finest resolution whose HIP-104 target is one hotspot.
HEX_RES = 8
_BEACON, _WITNESS = 0, 1  # verdict_pb2.ReportKind


@dataclass(frozen=True)
class MapHotspot:
    address: str
    lat: float
    lon: float
    scale: Decimal  # 0.2 (docs/protocol.md §6 rule 4) when not interactive
    interactive: bool
    reward: int  # base units earned in the epoch (beacons + witnesses); 0 without a manifest


@dataclass(frozen=True)
class MapLink:
    """One directed (beaconer → witness) pair of the epoch and its witness verdicts."""

    beaconer: str
    witness: str
    valid: int  # valid witness reports on this link
    invalid: dict[str, int]  # reason name → invalid witness reports

    @property
    def is_valid(self) -> bool:
        return self.valid > 0


@dataclass(frozen=True)
class MapHex:
    cell: int
    scale: Decimal  # mean scale of the interactive hotspots inside the hex


@dataclass(frozen=True)
class MapOverlay:
    """A second position for a hotspot (its true location in a simulation, a GPS fix)."""

    address: str
    lat: float
    lon: float
    label: str


@dataclass(frozen=True)
class MapData:
    epoch: int
    rewarded: bool  # the epoch's manifest is stored
    hotspots: tuple[MapHotspot, ...]
    links: tuple[MapLink, ...]
    hexes: tuple[MapHex, ...]
    overlay: tuple[MapOverlay, ...] = ()


def _address(key: bytes, cache: dict[bytes, str]) -> str:
    if key not in cache:
        cache[key] = PublicKey.from_bytes(key).address
    return cache[key]


def read_map(
    repo: Any, epoch: int, density: DensityParams = DEFAULT_PARAMS, epoch_ms: int = DAY_MS
) -> MapData:
    """The map of `epoch` (of `epoch_ms`, [network] epoch_s) from a Repository."""
    start, end = epoch_bounds_ms(epoch, epoch_ms)
    source = RepositorySource(repo)
    scanner = Scanner(repo)  # long reads that hold off no ingest
    try:
        scales = epoch_scales(source, epoch, density, epoch_ms)
        return _read(scanner, epoch, start, end, scales)
    finally:
        source.close()
        scanner.close()


def _read(scanner: Scanner, epoch: int, start: int, end: int,
          scales: dict[int, Decimal]) -> MapData:
    rewards = {
        bytes(key): int(b) + int(w)
        for key, b, w in scanner.rows(
            "SELECT hotspot_key, beacon_amount, witness_amount FROM rewards_hotspots "
            "WHERE epoch = ?",
            (epoch,),
        )
    }
    rewarded = bool(list(scanner.rows("SELECT 1 FROM rewards_manifests WHERE epoch = ?",
                                      (epoch,))))
    names: dict[bytes, str] = {}
    hotspots = []
    for key, cell in scanner.rows(
        "SELECT hotspot_key, location FROM hotspots WHERE location IS NOT NULL "
        "ORDER BY hotspot_key",
        (),
    ):
        lat, lon = geo.cell_to_latlng(geo.Cell(int(cell)))
        hotspots.append(MapHotspot(
            address=_address(bytes(key), names),
            lat=lat,
            lon=lon,
            scale=scales.get(int(cell), MISSING_SCALE),
            interactive=int(cell) in scales,
            reward=rewards.get(bytes(key), 0),
        ))
    return MapData(
        epoch=epoch,
        rewarded=rewarded,
        hotspots=tuple(hotspots),
        links=tuple(_links(scanner, start, end, names)),
        hexes=tuple(_hexes(scales.items())),
    )


def _links(scanner: Scanner, start: int, end: int, names: dict[bytes, str]) -> list[MapLink]:
    rows = scanner.rows(
        "SELECT b.hotspot_key, w.hotspot_key, w.valid, w.reason FROM verdicts w "
        "JOIN verdicts b ON b.report_id = w.beacon_id WHERE w.kind = ? AND b.kind = ? "
        "AND b.received_ms >= ? AND b.received_ms < ?",
        (_WITNESS, _BEACON, start, end),
    )
    valid: Counter[tuple[bytes, bytes]] = Counter()
    invalid: dict[tuple[bytes, bytes], Counter[str]] = defaultdict(Counter)
    for beaconer, witness, is_valid, reason in rows:
        pair = (bytes(beaconer), bytes(witness))
        if is_valid:
            valid[pair] += 1
        else:
            invalid[pair][_reason_name(reason)] += 1
    pairs = sorted(set(valid) | set(invalid))
    return [
        MapLink(
            beaconer=_address(b, names),
            witness=_address(w, names),
            valid=valid[(b, w)],
            invalid=dict(sorted(invalid[(b, w)].items())),
        )
        for b, w in pairs
    ]


def _reason_name(reason: int | None) -> str:
    try:
        return verdict_pb2.InvalidReason.Name(int(reason or 0))
    except ValueError:
        return f"reason_{reason}"


def _hexes(scales: Iterable[tuple[int, Decimal]]) -> list[MapHex]:
    members: dict[int, list[Decimal]] = defaultdict(list)
    for cell, scale in scales:
        members[geo.cell_to_parent(geo.Cell(cell), HEX_RES)].append(scale)
    return [
        MapHex(cell=int(hex_), scale=sum(values, Decimal(0)) / len(values))
        for hex_, values in sorted(members.items())
    ]
