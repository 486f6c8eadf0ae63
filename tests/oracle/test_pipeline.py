"""The rule lists (order, completeness), verdict assembly, HIP-83 selection, inheritance of an
invalid beacon's reason, the HIP-106 reciprocity bootstrap, and MemoryContext's semantics."""

from __future__ import annotations

import random

from verifier_builders import (
    BEACON_RX_MS,
    ENTROPY_TS_S,
    HOUR_MS,
    Net,
    beacon_case,
    cell_at,
    node,
    witness_case,
)

from oracle.verifier import pipeline
from oracle.verifier.context import MemoryContext
from oracle.verifier.model import HotspotRecord
from oracle.verifier.params import VerifierParams
from oracle.verifier.pipeline import SiteCache, stale_verdict, verify_poc
from oracle.verifier.reasons import Reason

WINDOW_MS = 6 * HOUR_MS


def test_beacon_rules_all_present_in_order() -> None:
    assert [c.__name__ for c in pipeline.BEACON_CHECKS] == [
        "check_beacon_gateway",  # 1
        "check_beacon_denied",  # 2
        "check_beacon_entropy",  # 3
        "check_beacon_capability",  # 4
        "check_beacon_interval",  # 5
        "check_beacon_packet",  # 6
        "check_beacon_tx_power",  # 7 (pocnet)
        "check_beacon_gps_location",  # pocnet
        "check_beacon_gps_motion",  # pocnet
        "check_beacon_reciprocity",  # 8
    ]


def test_witness_rules_all_present_in_order() -> None:
    assert [c.__name__ for c in pipeline.WITNESS_CHECKS] == [
        "check_witness_denied",  # 1
        "check_witness_self",  # 2
        "check_witness_entropy",  # 3
        "check_witness_timing",  # 4
        "check_witness_packet",  # 5
        "check_witness_gateway",
        "check_witness_capability",  # 6
        "check_witness_frequency",  # 7
        "check_witness_region",  # 8
        "check_witness_min_distance",  # 9
        "check_witness_max_distance",  # 10
        "check_witness_rssi",  # 11
        "check_witness_snr",  # 12 (pocnet)
        "check_witness_sensitivity",  # 12 (pocnet)
        "check_witness_duplicate",  # 13
        "check_witness_gps_location",  # pocnet
        "check_witness_gps_motion",  # pocnet
        "check_witness_reciprocity",  # 14
    ]
    assert pipeline.WITNESS_REGULAR_CHECKS == pipeline.WITNESS_CHECKS[:-1]


def test_first_failure_wins() -> None:
    """A witness failing rules 7, 11 and 14 at once is invalid_frequency: order matters."""
    net = Net()
    beacon = beacon_case(net.beaconer)
    w = net.add(node(cell_at(2_000)), history=False)
    case = witness_case(w, beacon, frequency=beacon.report.frequency + 200_000, signal=-100)
    assert verify_poc(beacon, [case], net.ctx, net.params, 0)[1].reason is Reason.invalid_frequency


def _witnesses(net: Net, beacon, n: int):
    cases = []
    for i in range(n):
        w = net.witness_node(distance_m=2_000 + 500 * i, bearing_deg=(37 * i) % 360)
        cases.append(witness_case(w, beacon, received_ms=BEACON_RX_MS + 100 + 10 * i))
    return cases


def test_hip83_selects_the_first_14_valid_by_receive_time() -> None:
    net = Net()
    beacon = beacon_case(net.beaconer)
    cases = _witnesses(net, beacon, 17)
    # Two early reports are invalid and must not use up selection slots.
    cases[1] = witness_case(
        net.witnesses[1], beacon, received_ms=cases[1].received_ms, data=bytes(51)
    )
    cases[3] = witness_case(net.witnesses[3], beacon, received_ms=cases[3].received_ms, signal=-100)
    shuffled = cases[:]
    random.Random(7).shuffle(shuffled)
    out = verify_poc(beacon, shuffled, net.ctx, net.params, 0)[1:]
    assert [v.report_id for v in out] == [c.report_id for c in cases]  # receive order
    assert sum(v.valid for v in out) == 15
    assert sum(v.selected for v in out) == 14
    assert [v.selected for v in out][-1] is False and out[-1].valid  # valid, unselected
    assert not out[1].selected and not out[3].selected
    assert verify_poc(beacon, cases, net.ctx, net.params, 0)[1:] == out  # input order irrelevant


def test_max_witnesses_is_a_parameter() -> None:
    net = Net(params=VerifierParams(max_witnesses=2))
    beacon = beacon_case(net.beaconer)
    out = verify_poc(beacon, _witnesses(net, beacon, 4), net.ctx, net.params, 0)[1:]
    assert [v.selected for v in out] == [True, True, False, False]


def test_invalid_beacon_gives_its_reason_to_every_witness() -> None:
    net = Net()
    beacon = beacon_case(net.beaconer, tx_power=20)
    cases = _witnesses(net, beacon, 3)
    cases.append(witness_case(net.beaconer, beacon))  # self-witness: still dropped
    out = verify_poc(beacon, cases, net.ctx, net.params, 0)
    assert [v.reason for v in out] == [Reason.tx_power_too_high] * 4
    assert not any(v.passed_regular or v.selected or v.valid for v in out)
    assert all("beacon invalid" in v.detail for v in out[1:])


def test_self_witness_is_not_the_first_witness() -> None:
    net = Net()
    beacon = beacon_case(net.beaconer)
    early_self = witness_case(net.beaconer, beacon, received_ms=BEACON_RX_MS - 3_000)
    other = witness_case(net.witness_node(), beacon, received_ms=BEACON_RX_MS - 1_000)
    out = verify_poc(beacon, [early_self, other], net.ctx, net.params, 0)
    assert [v.reason for v in out] == [None, None]


def test_stale_after_45_minutes() -> None:
    net = Net()
    case = witness_case(net.witness_node(), beacon_case(net.beaconer))
    params = VerifierParams()
    assert stale_verdict(case, "witness", case.received_ms + 45 * 60_000 - 1, params) is None
    verdict = stale_verdict(case, "witness", case.received_ms + 45 * 60_000, params)
    assert verdict is not None and verdict.reason is Reason.stale and not verdict.valid


def test_site_cache_reuses_and_refuses_coarse_cells() -> None:
    sites = SiteCache(max_entries=2)
    a = sites.site(cell_at(1_000), 11)
    assert a is not None and sites.site(cell_at(1_000), 11) is a
    sites.site(cell_at(2_000), 11)
    sites.site(cell_at(3_000), 11)  # starts over, still answers
    assert sites.site(cell_at(1_000), 11) == a
    from pocnet import geo

    assert sites.site(geo.latlng_to_cell(52.0, 4.0, 9), 11) is None
    assert sites.site(12345, 11) is None
    assert sites.site(None, 11) is None


# --- HIP-106 reciprocity bootstrap ----------------------------------------------------------


def _fresh_pair() -> tuple[Net, object, object]:
    net = Net()
    a = net.add(node(cell_at(10_000, 0)), history=False)
    b = net.add(node(cell_at(12_000, 0)), history=False)
    return net, a, b


def _poc(net: Net, beaconer, witness, window: int, **witness_kw):
    rx = BEACON_RX_MS + window * WINDOW_MS
    beacon = beacon_case(beaconer, received_ms=rx, entropy_ts_s=ENTROPY_TS_S + window * 6 * 3600)
    case = witness_case(witness, beacon, received_ms=rx + 200, **witness_kw)
    out = verify_poc(beacon, [case], net.ctx, net.params, 0)
    net.ctx.record(beacon, [case], out)
    return out


def test_bootstrap_two_new_neighbours_become_valid_from_their_second_window() -> None:
    net, a, b = _fresh_pair()
    first_a = _poc(net, a, b, window=0)
    assert first_a[0].reason is Reason.gateway_no_valid_witnesses and first_a[0].passed_regular
    # B's witness takes the beacon's reason but passed its regular checks: it counts for B.
    assert first_a[1].reason is Reason.gateway_no_valid_witnesses and first_a[1].passed_regular
    first_b = _poc(net, b, a, window=0)
    assert first_b[0].valid  # B has a (regular) witness now
    assert first_b[1].reason is None  # A's beacon passed the regular checks with a witness
    second_a = _poc(net, a, b, window=1)
    second_b = _poc(net, b, a, window=1)
    assert all(v.valid for v in (*second_a, *second_b))


def test_bootstrap_needs_regular_checks_passed() -> None:
    net, a, b = _fresh_pair()
    first = _poc(net, a, b, window=0, signal=-100)  # B's witness fails bad_rssi
    assert not first[1].passed_regular and "bad_rssi" in first[1].detail
    # B's only witness failed a regular check, so B has no witness credit, now or later...
    assert _poc(net, b, a, window=0)[0].reason is Reason.gateway_no_valid_witnesses
    assert _poc(net, b, a, window=1)[0].reason is Reason.gateway_no_valid_witnesses
    # ...while A (whose witness of B passed the regular checks) is valid in its second window.
    assert _poc(net, a, b, window=1)[0].valid


def test_beacon_without_witnesses_is_valid_but_gives_no_beacon_credit() -> None:
    net = Net()
    lonely = net.add(node(cell_at(30_000)), history=False)
    net.ctx.note_valid_witness(lonely.key, BEACON_RX_MS - HOUR_MS)
    beacon = beacon_case(lonely)
    out = verify_poc(beacon, [], net.ctx, net.params, 0)
    assert out[0].valid
    net.ctx.record(beacon, [], out)
    assert net.ctx.last_valid_beacon_ms(lonely.key) is None


# --- MemoryContext --------------------------------------------------------------------------


def _record(key: bytes = b"k" * 33) -> HotspotRecord:
    return HotspotRecord(key, bytes(32), None, 0, 0, "full", None)


def test_memory_context_window_semantics() -> None:
    net = Net()
    ctx = MemoryContext(hotspots=[net.beaconer.record])
    early = beacon_case(net.beaconer, received_ms=BEACON_RX_MS - 1)
    late = beacon_case(net.beaconer, received_ms=BEACON_RX_MS + 1)
    ctx.note_beacon(late)
    from pocnet.beacon import beacon_window

    window = beacon_window(BEACON_RX_MS // 1000)
    assert not ctx.beacon_in_window(net.beaconer.key, window, late.report_id)
    ctx.note_beacon(early)
    assert ctx.beacon_in_window(net.beaconer.key, window, late.report_id)
    assert not ctx.beacon_in_window(net.beaconer.key, window, early.report_id)
    ctx.note_beacon(late, verified=True)  # a verified later beacon also uses the window
    assert ctx.beacon_in_window(net.beaconer.key, window, early.report_id)
    assert not ctx.beacon_in_window(net.beaconer.key, window - 21_600, early.report_id)


def test_memory_context_denylist_edges_are_unordered() -> None:
    ctx = MemoryContext(hotspots=[_record()], denied=[b"x"], denied_edges=[(b"a", b"b")])
    assert ctx.is_denied(b"x") and not ctx.is_denied(b"a")
    assert ctx.is_edge_denied(b"b", b"a") and ctx.is_edge_denied(b"a", b"b")
    assert not ctx.is_edge_denied(b"a", b"x")
    assert ctx.hotspot(b"k" * 33) == _record() and ctx.hotspot(b"?") is None


def test_memory_context_last_fix_is_strictly_before() -> None:
    ctx = MemoryContext()
    ctx.note_fix(b"k", 1.0, 2.0, 100)
    ctx.note_fix(b"k", 3.0, 4.0, 200)
    assert ctx.last_fix(b"k", 100) is None
    assert ctx.last_fix(b"k", 101) == (1.0, 2.0, 100)
    assert ctx.last_fix(b"k", 10**9) == (3.0, 4.0, 200)
    assert ctx.last_fix(b"other", 10**9) is None


# --- batch regeneration and the distance cache ----------------------------------------------


def test_batch_regenerated_payloads_give_the_same_verdicts() -> None:
    net = Net()
    beacons = [
        beacon_case(net.beaconer),
        beacon_case(net.beaconer, local_entropy=b"\x09\x08\x07\x06"),
        beacon_case(net.beaconer, entropy_ts_s=None),  # entropy unknown: no seed
        beacon_case(net.beaconer),
        beacon_case(net.beaconer, data=bytes(51)),  # payload does not follow: invalid_packet
    ]
    beacons[3].report.local_entropy = b"\x01\x02\x03"  # too short: no seed
    payloads = pipeline.regenerate_payloads(beacons)
    # One payload per distinct seed (the last beacon shares the first one's entropies); the two
    # beacons without a seed are left to prepare_beacon.
    assert len(payloads) == 2
    reasons = []
    for beacon in beacons:
        cases = _witnesses(net, beacon, 3)
        one = verify_poc(beacon, cases, net.ctx, net.params, 0)
        batch = verify_poc(beacon, cases, net.ctx, net.params, 0, payloads=payloads)
        assert batch == one
        reasons.append(one[0].reason)
    assert reasons[0] is None and reasons[1] is None
    assert reasons[2] is Reason.entropy_expired  # unknown entropy
    assert reasons[3] is Reason.invalid_packet  # local entropy of the wrong length
    assert reasons[4] is Reason.invalid_packet


def test_verify_poc_reads_the_batch_payloads() -> None:
    net = Net()
    beacon = beacon_case(net.beaconer)
    (seed,) = pipeline.regenerate_payloads([beacon])
    out = verify_poc(beacon, [], net.ctx, net.params, 0, payloads={seed: bytes(51)})
    assert out[0].reason is Reason.invalid_packet


def test_site_cache_distance_is_haversine_between_centres_and_bounded() -> None:
    import math

    sites = SiteCache(max_entries=2)
    a, b, c = (sites.site(cell_at(d), 11) for d in (1_000, 5_000, 9_000))
    assert a is not None and b is not None and c is not None
    # The great-circle formula written out here, not geo's.
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(
        math.radians(b.lon - a.lon) / 2
    ) ** 2
    expected = 2 * 6_371_007.180918475 * math.asin(math.sqrt(h))
    assert math.isclose(sites.distance_m(a, b), expected, rel_tol=1e-12)
    assert sites.distance_m(a, b) == sites.distance_m(a, b)
    sites.distance_m(a, c)
    sites.distance_m(b, c)  # full: starts over, still answers
    assert math.isclose(sites.distance_m(a, b), expected, rel_tol=1e-12)


def test_site_cache_grid_steps_are_h3s_and_none_without_an_answer() -> None:
    """Rule 9's grid steps, asked once per pair: a ring built outward from the origin's
    parent (verifier_builders.cell_at_grid_steps) is that many steps away, also when the cache
    has started over; Amsterdam to New York has no h3 grid distance."""
    from verifier_builders import cell_at_grid_steps, origin_cell

    from pocnet import geo

    sites = SiteCache(max_entries=2)
    origin = sites.site(origin_cell(), 11)
    seven, eight = (sites.site(cell_at_grid_steps(n), 11) for n in (7, 8))
    assert origin is not None and seven is not None and eight is not None
    assert sites.grid_steps(origin, seven) == 7
    assert sites.grid_steps(origin, eight) == 8
    assert sites.grid_steps(seven, seven) == 0  # full: starts over, still answers
    assert sites.grid_steps(origin, seven) == 7
    far = sites.site(geo.latlng_to_cell(40.7, -74.0, 12), 11)
    assert far is not None and sites.grid_steps(origin, far) is None
