"""Builders of real signed PoC reports for the verifier tests and the benchmark.

Hotspots have real Ed25519 keys (pocnet.keys), reports are signed with pocnet.signing, beacons
are derived with pocnet.beacon, and asserted cells are placed at chosen great-circle distances
with pocnet.geo. `Net.valid_poc()` is a PoC that passes every rule; each test changes one thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from oracle.verifier.context import MemoryContext
from oracle.verifier.model import BeaconCase, HotspotRecord, WitnessCase
from oracle.verifier.params import VerifierParams
from pocnet import geo, link, signing
from pocnet.beacon import derive_beacon, entropy_data
from pocnet.keys import Keypair
from pocnet.regions import get_plan
from pocnet.wire import reports_pb2

# 2026-01-01 01:00:00 UTC: one hour into a 6-hour beacon window.
ENTROPY_TS_S = 1_767_229_200
BEACON_RX_MS = (ENTROPY_TS_S + 60) * 1000


def remote_entropy(timestamp_s: int) -> bytes:
    """The oracle's entropy issued at `timestamp_s` (docs/protocol.md §4)."""
    return entropy_data(timestamp_s, bytes(range(32)))


LOCAL_ENTROPY = b"\x0a\x0b\x0c\x0d"
ORIGIN = (52.3700, 4.8900)  # Amsterdam: EU868
GAIN_DBI_X10 = 30
HOUR_MS = 3_600_000
EARTH_RADIUS_M = geo.EARTH_RADIUS_M


def destination(
    lat: float, lon: float, distance_m: float, bearing_deg: float
) -> tuple[float, float]:
    """The point `distance_m` from (lat, lon) along `bearing_deg` on h3's sphere."""
    d = distance_m / EARTH_RADIUS_M
    p1, l1, b = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(
        math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
    )
    return math.degrees(p2), math.degrees(l2)


def cell_at(
    distance_m: float, bearing_deg: float = 90.0, origin: tuple[float, float] = ORIGIN
) -> int:
    return geo.latlng_to_cell(*destination(*origin, distance_m, bearing_deg), 12)


def origin_cell() -> int:
    return geo.latlng_to_cell(*ORIGIN, 12)


def gps_fix(
    lat: float, lon: float, h_acc_mm: int = 5_000, fix_type: int = reports_pb2.FIX_3D
) -> reports_pb2.GpsFix:
    return reports_pb2.GpsFix(
        lat_e7=round(lat * 1e7),
        lon_e7=round(lon * 1e7),
        h_acc_mm=h_acc_mm,
        fix_type=fix_type,
        satellites=9,
    )


@dataclass(frozen=True)
class Node:
    keypair: Keypair
    record: HotspotRecord

    @property
    def key(self) -> bytes:
        return self.record.key


_counter = iter(range(1, 1 << 30))


def node(
    location: int | None,
    gain_dbi_x10: int = GAIN_DBI_X10,
    capability: str = "full",
    region: str | None = "EU868",
    seed: int | None = None,
) -> Node:
    n = next(_counter) if seed is None else seed
    keypair = Keypair.from_seed(n.to_bytes(32, "big"))
    record = HotspotRecord(
        key=keypair.public_key.to_bytes(),
        owner=bytes(32),
        location=location,
        gain_dbi_x10=gain_dbi_x10,
        elevation_m=5,
        capability=capability,
        region=region,
    )
    return Node(keypair, record)


def beacon_case(
    beaconer: Node,
    received_ms: int = BEACON_RX_MS,
    entropy_ts_s: int | None = ENTROPY_TS_S,
    local_entropy: bytes = LOCAL_ENTROPY,
    fix: reports_pb2.GpsFix | None = None,
    **overrides: object,
) -> BeaconCase:
    """A signed beacon report, derived as an honest hotspot would; `overrides` set fields."""
    plan = get_plan(beaconer.record.region or "EU868")
    ts = ENTROPY_TS_S if entropy_ts_s is None else entropy_ts_s
    remote = remote_entropy(ts)
    beacon = derive_beacon(remote, ts, local_entropy, plan, beaconer.record.gain_dbi_x10)
    report = reports_pb2.BeaconReport(
        pub_key=beaconer.key,
        local_entropy=local_entropy,
        remote_entropy=remote,
        data=beacon.data,
        frequency=beacon.frequency_hz,
        channel=0,
        datarate=reports_pb2.DataRate.Value(beacon.datarate),
        tx_power=beacon.tx_power_dbm,
        timestamp=received_ms * 1_000_000,
    )
    if fix is not None:
        report.gps_fix.CopyFrom(fix)
    for name, value in overrides.items():
        setattr(report, name, value)
    signing.sign(report, beaconer.keypair)
    return BeaconCase(signing.report_id(report), report, received_ms, entropy_ts_s)


def plausible_signal_x10(
    beacon: BeaconCase, beaconer: Node, witness: Node, below_db: float = 10.0
) -> int:
    """A signal `below_db` under witness rule 11's bound, in deci-dBm."""
    bound = link.rssi_bound_dbm(
        beacon.report.tx_power,
        beaconer.record.gain_dbi_x10,
        witness.record.gain_dbi_x10,
        geo.cell_distance_m(beaconer.record.location, witness.record.location),
        beacon.report.frequency,
    )
    return math.floor((bound - below_db) * 10)


def witness_case(
    witness: Node,
    beacon: BeaconCase,
    received_ms: int | None = None,
    signal: int = -1000,
    snr: int = 50,
    fix: reports_pb2.GpsFix | None = None,
    **overrides: object,
) -> WitnessCase:
    report = reports_pb2.WitnessReport(
        pub_key=witness.key,
        data=beacon.report.data,
        timestamp=(received_ms or beacon.received_ms) * 1_000_000,
        tmst=123_456,
        signal=signal,
        snr=snr,
        frequency=beacon.report.frequency,
        datarate=beacon.report.datarate,
    )
    if fix is not None:
        report.gps_fix.CopyFrom(fix)
    for name, value in overrides.items():
        setattr(report, name, value)
    signing.sign(report, witness.keypair)
    rx = beacon.received_ms + 500 if received_ms is None else received_ms
    return WitnessCase(signing.report_id(report), report, rx)


@dataclass
class Net:
    """A beaconer and witnesses 2 km apart and more, with reciprocity history in place."""

    params: VerifierParams = field(default_factory=VerifierParams)
    ctx: MemoryContext = field(default_factory=MemoryContext)
    beaconer: Node = field(default_factory=lambda: node(origin_cell()))
    witnesses: list[Node] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.add(self.beaconer)

    def add(self, n: Node, history: bool = True) -> Node:
        self.ctx.add_hotspot(n.record)
        if history:
            self.ctx.note_valid_witness(n.key, BEACON_RX_MS - HOUR_MS)
            self.ctx.note_valid_beacon(n.key, BEACON_RX_MS - HOUR_MS)
        return n

    def witness_node(
        self, distance_m: float = 2_000.0, bearing_deg: float = 90.0, **kw: object
    ) -> Node:
        n = self.add(node(cell_at(distance_m, bearing_deg), **kw))  # type: ignore[arg-type]
        self.witnesses.append(n)
        return n


def cell_at_grid_steps(steps: int, origin: int | None = None) -> int:
    """A res-12 cell whose res-11 parent is exactly `steps` grid steps from the origin's."""
    parent = geo.cell_to_parent(origin or origin_cell(), 11)
    ring = set(geo.grid_disk(parent, steps)) - set(geo.grid_disk(parent, steps - 1))
    target = min(ring)
    cell = geo.latlng_to_cell(*geo.cell_to_latlng(target), 12)
    assert geo.cell_to_parent(cell, 11) == target
    assert geo.grid_distance(parent, target) == steps
    return cell


def cell_with_distance(lo_m: float, hi_m: float, origin: int | None = None) -> int:
    """A res-12 cell whose centre is in [lo_m, hi_m) from the origin cell's centre."""
    start = origin or origin_cell()
    centre = geo.cell_to_latlng(start)
    for bearing in range(0, 360, 3):
        d = lo_m - 20
        while d < hi_m + 20:
            cell = geo.latlng_to_cell(*destination(*centre, d, bearing), 12)
            if lo_m <= geo.cell_distance_m(start, cell) < hi_m:
                return cell
            d += 2
    raise AssertionError(f"no cell between {lo_m} and {hi_m} m")
