"""Every docs/protocol.md §5 rule, valid and invalid on both sides of its threshold, through the
real pipeline with real signed reports (a rule that is dropped or misplaced fails here)."""

from __future__ import annotations

import dataclasses
import math

import pytest
from verifier_builders import (
    BEACON_RX_MS,
    ENTROPY_TS_S,
    HOUR_MS,
    Net,
    beacon_case,
    cell_at_grid_steps,
    cell_with_distance,
    node,
    origin_cell,
    witness_case,
)

from oracle.verifier import checks
from oracle.verifier.model import VerdictRecord
from oracle.verifier.params import VerifierParams
from oracle.verifier.pipeline import SiteCache, prepare_beacon, prepare_witness, verify_poc
from oracle.verifier.reasons import Reason
from pocnet import geo, link
from pocnet.wire import reports_pb2


def run(net: Net, beacon, witnesses=()) -> list[VerdictRecord]:
    return verify_poc(beacon, list(witnesses), net.ctx, net.params, BEACON_RX_MS + 600_000)


def beacon_reason(net: Net, beacon) -> Reason | None:
    return run(net, beacon)[0].reason


def witness_verdict(net: Net, witness_case_, beacon=None) -> VerdictRecord:
    beacon = beacon or beacon_case(net.beaconer)
    out = run(net, beacon, [witness_case_])
    assert out[0].valid, out[0]
    return out[1]


def witness_reason(net: Net, **kw) -> Reason | None:
    """Reason of one witness (2 km east unless `witness` is given) of an honest beacon."""
    beacon = beacon_case(net.beaconer)
    w = kw.pop("witness", None) or net.witness_node()
    return witness_verdict(net, witness_case(w, beacon, **kw), beacon).reason


def test_honest_poc_is_valid_and_selected() -> None:
    net = Net()
    beacon = beacon_case(net.beaconer)
    out = run(net, beacon, [witness_case(net.witness_node(), beacon)])
    assert [(v.kind, v.valid, v.selected, v.reason) for v in out] == [
        ("beacon", True, True, None),
        ("witness", True, True, None),
    ]
    assert out[1].beacon_id == beacon.report_id and out[0].beacon_id is None


# --- beacon rules ---------------------------------------------------------------------------


def test_beacon_rule1_gateway_not_found_and_not_asserted() -> None:
    net = Net()
    assert beacon_reason(net, beacon_case(node(geo.latlng_to_cell(52.0, 5.0, 12)))) is (
        Reason.gateway_not_found
    )
    for record in (
        dataclasses.replace(net.beaconer.record, location=None),
        dataclasses.replace(net.beaconer.record, region=None),
        dataclasses.replace(net.beaconer.record, region="ATLANTIS"),
    ):
        net.ctx.add_hotspot(record)
        assert beacon_reason(net, beacon_case(net.beaconer)) is Reason.not_asserted


def test_beacon_rule2_denied_and_witnesses_inherit_it() -> None:
    net = Net()
    beacon = beacon_case(net.beaconer)
    assert run(net, beacon)[0].valid
    net.ctx.deny(net.beaconer.key)
    out = run(net, beacon, [witness_case(net.witness_node(), beacon)])
    assert [v.reason for v in out] == [Reason.denied, Reason.denied]
    assert not out[1].passed_regular


@pytest.mark.parametrize(
    ("received_ms", "reason"),
    [
        (ENTROPY_TS_S * 1000, None),
        (ENTROPY_TS_S * 1000 - 1, Reason.entropy_expired),
        ((ENTROPY_TS_S + 180) * 1000 + 999, None),  # 180 whole seconds
        ((ENTROPY_TS_S + 181) * 1000, Reason.entropy_expired),  # 181
    ],
)
def test_beacon_rule3_entropy_window(received_ms: int, reason: Reason | None) -> None:
    net = Net()
    assert beacon_reason(net, beacon_case(net.beaconer, received_ms=received_ms)) is reason


def test_beacon_rule3_unknown_entropy_is_expired() -> None:
    net = Net()
    assert beacon_reason(net, beacon_case(net.beaconer, entropy_ts_s=None)) is (
        Reason.entropy_expired
    )


def test_beacon_rule4_data_only() -> None:
    net = Net()
    net.ctx.add_hotspot(dataclasses.replace(net.beaconer.record, capability="data_only"))
    assert beacon_reason(net, beacon_case(net.beaconer)) is Reason.invalid_capability


def test_beacon_rule5_one_beacon_per_window() -> None:
    net = Net()
    first = beacon_case(net.beaconer, received_ms=BEACON_RX_MS - 1000)
    second = beacon_case(net.beaconer)
    net.ctx.note_beacon(first)
    net.ctx.note_beacon(second)
    assert beacon_reason(net, first) is None  # the earlier one keeps the window
    assert beacon_reason(net, second) is Reason.irregular_interval


def test_beacon_rule5_invalid_beacon_uses_up_the_window() -> None:
    net = Net()
    forged = beacon_case(net.beaconer, received_ms=BEACON_RX_MS - 1000, data=bytes(51))
    out = run(net, forged)
    assert out[0].reason is Reason.invalid_packet
    net.ctx.record(forged, [], out)
    assert beacon_reason(net, beacon_case(net.beaconer)) is Reason.irregular_interval


def test_beacon_rule5_previous_window_does_not_count() -> None:
    net = Net()
    net.ctx.note_beacon(beacon_case(net.beaconer, received_ms=BEACON_RX_MS - 2 * HOUR_MS))
    assert beacon_reason(net, beacon_case(net.beaconer)) is None


@pytest.mark.parametrize(
    "tamper",
    [
        {"data": bytes(51)},
        {"frequency": 0},
        {"datarate": reports_pb2.SF9BW125},
        {"remote_entropy": bytes(32)},  # names other entropy than its payload was made from
        {"remote_entropy": bytes(31)},  # cannot regenerate at all
    ],
)
def test_beacon_rule6_invalid_packet(tamper: dict) -> None:
    net = Net()
    assert beacon_reason(net, beacon_case(net.beaconer, **tamper)) is Reason.invalid_packet


def test_beacon_rule6_other_channel_is_invalid() -> None:
    net = Net()
    honest = beacon_case(net.beaconer)
    other = next(f for f in (867_100_000, 867_300_000) if f != honest.report.frequency)
    assert beacon_reason(net, beacon_case(net.beaconer, frequency=other)) is Reason.invalid_packet


def test_beacon_rule7_tx_power() -> None:
    net = Net()
    # EU868: trunc(161/10 - 30/10) = 13 dBm conducted at 3 dBi.
    assert beacon_reason(net, beacon_case(net.beaconer, tx_power=13)) is None
    assert beacon_reason(net, beacon_case(net.beaconer, tx_power=14)) is Reason.tx_power_too_high
    net.params = VerifierParams(tx_power_rule=False)
    assert beacon_reason(net, beacon_case(net.beaconer, tx_power=14)) is None


def test_beacon_rule7_no_beacon_allowed_when_the_gain_exceeds_the_max_eirp() -> None:
    """docs/protocol.md §4: gain 17.1 dBi in EU868 (max EIRP 16.1 dBm) leaves -1 dBm: no beacon may
    be sent, so one reported even at 0 dBm is tx_power_too_high (its payload, frequency and
    datarate are right: not invalid_packet). At 17.0 dBi, trunc(-0.9) = 0 dBm is allowed."""
    loud = node(origin_cell(), gain_dbi_x10=171)
    net = Net(beaconer=loud)
    assert beacon_reason(net, beacon_case(loud, tx_power=0)) is Reason.tx_power_too_high
    edge = node(origin_cell(), gain_dbi_x10=170)
    net = Net(beaconer=edge)
    assert beacon_reason(net, beacon_case(edge, tx_power=0)) is None
    assert beacon_reason(net, beacon_case(edge, tx_power=1)) is Reason.tx_power_too_high


# "In the last 48 h" is Helium's `received - last < 48 h` (iot_verifier poc.rs,
# RECIPROCITY_WINDOW): a witness exactly 48 h old no longer counts.
@pytest.mark.parametrize(
    ("age_ms", "reason"),
    [
        (48 * HOUR_MS - 1, None),
        (48 * HOUR_MS, Reason.gateway_no_valid_witnesses),
        (48 * HOUR_MS + 1, Reason.gateway_no_valid_witnesses),
    ],
)
def test_beacon_rule8_reciprocity_window(age_ms: int, reason: Reason | None) -> None:
    net = Net()
    fresh = net.add(node(geo.latlng_to_cell(52.37, 4.89, 12)), history=False)
    net.ctx.note_valid_witness(fresh.key, BEACON_RX_MS - age_ms)
    assert beacon_reason(net, beacon_case(fresh)) is reason


def test_beacon_rule8_no_history() -> None:
    net = Net()
    fresh = net.add(node(geo.latlng_to_cell(52.37, 4.89, 12)), history=False)
    out = run(net, beacon_case(fresh))
    assert out[0].reason is Reason.gateway_no_valid_witnesses and out[0].passed_regular


# --- witness rules --------------------------------------------------------------------------


def test_witness_rule1_denied_and_denied_edge() -> None:
    net = Net()
    w = net.witness_node()
    net.ctx.deny_edge(net.beaconer.key, w.key)
    assert witness_reason(net, witness=w) is Reason.denied_edge
    net.ctx.deny(w.key)
    assert witness_reason(net, witness=w) is Reason.denied


def test_witness_rule2_self_witness_is_dropped() -> None:
    net = Net()
    beacon = beacon_case(net.beaconer)
    out = run(net, beacon, [witness_case(net.beaconer, beacon)])
    assert [v.kind for v in out] == ["beacon"]
    assert out[0].valid  # a self-witness is not a witness: nothing else changes
    assert checks.check_witness_self.__doc__ and "self_witness" in checks.check_witness_self.__doc__


@pytest.mark.parametrize(
    ("received_ms", "reason"),
    [
        ((ENTROPY_TS_S + 180) * 1000 + 999, None),
        ((ENTROPY_TS_S + 181) * 1000, Reason.entropy_expired),
    ],
)
def test_witness_rule3_entropy_window(received_ms: int, reason: Reason | None) -> None:
    net = Net(params=VerifierParams(witness_late_ms=10 * 60_000))
    beacon = beacon_case(net.beaconer, received_ms=(ENTROPY_TS_S + 179) * 1000)
    verdict = witness_verdict(net, witness_case(net.witness_node(), beacon, received_ms), beacon)
    assert verdict.reason is reason


@pytest.mark.parametrize(("late_ms", "reason"), [(4000, None), (4001, Reason.too_late)])
def test_witness_rule4_late(late_ms: int, reason: Reason | None) -> None:
    net = Net()
    assert witness_reason(net, received_ms=BEACON_RX_MS + late_ms) is reason


@pytest.mark.parametrize(("after_first_ms", "reason"), [(1500, None), (1501, Reason.too_late)])
def test_witness_rule4_early(after_first_ms: int, reason: Reason | None) -> None:
    net = Net()
    beacon = beacon_case(net.beaconer)
    first = witness_case(net.witness_node(), beacon, received_ms=BEACON_RX_MS - 3000)
    second = witness_case(
        net.witness_node(bearing_deg=180), beacon, received_ms=BEACON_RX_MS - 3000 + after_first_ms
    )
    out = run(net, beacon, [second, first])
    assert [v.reason for v in out] == [None, None, reason]


def test_witness_rule4_early_applies_only_before_the_beacon() -> None:
    """"If it arrived before the beacon": a witness received in the beacon's own millisecond is
    not early, so its 2000 ms after the first witness do not matter."""
    net = Net()
    beacon = beacon_case(net.beaconer)
    first = witness_case(net.witness_node(), beacon, received_ms=BEACON_RX_MS - 2000)
    same_ms = witness_case(net.witness_node(bearing_deg=180), beacon, received_ms=BEACON_RX_MS)
    out = run(net, beacon, [same_ms, first])
    assert [v.reason for v in out] == [None, None, None]


def test_witness_rule5_data_differs() -> None:
    net = Net()
    assert witness_reason(net, data=bytes(51)) is Reason.invalid_packet


def test_witness_unknown_or_unasserted() -> None:
    net = Net()
    stranger = node(geo.latlng_to_cell(52.37, 4.95, 12))
    assert witness_reason(net, witness=stranger) is Reason.gateway_not_found
    unasserted = net.add(node(None))
    assert witness_reason(net, witness=unasserted) is Reason.not_asserted
    nowhere = net.witness_node(region=None)  # asserted, but in no known region
    assert witness_reason(net, witness=nowhere) is Reason.not_asserted


def test_witness_rule6_data_only() -> None:
    net = Net()
    assert witness_reason(net, witness=net.witness_node(capability="data_only")) is (
        Reason.invalid_capability
    )


@pytest.mark.parametrize(
    ("offset_hz", "reason"),
    [
        (100_000, None),
        (-100_000, None),
        (100_001, Reason.invalid_frequency),
        (-100_001, Reason.invalid_frequency),
    ],
)
def test_witness_rule7_frequency(offset_hz: int, reason: Reason | None) -> None:
    net = Net()
    beacon = beacon_case(net.beaconer)
    w = witness_case(net.witness_node(), beacon, frequency=beacon.report.frequency + offset_hz)
    assert witness_verdict(net, w, beacon).reason is reason


def test_witness_rule8_region() -> None:
    net = Net()
    assert witness_reason(net, witness=net.witness_node(region="US915")) is Reason.invalid_region


@pytest.mark.parametrize(("steps", "reason"), [(7, Reason.below_min_distance), (8, None)])
def test_witness_rule9_min_distance(steps: int, reason: Reason | None) -> None:
    net = Net()
    w = net.add(node(cell_at_grid_steps(steps)))
    assert witness_reason(net, witness=w, signal=-1100) is reason


def test_witness_rule9_fails_closed_without_a_grid_distance() -> None:
    """h3 has no grid distance between Amsterdam and New York: Helium then says
    below_min_distance (before rule 10 could say max_distance_exceeded)."""
    net = Net()
    far = net.add(node(geo.latlng_to_cell(40.7, -74.0, 12)))
    assert witness_reason(net, witness=far, signal=-1400, snr=-200) is Reason.below_min_distance


@pytest.mark.parametrize(
    ("lo_m", "hi_m", "reason"),
    [
        (100_400, 100_600, None),  # 100 km
        (100_990, 100_999.5, None),  # still 100 whole km (100 999 m)
        (100_999.5, 101_010, Reason.max_distance_exceeded),  # 101 000 m after rounding: 101 km
        (101_400, 101_600, Reason.max_distance_exceeded),
    ],
)
def test_witness_rule10_max_distance(lo_m: float, hi_m: float, reason: Reason | None) -> None:
    net = Net()
    w = net.add(node(cell_with_distance(lo_m, hi_m)))
    # 10 dB under the free-space bound at ~100 km, SNR low enough to stay plausible.
    assert witness_reason(net, witness=w, signal=-1250, snr=-100) is reason


@pytest.mark.parametrize(
    ("distance_m", "fails"),
    [(100_999.49, False), (100_999.5, True), (101_000.0, True), (99_000.0, False)],
)
def test_witness_rule10_rounds_to_whole_metres(distance_m: float, fails: bool) -> None:
    net = Net()
    beacon = beacon_case(net.beaconer)
    case = witness_case(net.witness_node(), beacon)
    sites = SiteCache()
    b = prepare_beacon(beacon, net.ctx, net.params, sites)
    view = prepare_witness(case, b, case.received_ms, True, net.ctx, net.params, sites)
    view = view._replace(distance_m=distance_m)
    assert (checks.check_witness_max_distance(view, net.ctx, net.params) is not None) is fails


@pytest.mark.parametrize(("delta_db", "reason"), [(-1, None), (0, None), (1, Reason.bad_rssi)])
def test_witness_rule11_rssi_bound(delta_db: int, reason: Reason | None) -> None:
    net = Net()
    beacon = beacon_case(net.beaconer)
    w = net.witness_node()
    bound = link.rssi_bound_dbm(
        beacon.report.tx_power,
        net.beaconer.record.gain_dbi_x10,
        w.record.gain_dbi_x10,
        geo.cell_distance_m(net.beaconer.record.location, w.record.location),
        beacon.report.frequency,
    )
    # delta 0: the largest deci-dBm value not above the bound (no margin: equal passes).
    signal = math.floor(bound * 10) if delta_db == 0 else round((bound + delta_db) * 10)
    assert witness_verdict(net, witness_case(w, beacon, signal=signal), beacon).reason is reason


def _distance_for_bound(target_dbm: float, tx: int, g_b: int, g_w: int, f_hz: int) -> float:
    """A distance (m) at which the computed bound is exactly `target_dbm`, found by bisection
    over floats (the bound falls monotonically with distance)."""
    def bound(d: float) -> float:
        return link.rssi_bound_dbm(tx, g_b, g_w, d, f_hz)

    lo, hi = 1.0, 1e7
    while math.nextafter(lo, hi) < hi:
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if bound(mid) > target_dbm else (lo, mid)
    hits = [d for d in (lo, hi) if bound(d) == target_dbm]
    assert hits, f"no float distance gives exactly {target_dbm} dBm"
    return hits[0]


@pytest.mark.parametrize(("extra_x10", "reason"), [(0, None), (1, Reason.bad_rssi)])
def test_witness_rule11_rssi_equal_to_the_bound_passes(extra_x10: int, reason) -> None:
    """Invalid when signal/10 > bound (no margin): exactly at the bound passes, one deci-dBm
    above fails. The distance is set so that the bound is exactly -90.0 dBm."""
    net = Net()
    beacon = beacon_case(net.beaconer)
    w = net.witness_node()
    case = witness_case(w, beacon, signal=-900 + extra_x10)
    sites = SiteCache()
    b = prepare_beacon(beacon, net.ctx, net.params, sites)
    view = prepare_witness(case, b, case.received_ms, True, net.ctx, net.params, sites)
    d = _distance_for_bound(-90.0, beacon.report.tx_power, net.beaconer.record.gain_dbi_x10,
                            w.record.gain_dbi_x10, case.report.frequency)
    view = view._replace(distance_m=d)
    failure = checks.check_witness_rssi(view, net.ctx, net.params)
    assert (failure.reason if failure else None) is reason


def test_witness_rule11_uses_the_witness_frequency() -> None:
    # Rule 7 is widened so that the two frequencies differ enough to move the bound by dBs.
    net = Net(params=VerifierParams(max_freq_diff_hz=10**9))
    beacon = beacon_case(net.beaconer)
    w = net.witness_node()
    dist = geo.cell_distance_m(net.beaconer.record.location, w.record.location)
    f_b = beacon.report.frequency
    f_w = 2 * f_b
    b_hi = link.rssi_bound_dbm(beacon.report.tx_power, 30, 30, dist, f_b)
    b_lo = link.rssi_bound_dbm(beacon.report.tx_power, 30, 30, dist, f_w)
    signal = math.floor(b_hi * 10) - 10
    assert b_lo < signal / 10 <= b_hi  # passes at the beacon's frequency, not at the witness's
    case = witness_case(w, beacon, signal=signal, frequency=f_w)
    assert witness_verdict(net, case, beacon).reason is Reason.bad_rssi


@pytest.mark.parametrize(("snr_x10", "reason"), [(260, None), (261, Reason.bad_snr)])
def test_witness_rule12_snr(snr_x10: int, reason: Reason | None) -> None:
    # At -100 dBm and 125 kHz: -100 - (-174 + 50.97) + 3 = 26.03 dB.
    net = Net()
    assert witness_reason(net, signal=-1000, snr=snr_x10) is reason
    net.params = VerifierParams(snr_rule=False)
    assert witness_reason(net, signal=-1000, snr=snr_x10) is None


@pytest.mark.parametrize(("signal", "reason"), [(-1470, None), (-1471, Reason.below_sensitivity)])
def test_witness_rule12_sensitivity(signal: int, reason: Reason | None) -> None:
    # EU868 beacons are SF12BW125: -137 dBm, 10 dB margin.
    net = Net()
    assert witness_reason(net, signal=signal, snr=-250) is reason
    net.params = VerifierParams(sensitivity_rule=False)
    assert witness_reason(net, signal=signal, snr=-250) is None


def test_witness_rule13_duplicate() -> None:
    net = Net()
    beacon = beacon_case(net.beaconer)
    w = net.witness_node()
    first = witness_case(w, beacon, received_ms=BEACON_RX_MS + 100)
    again = witness_case(w, beacon, received_ms=BEACON_RX_MS + 200, signal=-1010)
    out = run(net, beacon, [again, first])
    assert [(v.report_id, v.reason) for v in out[1:]] == [
        (first.report_id, None),
        (again.report_id, Reason.duplicate),
    ]


def test_witness_rule13_a_failed_first_report_still_makes_the_second_a_duplicate() -> None:
    net = Net()
    beacon = beacon_case(net.beaconer)
    w = net.witness_node()
    bad = witness_case(w, beacon, received_ms=BEACON_RX_MS + 100, signal=-100)  # -10 dBm
    retry = witness_case(w, beacon, received_ms=BEACON_RX_MS + 200)
    out = run(net, beacon, [bad, retry])
    assert [v.reason for v in out[1:]] == [Reason.bad_rssi, Reason.duplicate]


@pytest.mark.parametrize(
    ("age_ms", "reason"),
    [
        (48 * HOUR_MS - 1, None),
        (48 * HOUR_MS, Reason.gateway_no_valid_beacons),
        (48 * HOUR_MS + 1, Reason.gateway_no_valid_beacons),
    ],
)
def test_witness_rule14_reciprocity(age_ms: int, reason: Reason | None) -> None:
    net = Net()
    w = net.add(node(geo.latlng_to_cell(52.37, 4.92, 12)), history=False)
    rx = BEACON_RX_MS + 500
    net.ctx.note_valid_beacon(w.key, rx - age_ms)
    verdict = witness_verdict(net, witness_case(w, beacon_case(net.beaconer), received_ms=rx))
    assert verdict.reason is reason
    assert verdict.passed_regular


def test_every_check_cites_its_rule() -> None:
    from oracle.verifier.pipeline import BEACON_CHECKS, WITNESS_CHECKS

    for check in (*BEACON_CHECKS, *WITNESS_CHECKS):
        doc = check.__doc__ or ""
        assert "rule" in doc.lower() or "pocnet adds" in doc, check.__name__
        assert any(r.name in doc for r in Reason), check.__name__
