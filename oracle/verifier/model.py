"""The verifier's in-memory records: what it reads (registrations, report cases) and what it
decides (verdicts).

Reports stay the generated protobuf classes (no copy layer on the hot path); a case
only adds what the oracle itself knows about a report: its content-hash id, its own receive
time and, for beacons, the timestamp of the entropy the beacon names.

What is made once per report (its case, its view, its verdict) is a named tuple, not a
frozen dataclass: a frozen dataclass sets each field through `object.__setattr__`, and
`verify` makes millions of them a week (a tuple is made in about a third of the time).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from oracle.verifier.params import VerifierParams
from oracle.verifier.reasons import Reason
from pocnet.wire import reports_pb2

CAPABILITY_FULL = "full"
CAPABILITY_DATA_ONLY = "data_only"


@dataclass(frozen=True)
class HotspotRecord:
    """A registration as the registry holds it.

    `location` is the asserted H3 res-12 cell (None = not asserted); `region` is the plan name
    derived from it (None = in no known region); `capability` is "full" or "data_only".
    """

    key: bytes
    owner: bytes
    location: int | None
    gain_dbi_x10: int
    elevation_m: int
    capability: str
    region: str | None


class BeaconCase(NamedTuple):
    """A stored beacon report. `entropy_timestamp_s` is the oracle's timestamp of the entropy
    the report names (None: this oracle never issued it)."""

    report_id: bytes
    report: reports_pb2.BeaconReport
    received_ms: int
    entropy_timestamp_s: int | None


class WitnessCase(NamedTuple):
    """A stored witness report, already matched to its beacon by identical `data`."""

    report_id: bytes
    report: reports_pb2.WitnessReport
    received_ms: int


class VerdictRecord(NamedTuple):
    """One report's verdict.

    `passed_regular` is True when the report passed every check that precedes reciprocity: it
    drives the reciprocity bootstrap (HIP-106) and hex-density interactivity even when
    reciprocity then makes the report invalid. `location_trust` multiplies the report's reward
    share (docs/protocol.md §5 GPS trust; 1 where the GPS rules are off). For beacons
    `selected` equals `valid`; for witnesses it marks HIP-83's first 14.
    """

    report_id: bytes
    kind: str
    valid: bool
    reason: Reason | None
    selected: bool
    location_trust: Decimal
    beacon_id: bytes | None
    detail: str
    passed_regular: bool


KIND_BEACON = "beacon"
KIND_WITNESS = "witness"


@dataclass(frozen=True, slots=True)
class Site:
    """An asserted location with what the rules derive from it, computed once per cell: the
    res-11 parent (witness rule 9) and the centre (rules 10, 11 and the GPS trust)."""

    cell: int
    parent: int
    lat: float
    lon: float


class BeaconView(NamedTuple):
    """What the beacon rules read, prepared once per beacon by the pipeline.

    `site` and `plan_name` are None when the hotspot is unknown, not asserted or in no region;
    `expected_*` is the regenerated beacon (§4), None when it cannot be derived (`regen_error`
    says why). `fix` is the report's usable GPS fix, `previous_fix` the hotspot's last usable
    fix received before this report.
    """

    case: BeaconCase
    key: bytes
    hotspot: HotspotRecord | None
    site: Site | None
    plan_name: str | None
    max_conducted_dbm: int | None
    expected_data: bytes | None
    expected_frequency_hz: int | None
    expected_datarate: int | None
    regen_error: str
    spreading_factor: int
    bandwidth_hz: int
    fix: tuple[float, float] | None
    previous_fix: tuple[float, float, int] | None
    trust_distance_m: float | None


class WitnessView(NamedTuple):
    """What the witness rules read about one witness of `beacon`.

    `first_ms` is the receive time of the beacon's first witness (rule 4's early arrivals),
    `first_of_hotspot` whether this is the hotspot's earliest report for the beacon (rule 13),
    `distance_m` the great-circle metres between the asserted cell centres (rules 10, 11),
    `grid_steps` the H3 grid steps between their res-11 parents (rule 9; None where either is
    unknown or h3 has no grid distance).
    """

    case: WitnessCase
    key: bytes
    beacon: BeaconView
    hotspot: HotspotRecord | None
    site: Site | None
    first_ms: int
    first_of_hotspot: bool
    distance_m: float | None
    grid_steps: int | None
    fix: tuple[float, float] | None
    previous_fix: tuple[float, float, int] | None
    trust_distance_m: float | None


__all__ = [
    "CAPABILITY_DATA_ONLY",
    "CAPABILITY_FULL",
    "KIND_BEACON",
    "KIND_WITNESS",
    "BeaconCase",
    "BeaconView",
    "HotspotRecord",
    "Site",
    "VerdictRecord",
    "VerifierParams",
    "WitnessCase",
    "WitnessView",
]
