"""The PoC rules of docs/protocol.md §5, one small function each, in the words of the spec.

Every check has the same shape, `check(view, ctx, params) -> Failure | None`, so the pipeline
holds them as ordered lists (`pipeline.BEACON_CHECKS`, `pipeline.WITNESS_CHECKS`) and the first
failure is the verdict. Views are prepared once per report by the pipeline (regenerated beacon,
asserted-cell parents and centres, GPS fixes), so a check only compares.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from oracle.verifier import trust
from oracle.verifier.context import VerifierContext
from oracle.verifier.model import CAPABILITY_DATA_ONLY, BeaconView, WitnessView
from oracle.verifier.params import VerifierParams
from oracle.verifier.reasons import Reason
from pocnet import link
from pocnet.beacon import beacon_window


class Failure(NamedTuple):
    reason: Reason
    detail: str


def _entropy_window(received_ms: int, entropy_ts: int | None, params: VerifierParams) -> str:
    """'' when received within [entropy timestamp, +lifetime] in whole seconds, else why not."""
    if entropy_ts is None:
        return "entropy unknown to this oracle"
    received_s = received_ms // 1000
    if entropy_ts <= received_s <= entropy_ts + params.entropy_lifetime_s:
        return ""
    return f"received at {received_s} s, entropy valid {entropy_ts}..+{params.entropy_lifetime_s} s"


def _within_reciprocity(received_ms: int, last_ms: int, params: VerifierParams) -> bool:
    """HIP-106 as Helium's iot-verifier applies it: `received - last < window` (strict)."""
    return received_ms - last_ms < params.reciprocity_window_ms


# --- beacon ---------------------------------------------------------------------------------


def check_beacon_gateway(b: BeaconView, ctx: VerifierContext, p: VerifierParams) -> Failure | None:
    """Beacon rule 1: hotspot unknown → gateway_not_found; location not asserted or in no
    region → not_asserted."""
    if b.hotspot is None:
        return Failure(Reason.gateway_not_found, "beaconer is not registered")
    if b.site is None or b.plan_name is None:
        return Failure(Reason.not_asserted, "beaconer has no asserted location in a region")
    return None


def check_beacon_denied(b: BeaconView, ctx: VerifierContext, p: VerifierParams) -> Failure | None:
    """Beacon rule 2: hotspot or its key denied → denied."""
    if ctx.is_denied(b.key):
        return Failure(Reason.denied, "beaconer is on the denylist")
    return None


def check_beacon_entropy(b: BeaconView, ctx: VerifierContext, p: VerifierParams) -> Failure | None:
    """Beacon rule 3: received outside [entropy timestamp, +180 s] (whole seconds) →
    entropy_expired."""
    why = _entropy_window(b.case.received_ms, b.case.entropy_timestamp_s, p)
    return Failure(Reason.entropy_expired, why) if why else None


def check_beacon_capability(
    b: BeaconView, ctx: VerifierContext, p: VerifierParams
) -> Failure | None:
    """Beacon rule 4: hotspot registered as data-only → invalid_capability."""
    if b.hotspot is not None and b.hotspot.capability == CAPABILITY_DATA_ONLY:
        return Failure(Reason.invalid_capability, "beaconer is registered data-only")
    return None


def check_beacon_interval(b: BeaconView, ctx: VerifierContext, p: VerifierParams) -> Failure | None:
    """Beacon rule 5: a beacon already seen in this 6-hour window (even an invalid one uses up
    the window) → irregular_interval. The window follows the oracle's receive time."""
    window_s = beacon_window(b.case.received_ms // 1000)
    if ctx.beacon_in_window(b.key, window_s, b.case.report_id):
        return Failure(Reason.irregular_interval, f"another beacon in the window from {window_s}")
    return None


def check_beacon_packet(b: BeaconView, ctx: VerifierContext, p: VerifierParams) -> Failure | None:
    """Beacon rule 6: payload, frequency or datarate differ from the beacon regenerated from
    the entropy, the local entropy, the beaconer's region plan and asserted gain (§4) →
    invalid_packet."""
    report = b.case.report
    if b.expected_data is None:
        return Failure(Reason.invalid_packet, f"cannot regenerate the beacon: {b.regen_error}")
    if report.data != b.expected_data:
        return Failure(Reason.invalid_packet, "payload differs from the regenerated beacon")
    if report.frequency != b.expected_frequency_hz:
        return Failure(
            Reason.invalid_packet,
            f"frequency {report.frequency} Hz, regenerated {b.expected_frequency_hz} Hz",
        )
    if report.datarate != b.expected_datarate:
        return Failure(
            Reason.invalid_packet,
            f"datarate {report.datarate}, regenerated {b.expected_datarate}",
        )
    return None


def check_beacon_tx_power(b: BeaconView, ctx: VerifierContext, p: VerifierParams) -> Failure | None:
    """Beacon rule 7 (pocnet adds): tx_power above the region's max conducted power for the
    asserted gain → tx_power_too_high."""
    if not p.tx_power_rule or b.max_conducted_dbm is None:
        return None
    if b.case.report.tx_power > b.max_conducted_dbm:
        return Failure(
            Reason.tx_power_too_high,
            f"tx_power {b.case.report.tx_power} dBm > max {b.max_conducted_dbm} dBm",
        )
    return None


def check_beacon_gps_location(
    b: BeaconView, ctx: VerifierContext, p: VerifierParams
) -> Failure | None:
    """pocnet adds (§5 GPS trust): a usable fix farther than 400 m from the asserted cell's
    centre → gps_location_mismatch."""
    return _gps_location(b.trust_distance_m, p)


def check_beacon_gps_motion(
    b: BeaconView, ctx: VerifierContext, p: VerifierParams
) -> Failure | None:
    """pocnet adds (§5 GPS trust): the fix moved faster than 300 km/h since the hotspot's
    previous fix → gps_implausible_motion."""
    return _gps_motion(b.previous_fix, b.fix, b.case.received_ms, p)


def check_beacon_reciprocity(
    b: BeaconView, ctx: VerifierContext, p: VerifierParams
) -> Failure | None:
    """Beacon rule 8 (HIP-106): no valid witness by this hotspot in the last 48 h →
    gateway_no_valid_witnesses. "Valid" is passed_regular (the bootstrap), looked back from
    the beacon's receive time so that re-verifying a time range gives the same verdicts. "In
    the last 48 h" is Helium's `received - last < 48 h`: exactly 48 h old no longer counts."""
    last = ctx.last_valid_witness_ms(b.key)
    if last is None or not _within_reciprocity(b.case.received_ms, last, p):
        return Failure(Reason.gateway_no_valid_witnesses, "no valid witness in the last 48 h")
    return None


# --- witness --------------------------------------------------------------------------------


def check_witness_denied(w: WitnessView, ctx: VerifierContext, p: VerifierParams) -> Failure | None:
    """Witness rule 1: witness denied → denied; (witness, beaconer) pair denied →
    denied_edge."""
    if ctx.is_denied(w.key):
        return Failure(Reason.denied, "witness is on the denylist")
    if ctx.is_edge_denied(w.key, w.beacon.key):
        return Failure(Reason.denied_edge, "witness-beaconer pair is on the denylist")
    return None


def check_witness_self(w: WitnessView, ctx: VerifierContext, p: VerifierParams) -> Failure | None:
    """Witness rule 2: witness is the beaconer → self_witness (dropped from the output)."""
    if w.key == w.beacon.key:
        return Failure(Reason.self_witness, "witness is the beaconer")
    return None


def check_witness_entropy(
    w: WitnessView, ctx: VerifierContext, p: VerifierParams
) -> Failure | None:
    """Witness rule 3: received outside the beacon's entropy window → entropy_expired."""
    why = _entropy_window(w.case.received_ms, w.beacon.case.entropy_timestamp_s, p)
    return Failure(Reason.entropy_expired, why) if why else None


def check_witness_timing(w: WitnessView, ctx: VerifierContext, p: VerifierParams) -> Failure | None:
    """Witness rule 4: received more than 4000 ms after the beacon; or, arriving before the
    beacon, more than 1500 ms after the first witness → too_late."""
    received_ms, beacon_ms = w.case.received_ms, w.beacon.case.received_ms
    if received_ms - beacon_ms > p.witness_late_ms:
        return Failure(Reason.too_late, f"{received_ms - beacon_ms} ms after the beacon")
    if received_ms < beacon_ms and received_ms - w.first_ms > p.early_witness_ms:
        return Failure(
            Reason.too_late, f"early, {received_ms - w.first_ms} ms after the first witness"
        )
    return None


def check_witness_packet(w: WitnessView, ctx: VerifierContext, p: VerifierParams) -> Failure | None:
    """Witness rule 5: data differs from the beacon's → invalid_packet."""
    if w.case.report.data != w.beacon.case.report.data:
        return Failure(Reason.invalid_packet, "data differs from the beacon's")
    return None


def check_witness_gateway(
    w: WitnessView, ctx: VerifierContext, p: VerifierParams
) -> Failure | None:
    """Rules 6–11 presuppose a registered witness with an asserted location: unknown →
    gateway_not_found, not asserted or in no region → not_asserted, as for the beaconer (rule
    1). It sits right before rule 6, the first rule that reads the registration, so rules 1–5
    keep the spec's order; Helium's verifier also checks the witness's location right after
    the data."""
    if w.hotspot is None:
        return Failure(Reason.gateway_not_found, "witness is not registered")
    if w.site is None or w.hotspot.region is None:
        return Failure(Reason.not_asserted, "witness has no asserted location in a region")
    return None


def check_witness_capability(
    w: WitnessView, ctx: VerifierContext, p: VerifierParams
) -> Failure | None:
    """Witness rule 6: witness registered as data-only → invalid_capability."""
    if w.hotspot is not None and w.hotspot.capability == CAPABILITY_DATA_ONLY:
        return Failure(Reason.invalid_capability, "witness is registered data-only")
    return None


def check_witness_frequency(
    w: WitnessView, ctx: VerifierContext, p: VerifierParams
) -> Failure | None:
    """Witness rule 7: |frequency − beacon frequency| > 100 kHz (exactly 100 kHz passes) →
    invalid_frequency."""
    diff_hz = abs(w.case.report.frequency - w.beacon.case.report.frequency)
    if diff_hz > p.max_freq_diff_hz:
        return Failure(Reason.invalid_frequency, f"{diff_hz} Hz from the beacon's frequency")
    return None


def check_witness_region(w: WitnessView, ctx: VerifierContext, p: VerifierParams) -> Failure | None:
    """Witness rule 8: region differs from the beaconer's → invalid_region."""
    region = w.hotspot.region if w.hotspot is not None else None
    beacon_region = w.beacon.hotspot.region if w.beacon.hotspot is not None else None
    if region != beacon_region:
        return Failure(Reason.invalid_region, f"witness in {region}, beaconer in {beacon_region}")
    return None


def check_witness_min_distance(
    w: WitnessView, ctx: VerifierContext, p: VerifierParams
) -> Failure | None:
    """Witness rule 9: fewer than 8 grid steps apart at H3 resolution 11 (parents of the
    asserted cells) → below_min_distance.

    Where h3 has no grid distance (cells on different icosahedron faces, i.e. far apart, or
    across a pentagon's distortion) the rule fails closed, as Helium's verifier does: the
    pair cannot be shown to be 8 steps apart.
    """
    if w.site is None or w.beacon.site is None:
        return None
    steps = w.grid_steps  # the pipeline's SiteCache.grid_steps
    if steps is None:
        return Failure(Reason.below_min_distance, "no h3 grid distance between the cells")
    if steps < p.min_grid_steps:
        return Failure(Reason.below_min_distance, f"{steps} grid steps at res {p.min_distance_res}")
    return None


def check_witness_max_distance(
    w: WitnessView, ctx: VerifierContext, p: VerifierParams
) -> Failure | None:
    """Witness rule 10: distance between asserted cell centres, in whole metres,
    integer-divided by 1000, > 100 → max_distance_exceeded. Whole metres are rounded half
    up, as Helium's verifier rounds its distance before dividing."""
    if w.distance_m is None:
        return None
    km = math.floor(w.distance_m + 0.5) // 1000
    if km > p.max_distance_km:
        return Failure(Reason.max_distance_exceeded, f"{km} km between asserted cells")
    return None


def check_witness_rssi(w: WitnessView, ctx: VerifierContext, p: VerifierParams) -> Failure | None:
    """Witness rule 11: signal/10 > tx_power + trunc(gain_b/10) + trunc(gain_w/10) − FSPL(d, f)
    (d between asserted centres, f the witness's frequency; no margin) → bad_rssi."""
    if w.distance_m is None or w.hotspot is None or w.beacon.hotspot is None:
        return None
    report = w.case.report
    # Same-cell pairs are stopped by rule 9; a floor keeps FSPL defined if that rule is tuned
    # down to 0 steps.
    bound_dbm = link.rssi_bound_dbm(
        w.beacon.case.report.tx_power,
        w.beacon.hotspot.gain_dbi_x10,
        w.hotspot.gain_dbi_x10,
        max(w.distance_m, 1.0),
        # Rule 7 keeps f within 100 kHz of the beacon's; the fallback only guards a 0 Hz
        # report when that rule is widened by parameter.
        report.frequency or w.beacon.case.report.frequency,
    )
    if report.signal / 10 > bound_dbm:
        return Failure(
            Reason.bad_rssi, f"rssi {report.signal / 10:.1f} dBm > bound {bound_dbm:.1f} dBm"
        )
    return None


def check_witness_snr(w: WitnessView, ctx: VerifierContext, p: VerifierParams) -> Failure | None:
    """Witness rule 12a (pocnet adds): snr/10 > signal/10 − (−174 + 10·log10(bandwidth)) + 3,
    an SNR no receiver can measure at that RSSI → bad_snr."""
    if not p.snr_rule:
        return None
    report = w.case.report
    if not link.snr_plausible(report.snr / 10, report.signal / 10, w.beacon.bandwidth_hz):
        return Failure(
            Reason.bad_snr, f"snr {report.snr / 10:.1f} dB at rssi {report.signal / 10:.1f} dBm"
        )
    return None


def check_witness_sensitivity(
    w: WitnessView, ctx: VerifierContext, p: VerifierParams
) -> Failure | None:
    """Witness rule 12b (pocnet adds): RSSI more than 10 dB below the beacon datarate's
    sensitivity (SF7 −124 … SF12 −137 dBm at 125 kHz) → below_sensitivity."""
    if not p.sensitivity_rule:
        return None
    rssi_dbm = w.case.report.signal / 10
    sf, bw_hz = w.beacon.spreading_factor, w.beacon.bandwidth_hz
    if link.below_sensitivity(rssi_dbm, sf, bw_hz, p.sensitivity_margin_db):
        return Failure(Reason.below_sensitivity, f"rssi {rssi_dbm:.1f} dBm below sensitivity")
    return None


def check_witness_duplicate(
    w: WitnessView, ctx: VerifierContext, p: VerifierParams
) -> Failure | None:
    """Witness rule 13: a second witness from the same hotspot for this beacon → duplicate.
    The hotspot's earliest report (by receive time, then id) is the first; any later one is
    the second, whatever became of the first, so resubmitting with other values gains
    nothing."""
    if not w.first_of_hotspot:
        return Failure(Reason.duplicate, "the hotspot already witnessed this beacon")
    return None


def check_witness_gps_location(
    w: WitnessView, ctx: VerifierContext, p: VerifierParams
) -> Failure | None:
    """pocnet adds (§5 GPS trust): a usable fix farther than 400 m from the witness's asserted
    cell centre → gps_location_mismatch."""
    return _gps_location(w.trust_distance_m, p)


def check_witness_gps_motion(
    w: WitnessView, ctx: VerifierContext, p: VerifierParams
) -> Failure | None:
    """pocnet adds (§5 GPS trust): the witness's fix moved faster than 300 km/h since its
    previous fix → gps_implausible_motion."""
    return _gps_motion(w.previous_fix, w.fix, w.case.received_ms, p)


def check_witness_reciprocity(
    w: WitnessView, ctx: VerifierContext, p: VerifierParams
) -> Failure | None:
    """Witness rule 14 (HIP-106): no valid beacon by the witness in the last 48 h →
    gateway_no_valid_beacons ("valid" = passed the regular checks with ≥ 1 witness report,
    the bootstrap), looked back from the witness's receive time; as for the beacon, exactly
    48 h old no longer counts."""
    last = ctx.last_valid_beacon_ms(w.key)
    if last is None or not _within_reciprocity(w.case.received_ms, last, p):
        return Failure(Reason.gateway_no_valid_beacons, "no valid beacon in the last 48 h")
    return None


# --- shared GPS rules -------------------------------------------------------------------------


def _gps_location(distance_m: float | None, p: VerifierParams) -> Failure | None:
    if not p.gps_rules or distance_m is None:
        return None
    if trust.trust_for_distance(distance_m, p) == trust.NO_TRUST:
        return Failure(
            Reason.gps_location_mismatch, f"gps fix {distance_m:.0f} m from the asserted cell"
        )
    return None


def _gps_motion(
    previous: tuple[float, float, int] | None,
    fix: tuple[float, float] | None,
    received_ms: int,
    p: VerifierParams,
) -> Failure | None:
    if not p.gps_motion_rule:
        return None
    speed_kmh = trust.implausible_motion(previous, fix, received_ms, p)
    if speed_kmh is None:
        return None
    return Failure(Reason.gps_implausible_motion, f"gps fix moved at {speed_kmh:.0f} km/h")
