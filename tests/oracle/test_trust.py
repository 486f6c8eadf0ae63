"""pocnet's GPS rules (docs/protocol.md §5 "location trust from GPS"): trust 1 / 0.25 / 0 at 300 and
400 m, missing-fix trust, usable fixes only, implausible motion at 300 km/h, and the switches."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from verifier_builders import (
    BEACON_RX_MS,
    Net,
    beacon_case,
    destination,
    gps_fix,
    node,
    witness_case,
)

from oracle.verifier import trust
from oracle.verifier.params import VerifierParams
from oracle.verifier.pipeline import verify_poc
from oracle.verifier.reasons import Reason
from pocnet import geo
from pocnet.wire import reports_pb2

P = VerifierParams()


def north_of(lat: float, lon: float, distance_m: float) -> tuple[float, float]:
    """A point due north whose haversine distance is at most `distance_m` and within 1 µm."""
    lat2, _ = destination(lat, lon, distance_m, 0.0)
    while geo.haversine_m(lat, lon, lat2, lon) > distance_m:
        lat2 -= 1e-13
    assert distance_m - geo.haversine_m(lat, lon, lat2, lon) < 1e-6
    return lat2, lon


# --- trust as a function of distance --------------------------------------------------------


@pytest.mark.parametrize(
    ("distance_m", "expected"),
    [
        (0.0, Decimal(1)),
        (300.0, Decimal(1)),
        (300.001, Decimal("0.25")),
        (301.0, Decimal("0.25")),
        (400.0, Decimal("0.25")),
        (400.001, Decimal(0)),
        (401.0, Decimal(0)),
        (None, Decimal("0.5")),
    ],
)
def test_trust_for_distance(distance_m: float | None, expected: Decimal) -> None:
    value = trust.trust_for_distance(distance_m, P)
    assert isinstance(value, Decimal)
    assert value == expected


def test_missing_fix_trust_is_a_parameter() -> None:
    assert trust.trust_for_distance(None, VerifierParams(missing_fix_trust=Decimal("0.3"))) == (
        Decimal("0.3")
    )


def test_location_trust_with_rules_off_or_no_assertion() -> None:
    assert trust.location_trust(True, None, VerifierParams(gps_rules=False)) == 1
    assert trust.location_trust(True, 5_000.0, VerifierParams(gps_rules=False)) == 1
    assert trust.location_trust(False, 10.0, P) == 0
    assert trust.location_trust(True, 10.0, P) == 1
    assert trust.location_trust(True, None, P) == Decimal("0.5")


@pytest.mark.parametrize("bad", [Decimal("1.5"), Decimal(-1), 0.5])
def test_params_refuse_bad_trust(bad: object) -> None:
    with pytest.raises(ValueError):
        VerifierParams(missing_fix_trust=bad)  # type: ignore[arg-type]


# --- usable fixes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fix", "usable"),
    [
        (gps_fix(52.0, 4.0), True),
        (gps_fix(52.0, 4.0, h_acc_mm=50_000), True),
        (gps_fix(52.0, 4.0, h_acc_mm=50_001), False),
        (gps_fix(52.0, 4.0, fix_type=reports_pb2.FIX_2D), False),
        (gps_fix(52.0, 4.0, fix_type=reports_pb2.FIX_TIME_ONLY), False),
        (reports_pb2.GpsFix(lat_e7=95 * 10**7, lon_e7=0, fix_type=reports_pb2.FIX_3D), False),
        (None, False),
    ],
)
def test_usable_fix(fix: reports_pb2.GpsFix | None, usable: bool) -> None:
    report = reports_pb2.WitnessReport()
    if fix is not None:
        report.gps_fix.CopyFrom(fix)
    got = trust.usable_fix(report)
    assert (got is not None) is usable
    if usable:
        assert got == pytest.approx((52.0, 4.0))


# --- end to end: witness and beacon ---------------------------------------------------------


def _witness_with_fix_at(distance_m: float, net: Net | None = None):
    net = net or Net()
    beacon = beacon_case(net.beaconer)
    w = net.witness_node()
    centre = geo.cell_to_latlng(w.record.location)
    # Fixes travel as 1e-7 degrees; aim 2 cm inside the boundary so rounding cannot cross it.
    lat, lon = north_of(*centre, distance_m - 0.02 if distance_m in (300, 400) else distance_m)
    case = witness_case(w, beacon, fix=gps_fix(lat, lon))
    out = verify_poc(beacon, [case], net.ctx, net.params, 0)
    return out[1]


@pytest.mark.parametrize(
    ("distance_m", "trust_value", "reason"),
    [
        (300, Decimal(1), None),
        (301, Decimal("0.25"), None),
        (400, Decimal("0.25"), None),
        (401, Decimal(0), Reason.gps_location_mismatch),
    ],
)
def test_witness_gps_trust(distance_m: float, trust_value: Decimal, reason: Reason | None) -> None:
    verdict = _witness_with_fix_at(distance_m)
    assert verdict.location_trust == trust_value
    assert verdict.reason is reason
    assert verdict.passed_regular is (reason is None)


def test_witness_without_fix_gets_missing_fix_trust() -> None:
    net = Net()
    beacon = beacon_case(net.beaconer)
    out = verify_poc(beacon, [witness_case(net.witness_node(), beacon)], net.ctx, net.params, 0)
    assert out[1].valid and out[1].location_trust == Decimal("0.5")


def test_gps_rules_off() -> None:
    net = Net(params=VerifierParams(gps_rules=False))
    verdict = _witness_with_fix_at(5_000, net)
    assert verdict.valid and verdict.location_trust == 1


@pytest.mark.parametrize(
    ("distance_m", "reason"), [(400, None), (401, Reason.gps_location_mismatch)]
)
def test_beacon_gps_mismatch(distance_m: float, reason: Reason | None) -> None:
    net = Net()
    lat, lon = north_of(*geo.cell_to_latlng(net.beaconer.record.location), distance_m - 0.02)
    beacon = beacon_case(net.beaconer, fix=gps_fix(lat, lon))
    verdict = verify_poc(beacon, [], net.ctx, net.params, 0)[0]
    assert verdict.reason is reason


def test_gps_rule_comes_after_helium_rules_and_before_reciprocity() -> None:
    """A report failing a Helium rule keeps Helium's reason; a spoofed one earns no
    reciprocity credit (passed_regular False)."""
    net = Net()
    beacon = beacon_case(net.beaconer)
    w = net.witness_node()
    far = gps_fix(*north_of(*geo.cell_to_latlng(w.record.location), 2_000))
    both = witness_case(w, beacon, fix=far, signal=-100)  # -10 dBm: bad_rssi too
    assert verify_poc(beacon, [both], net.ctx, net.params, 0)[1].reason is Reason.bad_rssi
    fresh = net.add(node(w.record.location), history=False)  # would fail reciprocity
    spoof = witness_case(fresh, beacon, fix=far)
    verdict = verify_poc(beacon, [spoof], net.ctx, net.params, 0)[1]
    assert verdict.reason is Reason.gps_location_mismatch and not verdict.passed_regular


# --- implausible motion ---------------------------------------------------------------------


def test_motion_at_exactly_300_kmh_passes_and_faster_fails() -> None:
    # 1100 m moved, 100 m of it GPS tolerance: 1000 m in 12 s is exactly 300 km/h.
    start = (52.0, 4.0)
    end = north_of(*start, 1_100.0)
    previous = (*start, 1_000_000)
    assert trust.implausible_motion(previous, end, 1_000_000 + 12_000, P) is None
    speed = trust.implausible_motion(previous, end, 1_000_000 + 11_999, P)
    assert speed is not None and speed > 300


def test_motion_tolerance_and_zero_tolerance() -> None:
    start = (52.0, 4.0)
    jitter = north_of(*start, 90.0)
    assert trust.implausible_motion((*start, 0), jitter, 1, P) is None  # GPS jitter
    strict = VerifierParams(gps_motion_tolerance_m=0)
    assert trust.implausible_motion((*start, 0), jitter, 1, strict) is not None
    # 90 m in 1080 ms = 300 km/h exactly.
    assert trust.implausible_motion((*start, 0), jitter, 1080, strict) is None
    assert trust.implausible_motion((*start, 0), jitter, 1079, strict) is not None


def test_motion_needs_a_previous_fix_and_a_current_one() -> None:
    assert trust.implausible_motion(None, (1.0, 1.0), 5, P) is None
    assert trust.implausible_motion((1.0, 1.0, 0), None, 5, P) is None


@pytest.mark.parametrize(("extra_ms", "reason"), [(0, None), (-1, Reason.gps_implausible_motion)])
def test_witness_motion_end_to_end(extra_ms: int, reason: Reason | None) -> None:
    net = Net()
    beacon = beacon_case(net.beaconer)
    w = net.witness_node()
    here = geo.cell_to_latlng(w.record.location)
    received = BEACON_RX_MS + 500
    case = witness_case(w, beacon, received_ms=received, fix=gps_fix(*here))
    now = trust.usable_fix(case.report)
    before = trust.usable_fix(witness_case(w, beacon, fix=gps_fix(here[0] - 0.01, here[1])).report)
    # The fastest allowed move for ~1.1 km (as the fixes travel, in 1e-7 degrees): 300 km/h.
    moved_m = geo.haversine_m(*before, *now) - P.gps_motion_tolerance_m
    limit_ms = math.ceil(moved_m * 3600 / 300)
    net.ctx.note_fix(w.key, *before, received - limit_ms - extra_ms)
    verdict = verify_poc(beacon, [case], net.ctx, net.params, 0)[1]
    assert verdict.reason is reason
    net.params = VerifierParams(gps_motion_rule=False)
    assert verify_poc(beacon, [case], net.ctx, net.params, 0)[1].reason is None


def test_beacon_motion_end_to_end() -> None:
    net = Net()
    here = geo.cell_to_latlng(net.beaconer.record.location)
    net.ctx.note_fix(net.beaconer.key, here[0] + 0.1, here[1], BEACON_RX_MS - 60_000)  # 11 km/min
    beacon = beacon_case(net.beaconer, fix=gps_fix(*here))
    assert verify_poc(beacon, [], net.ctx, net.params, 0)[0].reason is Reason.gps_implausible_motion
    net.ctx = type(net.ctx)(hotspots=[net.beaconer.record])
    net.ctx.note_valid_witness(net.beaconer.key, BEACON_RX_MS - 1)
    net.ctx.note_fix(net.beaconer.key, here[0] + 0.1, here[1], BEACON_RX_MS - 3_600_000)  # 11 km/h
    assert verify_poc(beacon, [], net.ctx, net.params, 0)[0].valid


def test_a_fix_after_the_report_is_not_the_previous_one() -> None:
    net = Net()
    here = geo.cell_to_latlng(net.beaconer.record.location)
    net.ctx.note_fix(net.beaconer.key, here[0] + 1, here[1], BEACON_RX_MS)  # same ms: not before
    beacon = beacon_case(net.beaconer, fix=gps_fix(*here))
    assert verify_poc(beacon, [], net.ctx, net.params, 0)[0].valid


def test_motion_exactly_at_the_limit_passes() -> None:
    """`distance·3600 ≤ speed·Δt` passes (docs/protocol.md §5: faster than 300 km/h fails). The
    tolerance is chosen so the counted movement is exactly 1000.0 m: 12 000 ms is exactly
    300 km/h and passes, 11 999 ms fails."""
    start = (52.0, 4.0)
    end = north_of(*start, 1_100.0)
    moved = geo.haversine_m(*start, *end)
    tolerance = moved - 1_000.0
    assert moved - tolerance == 1_000.0  # the premise: no rounding left in the movement
    params = VerifierParams(gps_motion_tolerance_m=tolerance)
    assert trust.implausible_motion((*start, 0), end, 12_000, params) is None
    assert trust.implausible_motion((*start, 0), end, 11_999, params) is not None


def test_motion_without_elapsed_time_is_infinitely_fast() -> None:
    """Two fixes received in the same millisecond, or out of order, that moved: implausible
    (infinite speed), never a division by zero."""
    start = (52.0, 4.0)
    end = north_of(*start, 1_100.0)
    assert trust.implausible_motion((*start, 5_000), end, 5_000, P) == math.inf
    assert trust.implausible_motion((*start, 5_000), end, 4_000, P) == math.inf
    # Not moved at all (within zero tolerance): plausible whatever the times say.
    strict = VerifierParams(gps_motion_tolerance_m=0)
    assert trust.implausible_motion((*start, 5_000), start, 4_000, strict) is None


@pytest.mark.parametrize(
    ("lat_e7", "lon_e7", "usable"),
    [
        (90 * 10**7, 0, True),
        (-90 * 10**7, 0, True),
        (90 * 10**7 + 1, 0, False),
        (-90 * 10**7 - 1, 0, False),
        (0, 180 * 10**7, True),
        (0, -180 * 10**7, True),
        (0, 180 * 10**7 + 1, False),
        (0, -180 * 10**7 - 1, False),
    ],
)
def test_usable_fix_coordinates_at_their_limits(lat_e7: int, lon_e7: int, usable: bool) -> None:
    report = reports_pb2.WitnessReport()
    report.gps_fix.CopyFrom(reports_pb2.GpsFix(lat_e7=lat_e7, lon_e7=lon_e7, h_acc_mm=1_000,
                                               fix_type=reports_pb2.FIX_3D))
    assert (trust.usable_fix(report) is not None) is usable
