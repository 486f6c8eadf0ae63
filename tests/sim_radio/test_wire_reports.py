"""Simulated rounds as the oracle receives them (sim_radio/wire_reports.py): signed by the right
keys, beacons that follow from their entropy (docs/protocol.md §4), receive times on the oracle's
clock, and the same bytes for the same seed."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from pathlib import Path

import pytest

from pocnet import geo, signing
from pocnet.beacon import ENTROPY_LIFETIME_S, derive_beacon
from pocnet.keys import Keypair, PublicKey, verify_ed25519
from pocnet.regions import get_plan
from pocnet.report_file import parse_line
from pocnet.wire import entropy_pb2, registry_pb2, reports_pb2
from sim_radio import wire_reports
from sim_radio.adversaries import (
    FLAG_FABRICATED,
    FLAG_REPLAYED,
    AdversarySpec,
    witness_reports,
)
from sim_radio.reception import RADIO_KINDS
from sim_radio.scenario import build, load_scenario
from sim_radio.wire_reports import WireWriter

# registry.proto: hotspot, owner and maker each sign with every signature field empty.
ASSERTION_SIGNATURES = ("hotspot_signature", "owner_signature", "maker_signature")

SMALL_TOWN = Path(__file__).resolve().parents[2] / "sim_radio" / "scenarios" / "small_town.toml"
ORACLE = Keypair.from_seed(bytes(range(32)))
WITNESS_LATE_MS = 4000  # docs/protocol.md §5 witness rule 4


@pytest.fixture(scope="module")
def world():  # type: ignore[no-untyped-def]
    scenario = replace(load_scenario(SMALL_TOWN), rounds=1)
    mesh, assignment = build(scenario)
    result = mesh.beacon_round(0)
    witnesses = witness_reports(mesh, result, assignment)
    writer = WireWriter(assignment, scenario.seed, ORACLE)
    return scenario, assignment, writer, result, witnesses, writer.round_reports(result, witnesses)


def _records(lines: list[str]) -> list[tuple[int, str, bytes]]:
    return [parse_line(line.encode(), n) for n, line in enumerate(lines, 1)]


def test_assertions_are_signed_by_hotspot_and_owner(world) -> None:  # type: ignore[no-untyped-def]
    _, assignment, writer, *_ = world
    lines = list(writer.onboarding(1_000))
    assert len(lines) == len(assignment.hotspots)
    for (at, kind, raw), key in zip(_records(lines), writer.keys, strict=True):
        msg = registry_pb2.LocationAssertion.FromString(raw)
        assert (at, kind) == (1_000, "assertion") and msg.hotspot_key == key.public_key.to_bytes()
        canonical = signing.canonical_bytes(msg, ASSERTION_SIGNATURES)
        key.public_key.verify(canonical, msg.hotspot_signature)
        verify_ed25519(msg.owner_wallet, canonical, msg.owner_signature)
        assert msg.maker_key == writer.maker.public_key.to_bytes()
        writer.maker.public_key.verify(canonical, msg.maker_signature)


def test_beacons_follow_from_the_oracles_entropy(world) -> None:  # type: ignore[no-untyped-def]
    assignment, writer, rr = world[1], world[2], world[5]
    entropy: dict[bytes, int] = {}
    beacons = 0
    for at, kind, raw in _records(rr.lines):
        if kind == "entropy":
            msg = entropy_pb2.Entropy.FromString(raw)
            signing.verify(msg, ORACLE.public_key)
            assert at == msg.timestamp * 1000 and msg.timestamp % 60 == 0
            entropy[msg.data] = msg.timestamp
        elif kind == "beacon":
            msg = reports_pb2.BeaconReport.FromString(raw)
            signing.verify(msg, PublicKey.from_bytes(msg.pub_key))
            ts = entropy[msg.remote_entropy]  # its entropy came before it in the file
            assert ts * 1000 <= at <= (ts + ENTROPY_LIFETIME_S) * 1000
            i = [k.public_key.to_bytes() for k in writer.keys].index(msg.pub_key)
            h = assignment.hotspots[i]
            expected = derive_beacon(msg.remote_entropy, ts, msg.local_entropy,
                                     get_plan(h.region), h.gain_dbi_x10)
            assert (msg.data, msg.frequency, msg.tx_power) == (
                expected.data, expected.frequency_hz, expected.tx_power_dbm)
            beacons += 1
    assert beacons == sum(1 for rid in rr.beacon_id if rid) > 0


def test_witnesses_match_their_beacon_and_reach_the_oracle_in_time(world) -> None:  # type: ignore[no-untyped-def]
    _, assignment, _, result, witnesses, rr = world
    for j, rid in enumerate(rr.witness_id):
        if not rid:
            continue
        w = int(witnesses.witness[j])
        offset = assignment.claims[w].clock_offset_ns
        # relayed reports arrive 150 ms later; replayed and fabricated ones are their own time
        honest_timing = int(witnesses.flags[j]) & (FLAG_REPLAYED | FLAG_FABRICATED) == 0
        received = int(rr.witness_received_ms[j])
        k = list(result.transmissions.event).index(int(witnesses.beacon_event[j]))
        if honest_timing and rr.beacon_id[k]:
            assert abs(received - int(rr.beacon_received_ms[k])) <= WITNESS_LATE_MS
        # The witness's clock shows in its report, never in the oracle's receive time.
        assert abs(int(witnesses.reported_ns[j]) - offset - received * 1_000_000) < 2e9


def test_report_files_are_in_time_order_after_their_entropy(world) -> None:  # type: ignore[no-untyped-def]
    rr = world[5]
    records = _records(rr.lines)
    reports = [at for at, kind, _ in records if kind != "entropy"]
    assert reports == sorted(reports)
    first_report = next(n for n, (_, kind, _) in enumerate(records) if kind != "entropy")
    assert all(kind != "entropy" for _, kind, _ in records[first_report:])


def test_same_seed_same_bytes(world) -> None:  # type: ignore[no-untyped-def]
    scenario, _, _, _, _, rr = world
    mesh, assignment = build(scenario)
    result = mesh.beacon_round(0)
    again = WireWriter(assignment, scenario.seed, ORACLE).round_reports(
        result, witness_reports(mesh, result, assignment))
    assert again.lines == rr.lines


def test_signing_processes_write_the_same_bytes_as_one(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Ed25519 signatures are deterministic (RFC 8032 §5.1.6) and batches come back in the
    order handed in, so a run signed by worker processes is byte for byte the one-process
    run: records, report ids and receive times, round after round."""
    monkeypatch.setattr(wire_reports, "SIGN_BATCH", 97)  # many batches in flight per round
    scenario = replace(load_scenario(SMALL_TOWN), rounds=2)
    runs = []
    for workers in (0, 2):
        mesh, assignment = build(scenario)
        with WireWriter(assignment, scenario.seed, ORACLE, workers=workers) as writer:
            records = list(writer.onboarding(1_000))
            ids: list[bytes] = []
            for r in range(scenario.rounds):
                result = mesh.beacon_round(r)
                rr = writer.round_reports(result, witness_reports(mesh, result, assignment))
                records += rr.lines
                ids += rr.beacon_id + rr.witness_id
                records += [rr.beacon_received_ms.tobytes(), rr.witness_received_ms.tobytes()]
            runs.append((records, ids, writer.worker_cpu_s))
    (one, one_ids, one_cpu), (many, many_ids, many_cpu) = runs
    assert len(one_ids) > 2 * 97 and one_cpu == 0.0 < many_cpu  # the workers did sign
    assert many_ids == one_ids
    assert many == one
    signed = [r for r in _records([x for x in many if isinstance(x, str)])
              if r[1] in ("beacon", "witness")]
    for _, kind, raw in signed:  # each report carries its own signature, not a neighbour's
        msg = (reports_pb2.BeaconReport if kind == "beacon" else reports_pb2.WitnessReport)()
        msg.ParseFromString(raw)
        signing.verify(msg, PublicKey.from_bytes(msg.pub_key))


def test_honest_witnesses_of_a_beacon_are_stamped_apart_by_their_distances_over_c(world) -> None:  # type: ignore[no-untyped-def]
    # Through the wire: two honest witnesses of one honest beacon report times that differ by
    # the difference of their great-circle distances to the beaconer over c, each stamp within
    # its radio's error (reception.stamp_ns: 0.5 µs of rounding + 5σ, σ 100 ns for a
    # concentrator, 1 µs for a single-channel radio), float32 distances.
    _, assignment, _, _, witnesses, rr = world
    c_m_per_ns = 0.299_792_458
    hs = assignment.hotspots

    def arc_m(a: int, b: int) -> float:
        p1, p2 = math.radians(hs[a].lat), math.radians(hs[b].lat)
        dl = math.radians(hs[b].lon - hs[a].lon)
        h = (math.sin((p2 - p1) / 2) ** 2
             + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2)
        return 2 * 6_371_008.8 * math.asin(math.sqrt(h))

    stamp = {signing.report_id(m): m.timestamp for _, kind, raw in _records(rr.lines)
             if kind == "witness" for m in [reports_pb2.WitnessReport.FromString(raw)]}
    by_beacon: dict[int, list[tuple[int, float]]] = {}
    for j, rid in enumerate(rr.witness_id):
        b, w = int(witnesses.beaconer[j]), int(witnesses.witness[j])
        # Replayed copies and relayed or fabricated reports are not this beacon's reception.
        if not rid or witnesses.flags[j] or b in assignment.dishonest or w in assignment.dishonest:
            continue
        by_beacon.setdefault(int(witnesses.beacon_event[j]), []).append(
            (stamp[rid], arc_m(b, w) / c_m_per_ns,
             500 + 5 * RADIO_KINDS[hs[w].radio_kind].stamp_noise_ns))
    pairs = 0
    for stamps in by_beacon.values():
        for (t1, d1, e1), (t2, d2, e2) in itertools.pairwise(stamps):
            assert abs((t2 - t1) - (d2 - d1)) <= e1 + e2 + 4
            pairs += 1
    assert pairs > 50


def test_witness_fields_are_the_simulated_numbers_rounded_as_python_rounds(world) -> None:  # type: ignore[no-untyped-def]
    """Each witness report's fields from its row of the round, by Python's own arithmetic on
    each number (round() half to even, int() towards zero, the fix of sim_radio/gps_fixes.py
    in 1e-7 degrees): the writer works on whole arrays and must agree report by report."""
    from sim_radio.gps_fixes import GpsFixes

    _, assignment, _, result, witnesses, rr = world
    by_id = {signing.report_id(m): m for _, kind, raw in _records(rr.lines)
             if kind == "witness" for m in [reports_pb2.WitnessReport.FromString(raw)]}
    fixes = GpsFixes(assignment)
    checked = with_fix = 0
    for j, rid in enumerate(rr.witness_id):
        if not rid:
            continue
        msg, w = by_id[rid], int(witnesses.witness[j])
        rssi, snr = float(witnesses.rssi_dbm[j]), float(witnesses.snr_db[j])
        reported = int(witnesses.reported_ns[j])
        assert (msg.signal, msg.snr, msg.timestamp) == (round(rssi * 10), int(snr * 10),
                                                        max(reported, 0))
        true_ns = reported - assignment.claims[w].clock_offset_ns
        lat, lon = (float(v[0]) for v in fixes.at([w], [true_ns], world[0].seed,
                                                   result.round_index))
        if math.isnan(lat):
            assert not msg.HasField("gps_fix")
        else:
            with_fix += 1
            assert (msg.gps_fix.lat_e7, msg.gps_fix.lon_e7, msg.gps_fix.gnss_time_ns) == (
                round(lat * 1e7), round(lon * 1e7), max(true_ns, 0))
            assert (msg.gps_fix.h_acc_mm, msg.gps_fix.satellites) == (
                wire_reports.GPS_H_ACC_MM, wire_reports.GPS_SATELLITES)
        checked += 1
    assert checked > 100 and with_fix > 0


def test_a_reports_wire_bytes_are_its_canonical_bytes_with_the_signature_in_place(world) -> None:  # type: ignore[no-untyped-def]
    """The writer splices each signature into the report's canonical bytes instead of
    serialising the signed message again: every beacon and witness line holds exactly what
    protobuf writes for the signed message (fields in number order, the GPS fix after the
    signature; reports without one: the test below)."""
    rr = world[5]
    reports = 0
    for _, kind, raw in _records(rr.lines):
        if kind == "entropy":
            continue
        cls = reports_pb2.BeaconReport if kind == "beacon" else reports_pb2.WitnessReport
        msg = cls.FromString(raw)
        assert msg.SerializeToString() == raw
        assert len(msg.signature) == 64
        reports += msg.HasField("gps_fix")
    assert reports > 0


def test_a_signature_goes_before_the_fields_numbered_above_it() -> None:
    """`_signed` against protobuf's own serialisation, for no GPS fix, a small one and the
    largest one (every field at its longest varint), on both kinds of report."""
    signature = bytes(range(64))
    for fix in (None, reports_pb2.GpsFix(lat_e7=1, lon_e7=2),
                reports_pb2.GpsFix(lat_e7=-(2**31), lon_e7=-(2**31), h_acc_mm=2**32 - 1,
                                   gnss_time_ns=2**64 - 1, satellites=2**32 - 1)):
        for msg in (reports_pb2.WitnessReport(pub_key=b"k" * 33, data=b"d" * 200, timestamp=7),
                    reports_pb2.BeaconReport(pub_key=b"k" * 33, data=b"d" * 51, tx_power=27,
                                             local_entropy=b"e" * 4, timestamp=2**64 - 1)):
            if fix is not None:
                msg.gps_fix.CopyFrom(fix)
            canonical = signing.canonical_bytes(msg)
            for sig in (signature, b"s" * 200):  # Ed25519's, and one of a two-byte length
                spliced = wire_reports._signed(canonical, wire_reports._after_signature(msg),
                                               sig)
                msg.signature = sig
                assert spliced == msg.SerializeToString()


def test_a_witness_latency_is_the_hash_of_its_parts_as_text() -> None:
    """`witness_ms` formats its three numbers at once; the same latency as `ms` of the parts,
    negative numbers (a receiver clock before 1970) and large ones included."""
    latency = wire_reports._Latency(7, "w")
    for parts in ((0, 0, 0), (1_999, 123_456, 1_767_745_743_445_123_456), (3, 9, -5_000)):
        expected = 200 + int.from_bytes(wire_reports._hash("latency", 7, "w", *parts,
                                                            size=4)) % 801
        assert latency.witness_ms(*parts) == latency.ms(*parts) == expected


def test_a_cluster_move_is_reasserted_in_its_round_by_hotspot_and_owner() -> None:
    # small_town with a cluster of five moved 30 km at round 1 (sim_radio.adversaries'
    # cluster_move): round 0 re-asserts no one; round 1 re-asserts the five at their new
    # places, nonce 2, signed as onboarding is, before the round's reports; round 2 no one.
    scenario = replace(load_scenario(SMALL_TOWN), rounds=3, adversaries=(
        AdversarySpec("cluster_move", 0.1, (("round", 1.0),)),))
    mesh, assignment = build(scenario)
    assert len(assignment.moves) == 5
    writer = WireWriter(assignment, scenario.seed, ORACLE, workers=0)
    by_round = []
    for r in range(3):
        result = mesh.beacon_round(r)
        records = _records(writer.round_reports(
            result, witness_reports(mesh, result, assignment)).lines)
        by_round.append(records)
        reports = [at for at, kind, _ in records if kind != "entropy"]
        assert reports == sorted(reports)
    assert [sum(kind == "assertion" for _, kind, _ in rs) for rs in by_round] == [0, 5, 0]
    keys = {writer.keys[i].public_key.to_bytes(): i for i in assignment.moves}
    for _, kind, raw in by_round[1]:
        if kind != "assertion":
            continue
        msg = registry_pb2.LocationAssertion.FromString(raw)
        i = keys[bytes(msg.hotspot_key)]
        _, lat, lon = assignment.moves[i]
        assert msg.nonce == 2
        assert msg.location == geo.latlng_to_cell(lat, lon, geo.ASSERT_RES)
        canonical = signing.canonical_bytes(msg, ASSERTION_SIGNATURES)
        writer.keys[i].public_key.verify(canonical, msg.hotspot_signature)
        verify_ed25519(msg.owner_wallet, canonical, msg.owner_signature)
