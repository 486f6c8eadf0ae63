"""pocnet's GPS rules (docs/protocol.md §5, "pocnet adds — location trust from GPS").

A hotspot reports the GNSS fix it held; the oracle compares it with the asserted location.
Helium trusts the assertion alone, which is how spoofed locations earned rewards: a usable fix
far from the assertion now voids the report, and a fix that teleports between two reports of
one hotspot is implausible motion. Trust values are exact decimals because they multiply
reward shares (docs/protocol.md §6).
"""

from __future__ import annotations

from decimal import Decimal

from oracle.verifier.params import VerifierParams
from pocnet import geo
from pocnet.gnss import MAX_USABLE_H_ACC_M
from pocnet.wire import reports_pb2

FULL_TRUST = Decimal(1)
NO_TRUST = Decimal(0)

_MAX_USABLE_H_ACC_MM = int(MAX_USABLE_H_ACC_M * 1000)
_FIX_3D = reports_pb2.FIX_3D


def usable_fix(
    report: reports_pb2.BeaconReport | reports_pb2.WitnessReport,
) -> tuple[float, float] | None:
    """(lat, lon) of the report's fix when it vouches for a location: a 3D fix with horizontal
    accuracy within 50 m (pocnet.gnss, the same threshold the hotspot applies); else None."""
    if not report.HasField("gps_fix"):
        return None
    fix = report.gps_fix
    if fix.fix_type != _FIX_3D or fix.h_acc_mm > _MAX_USABLE_H_ACC_MM:
        return None
    lat, lon = fix.lat_e7 / 1e7, fix.lon_e7 / 1e7
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    return lat, lon


def trust_for_distance(distance_m: float | None, params: VerifierParams) -> Decimal:
    """Trust of a report whose usable fix is `distance_m` from the asserted cell's centre
    (None: no usable fix): ≤ 300 m → 1, ≤ 400 m → 0.25, farther → 0, no fix → 0.5."""
    if distance_m is None:
        return params.missing_fix_trust
    if distance_m <= params.gps_full_trust_m:
        return FULL_TRUST
    if distance_m <= params.gps_partial_trust_m:
        return params.partial_trust
    return NO_TRUST


def fix_distance_m(
    fix: tuple[float, float] | None, centre: tuple[float, float] | None
) -> float | None:
    """Metres from a usable fix to the asserted cell's centre; None without either."""
    if fix is None or centre is None:
        return None
    return geo.haversine_m(fix[0], fix[1], centre[0], centre[1])


def location_trust(asserted: bool, fix_distance_m: float | None, params: VerifierParams) -> Decimal:
    """The report's location trust, as stored on its verdict, from `fix_distance_m` (see
    `fix_distance_m`; None without a usable fix).

    With the GPS rules off trust is 1 (docs/protocol.md §6: trust multiplies a share only where the
    rule is on). A hotspot with no asserted location earns nothing, so its trust is 0.
    """
    if not params.gps_rules:
        return FULL_TRUST
    if not asserted:
        return NO_TRUST
    return trust_for_distance(fix_distance_m, params)


def implausible_motion(
    previous: tuple[float, float, int] | None,
    fix: tuple[float, float] | None,
    received_ms: int,
    params: VerifierParams,
) -> float | None:
    """The speed in km/h when the fix moved faster than `max_speed_kmh` since `previous`
    ((lat, lon, received_ms) of the hotspot's last usable fix); None when plausible.

    Only movement beyond `gps_motion_tolerance_m` counts (two fixes of a hotspot standing still
    differ by up to twice the usable accuracy).

    Times are the oracle's receive times (docs/protocol.md §5: never the hotspot's clock). The test
    is done in integers-and-products form (distance·3600 > speed·Δt) so exactly the limit passes.
    """
    if previous is None or fix is None:
        return None
    lat0, lon0, then_ms = previous
    moved_m = geo.haversine_m(lat0, lon0, fix[0], fix[1]) - params.gps_motion_tolerance_m
    if moved_m <= 0:
        return None
    elapsed_ms = received_ms - then_ms
    if moved_m * 3600 <= params.max_speed_kmh * elapsed_ms:
        return None
    return float("inf") if elapsed_ms <= 0 else moved_m * 3600 / elapsed_ms
