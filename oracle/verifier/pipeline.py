"""docs/protocol.md §5 as two ordered lists of checks, and `verify_poc` which applies them to one
beacon and its witnesses.

Order is the spec's; the first failing check is the verdict. pocnet's GPS rules are its own
additions and §5 gives them no place, so they sit after every Helium rule that precedes
reciprocity and before reciprocity itself:
- after Helium's rules, so any report Helium would reject keeps Helium's reason (operators and
  tools that know Helium see the familiar verdict, and switching the GPS rules off changes
  only reports Helium would have accepted);
- before reciprocity, because `passed_regular` (everything before reciprocity) feeds the
  HIP-106 bootstrap and hex-density interactivity: a report with a spoofed location must not
  earn its hotspot reciprocity or density credit.

Per-report work that is not a comparison happens once, here: the beacon is regenerated once per
PoC, and each asserted cell's res-11 parent and centre, and each pair's distance and grid steps,
come from a `SiteCache` the caller may keep across PoCs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import TypeVar

from oracle.verifier import checks as c
from oracle.verifier import trust
from oracle.verifier.context import VerifierContext
from oracle.verifier.model import (
    KIND_BEACON,
    KIND_WITNESS,
    BeaconCase,
    BeaconView,
    HotspotRecord,
    Site,
    VerdictRecord,
    WitnessCase,
    WitnessView,
)
from oracle.verifier.params import VerifierParams
from oracle.verifier.reasons import Reason
from pocnet import geo
from pocnet.beacon import BEACON_PAYLOAD_LEN, beacon_payloads, beacon_seed, derive_beacon
from pocnet.errors import ProtoError
from pocnet.regions import RegionPlan, get_plan
from pocnet.wire import reports_pb2

BeaconCheck = Callable[[BeaconView, VerifierContext, VerifierParams], c.Failure | None]
WitnessCheck = Callable[[WitnessView, VerifierContext, VerifierParams], c.Failure | None]

BEACON_CHECKS: tuple[BeaconCheck, ...] = (
    c.check_beacon_gateway,  # 1 gateway_not_found / not_asserted
    c.check_beacon_denied,  # 2 denied
    c.check_beacon_entropy,  # 3 entropy_expired
    c.check_beacon_capability,  # 4 invalid_capability
    c.check_beacon_interval,  # 5 irregular_interval
    c.check_beacon_packet,  # 6 invalid_packet
    c.check_beacon_tx_power,  # 7 tx_power_too_high (pocnet)
    c.check_beacon_gps_location,  # gps_location_mismatch (pocnet)
    c.check_beacon_gps_motion,  # gps_implausible_motion (pocnet)
    c.check_beacon_reciprocity,  # 8 gateway_no_valid_witnesses
)

WITNESS_CHECKS: tuple[WitnessCheck, ...] = (
    c.check_witness_denied,  # 1 denied / denied_edge
    c.check_witness_self,  # 2 self_witness (dropped from the output)
    c.check_witness_entropy,  # 3 entropy_expired
    c.check_witness_timing,  # 4 too_late
    c.check_witness_packet,  # 5 invalid_packet
    c.check_witness_gateway,  # gateway_not_found / not_asserted (what 6-11 presuppose)
    c.check_witness_capability,  # 6 invalid_capability
    c.check_witness_frequency,  # 7 invalid_frequency
    c.check_witness_region,  # 8 invalid_region
    c.check_witness_min_distance,  # 9 below_min_distance
    c.check_witness_max_distance,  # 10 max_distance_exceeded
    c.check_witness_rssi,  # 11 bad_rssi
    c.check_witness_snr,  # 12 bad_snr (pocnet)
    c.check_witness_sensitivity,  # 12 below_sensitivity (pocnet)
    c.check_witness_duplicate,  # 13 duplicate
    c.check_witness_gps_location,  # gps_location_mismatch (pocnet)
    c.check_witness_gps_motion,  # gps_implausible_motion (pocnet)
    c.check_witness_reciprocity,  # 14 gateway_no_valid_beacons
)

# Reciprocity comes last; everything before it is "the regular checks" (HIP-106 bootstrap).
RECIPROCITY_CHECKS = frozenset({c.check_beacon_reciprocity, c.check_witness_reciprocity})
WITNESS_REGULAR_CHECKS = WITNESS_CHECKS[:-1]


_V = TypeVar("_V")  # what a SiteCache table holds
_RECEIVE_ORDER = itemgetter(2, 0)  # a WitnessCase's (received_ms, report_id)


class SiteCache:
    """Asserted cell → `Site` (res-11 parent and centre). h3 work is the costly part of the
    per-witness path and hotspots witness again and again, so the runner keeps one cache for
    a whole run. Bounded: it starts over when full rather than grow without limit."""

    def __init__(self, max_entries: int = 2_000_000) -> None:
        self._max_entries = max_entries
        self._sites: dict[tuple[int, int], Site | None] = {}
        self._distances: dict[tuple[int, int], float] = {}
        self._steps: dict[tuple[int, int], int | None] = {}

    def site(self, cell: int | None, parent_res: int) -> Site | None:
        """None for a missing or invalid cell, or one coarser than `parent_res`."""
        if cell is None:
            return None
        key = (cell, parent_res)
        try:
            return self._sites[key]
        except KeyError:
            pass
        site = None
        if geo.is_valid_cell(cell) and geo.resolution(geo.Cell(cell)) >= parent_res:
            lat, lon = geo.cell_to_latlng(geo.Cell(cell))
            site = Site(cell, geo.cell_to_parent(geo.Cell(cell), parent_res), lat, lon)
        return self._keep(self._sites, key, site)

    def distance_m(self, a: Site, b: Site) -> float:
        """Great-circle metres between two sites' centres; the same beaconer-witness pairs
        come back window after window, and haversine was ~10 % of the verifier."""
        key = (a.cell, b.cell)
        try:
            return self._distances[key]
        except KeyError:
            pass
        return self._keep(self._distances, key, geo.haversine_m(a.lat, a.lon, b.lat, b.lon))

    def grid_steps(self, a: Site, b: Site) -> int | None:
        """H3 grid steps between two sites' res-11 parents (witness rule 9), None where h3 has
        no answer; asked once per witness, for the same pairs window after window."""
        key = (a.parent, b.parent)
        try:
            return self._steps[key]
        except KeyError:
            pass
        try:
            steps: int | None = geo.grid_distance(geo.Cell(a.parent), geo.Cell(b.parent))
        except geo.GeoError:
            steps = None
        return self._keep(self._steps, key, steps)

    def _keep(self, table: dict[tuple[int, int], _V], key: tuple[int, int], value: _V) -> _V:
        """Remember `value`; a table at `max_entries` starts over rather than grow."""
        if len(table) >= self._max_entries:
            table.clear()
        table[key] = value
        return value


def _plan(region: str | None) -> RegionPlan | None:
    if region is None:
        return None
    try:
        return get_plan(region)
    except ProtoError:
        return None


def _centre(site: Site | None) -> tuple[float, float] | None:
    return None if site is None else (site.lat, site.lon)


def regenerate_payloads(beacons: Sequence[BeaconCase]) -> dict[bytes, bytes]:
    """The expected payload of every beacon of a batch, keyed by ChaCha12 seed, in one
    vectorised pass (per beacon in pure Python it was ~50 µs, 12–18 % of the verifier).
    Beacons whose seed cannot be formed are left out: `prepare_beacon` reports their error."""
    seeds = []
    for case in beacons:
        if case.entropy_timestamp_s is None:
            continue
        report = case.report
        try:
            seeds.append(
                beacon_seed(report.remote_entropy, case.entropy_timestamp_s, report.local_entropy)
            )
        except ProtoError:
            continue
    return beacon_payloads(seeds)


def prepare_beacon(
    case: BeaconCase,
    ctx: VerifierContext,
    params: VerifierParams,
    sites: SiteCache,
    payloads: Mapping[bytes, bytes] | None = None,
) -> BeaconView:
    """Everything the beacon rules and the beacon's witnesses read, computed once."""
    report = case.report
    key = report.pub_key
    hotspot, site = _registration(key, ctx, params, sites)
    plan = _plan(hotspot.region) if hotspot else None
    expected_data = expected_freq = expected_dr = max_dbm = None
    regen_error, sf, bw_hz = "", 0, 0
    if hotspot is not None and plan is not None:
        max_dbm = plan.max_conducted_dbm(hotspot.gain_dbi_x10)
        sf, bw_hz = plan.beacon_spreading_factor(BEACON_PAYLOAD_LEN), plan.bandwidth_hz
        if case.entropy_timestamp_s is None:
            regen_error = "entropy unknown"
        else:
            try:
                expected = derive_beacon(
                    report.remote_entropy,
                    case.entropy_timestamp_s,
                    report.local_entropy,
                    plan,
                    hotspot.gain_dbi_x10,
                    payloads=payloads,
                )
                expected_data, expected_freq = expected.data, expected.frequency_hz
                expected_dr = reports_pb2.DataRate.Value(expected.datarate)
            except ProtoError as exc:
                regen_error = str(exc)
    else:
        regen_error = "no region plan"
    fix, previous_fix, trust_distance_m = _gps(case, key, site, ctx, params)
    return BeaconView(
        case=case,
        key=key,
        hotspot=hotspot,
        site=site,
        plan_name=plan.name if plan else None,
        max_conducted_dbm=max_dbm,
        expected_data=expected_data,
        expected_frequency_hz=expected_freq,
        expected_datarate=expected_dr,
        regen_error=regen_error,
        spreading_factor=sf,
        bandwidth_hz=bw_hz,
        fix=fix,
        previous_fix=previous_fix,
        trust_distance_m=trust_distance_m,
    )


def _registration(
    key: bytes, ctx: VerifierContext, params: VerifierParams, sites: SiteCache
) -> tuple[HotspotRecord | None, Site | None]:
    """The hotspot's registration and its asserted site (None where unknown or unasserted)."""
    hotspot = ctx.hotspot(key)
    site = sites.site(hotspot.location, params.min_distance_res) if hotspot else None
    return hotspot, site


def _gps(
    case: BeaconCase | WitnessCase,
    key: bytes,
    site: Site | None,
    ctx: VerifierContext,
    params: VerifierParams,
) -> tuple[tuple[float, float] | None, tuple[float, float, int] | None, float | None]:
    """What pocnet's GPS rules read, for beacons and witnesses alike: the report's usable fix,
    the hotspot's previous one (motion rule) and the fix's distance from the site (trust)."""
    fix = trust.usable_fix(case.report)
    previous = None
    if fix is not None and params.gps_motion_rule:
        previous = ctx.last_fix(key, case.received_ms)
    return fix, previous, trust.fix_distance_m(fix, _centre(site))


def prepare_witness(
    case: WitnessCase,
    beacon: BeaconView,
    first_ms: int,
    first_of_hotspot: bool,
    ctx: VerifierContext,
    params: VerifierParams,
    sites: SiteCache,
    key: bytes | None = None,
) -> WitnessView:
    """`key`: the witness's public key when the caller has read it already (reading a bytes
    field of a parsed report makes a new copy each time)."""
    if key is None:
        key = case.report.pub_key
    hotspot, site = _registration(key, ctx, params, sites)
    distance_m = grid_steps = None
    beacon_site = beacon.site
    if site is not None and beacon_site is not None:
        distance_m = sites.distance_m(beacon_site, site)
        grid_steps = sites.grid_steps(beacon_site, site)
    fix, previous_fix, trust_distance_m = _gps(case, key, site, ctx, params)
    return WitnessView(case, key, beacon, hotspot, site, first_ms, first_of_hotspot, distance_m,
                       grid_steps, fix, previous_fix, trust_distance_m)


def first_failure(
    checks: Sequence[Callable[..., c.Failure | None]],
    view: BeaconView | WitnessView,
    ctx: VerifierContext,
    params: VerifierParams,
) -> tuple[c.Failure | None, Callable[..., c.Failure | None] | None]:
    """The first failing check of `checks` and its failure, or (None, None)."""
    for check in checks:
        failure = check(view, ctx, params)
        if failure is not None:
            return failure, check
    return None, None


def verify_poc(
    beacon: BeaconCase,
    witnesses: Sequence[WitnessCase],
    ctx: VerifierContext,
    params: VerifierParams,
    now_ms: int,
    *,
    sites: SiteCache | None = None,
    payloads: Mapping[bytes, bytes] | None = None,
) -> list[VerdictRecord]:
    """Verdicts for one beacon and its witnesses: the beacon's first, then the witnesses' in
    receive order, self-witnesses omitted, HIP-83 selection applied.

    No rule reads `now_ms`: every time comparison uses the oracle's receive times, so
    re-verifying a time range later gives the same verdicts. If the beacon fails a regular
    check its witnesses take its reason and count for nothing; if it fails only reciprocity,
    they take its reason but their own regular checks still run, so that the bootstrap can
    count them (HIP-106). `payloads` is `regenerate_payloads` over the caller's batch.
    """
    del now_ms  # kept in the signature for the runner; see the docstring
    sites = sites if sites is not None else SiteCache()
    b = prepare_beacon(beacon, ctx, params, sites, payloads)
    b_failure, b_check = first_failure(BEACON_CHECKS, b, ctx, params)
    b_regular = b_failure is None or b_check in RECIPROCITY_CHECKS
    verdicts = [
        VerdictRecord(
            report_id=beacon.report_id,
            kind=KIND_BEACON,
            valid=b_failure is None,
            reason=None if b_failure is None else b_failure.reason,
            selected=b_failure is None,
            location_trust=trust.location_trust(b.site is not None, b.trust_distance_m, params),
            beacon_id=None,
            detail="" if b_failure is None else b_failure.detail,
            passed_regular=b_regular,
        )
    ]
    ordered = sorted(witnesses, key=_RECEIVE_ORDER)
    genuine = [w for w in ordered if w.report.pub_key != b.key]
    first_ms = genuine[0].received_ms if genuine else beacon.received_ms
    seen: set[bytes] = set()
    selected = 0
    for case in ordered:
        key = case.report.pub_key
        first_of_hotspot = key not in seen
        seen.add(key)
        w = prepare_witness(case, b, first_ms, first_of_hotspot, ctx, params, sites, key)
        if b_failure is None:
            failure, check = first_failure(WITNESS_CHECKS, w, ctx, params)
            passed_regular = failure is None or check in RECIPROCITY_CHECKS
        elif b_regular:
            own, _ = first_failure(WITNESS_REGULAR_CHECKS, w, ctx, params)
            passed_regular = own is None
            failure = _inherited(b_failure, own)
        else:
            own = c.check_witness_self(w, ctx, params)
            passed_regular = False
            failure = own or _inherited(b_failure, None)
        if failure is not None and failure.reason is Reason.self_witness:
            continue
        valid = failure is None
        chosen = valid and selected < params.max_witnesses
        selected += chosen
        # Positional (VerdictRecord's field order): one a report, and keywords cost more.
        verdicts.append(VerdictRecord(
            case.report_id, KIND_WITNESS, valid, None if failure is None else failure.reason,
            chosen, trust.location_trust(w.site is not None, w.trust_distance_m, params),
            beacon.report_id, "" if failure is None else failure.detail, passed_regular,
        ))
    return verdicts


def _inherited(beacon_failure: c.Failure, own: c.Failure | None) -> c.Failure:
    """§5: "If the beacon is invalid, each of its witnesses gets the beacon's reason"; the
    witness's own first failure, if any, is kept in the detail for the owner."""
    detail = f"beacon invalid: {beacon_failure.reason.name}"
    if own is not None and own.reason is Reason.self_witness:
        return own
    if own is not None:
        detail += f"; witness also {own.reason.name}: {own.detail}"
    return c.Failure(beacon_failure.reason, detail)


def stale_verdict(
    case: BeaconCase | WitnessCase, kind: str, now_ms: int, params: VerifierParams
) -> VerdictRecord | None:
    """§5: a report still unverified 45 min after arrival is `stale` (e.g. a witness whose
    beacon never arrived); None while it is younger. For the runner's sweep."""
    if now_ms - case.received_ms < params.stale_after_ms:
        return None
    return VerdictRecord(
        report_id=case.report_id,
        kind=kind,
        valid=False,
        reason=Reason.stale,
        selected=False,
        location_trust=Decimal(0),
        beacon_id=None,
        detail=f"unverified {(now_ms - case.received_ms) // 1000} s after arrival",
        passed_regular=False,
    )
