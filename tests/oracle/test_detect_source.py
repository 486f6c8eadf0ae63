"""The history the detectors read, from a real store (SQLite and PostgreSQL): signals, clocks
and fixes come out of the stored wire messages, geometry out of the registry."""

from __future__ import annotations

import pytest

from oracle.detect.source import read_history
from oracle.storage.repository import NewReport, Registration
from pocnet import geo
from pocnet.wire import registry_pb2, reports_pb2

T0 = 1_760_000_000_000
PLACES = {"A": (52.50, 13.30), "B": (52.51, 13.30), "C": (52.52, 13.30)}
MAKER = b"\x01" + b"M" * 32


def key(name: str) -> bytes:
    return b"\x01" + name.encode() * 32


def fix(lat: float, lon: float, acc_mm: int = 3_000, kind: int = reports_pb2.FIX_3D):
    return reports_pb2.GpsFix(lat_e7=round(lat * 1e7), lon_e7=round(lon * 1e7), h_acc_mm=acc_mm,
                              fix_type=kind, satellites=9)


def store(repo) -> None:
    repo.put_maker(MAKER, "test maker", 10, 0)
    for n, name in enumerate(PLACES):
        repo.apply_assertion(
            Registration(key(name), bytes(32), geo.latlng_to_cell(*PLACES[name], 12),
                         30 if name == "A" else 0, 0, "full", "EU868", 1, T0 - 10 + n, MAKER),
            b"raw", T0 - 10 + n)
    beacon = reports_pb2.BeaconReport(pub_key=key("A"), data=b"d" * 51, tx_power=16,
                                      datarate=reports_pb2.SF9BW125,
                                      timestamp=(T0 + 1_000) * 1_000_000,
                                      gps_fix=fix(*PLACES["A"]))
    heard_by_b = reports_pb2.WitnessReport(pub_key=key("B"), data=b"d" * 51, signal=-1034,
                                           snr=-25, timestamp=(T0 + 1_090) * 1_000_000,
                                           gps_fix=fix(*PLACES["B"]))
    # C's fix is 2D: not usable, so it is not read.
    heard_by_c = reports_pb2.WitnessReport(pub_key=key("C"), data=b"d" * 51, signal=-1200,
                                           snr=-100, timestamp=(T0 + 1_005) * 1_000_000,
                                           gps_fix=fix(*PLACES["C"], kind=reports_pb2.FIX_2D))
    rows = [("bA", "beacon", "A", beacon, T0 + 1_300, None),
            ("wB", "witness", "B", heard_by_b, T0 + 1_800, True),
            ("wC", "witness", "C", heard_by_c, T0 + 6_000, False)]
    repo.insert_reports([
        NewReport(rid.encode().ljust(32, b"#"), kind, key(h), at, msg.SerializeToString(),
                  fix_lat_e7=msg.gps_fix.lat_e7, fix_lon_e7=msg.gps_fix.lon_e7)
        for rid, kind, h, msg, at, _ in rows
    ])
    with repo.transaction() as tx:
        for rid, kind, h, _, at, valid in rows:
            tx.execute(
                "INSERT INTO verdicts (report_id, kind, hotspot_key, beacon_id, received_ms, "
                "valid, reason, selected, location_trust, passed_regular, witnesses, detail, "
                "verified_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rid.encode().ljust(32, b"#"), 0 if kind == "beacon" else 1, key(h),
                 None if kind == "beacon" else b"bA".ljust(32, b"#"), at,
                 1 if valid in (None, True) else 0, None if valid in (None, True) else 22,
                 1, "1", 1, 2, "", at + 60_000))


def test_history_from_the_store(repo) -> None:
    store(repo)
    history = read_history(repo, T0, T0 + 86_400_000)
    h = history.hotspots
    assert [k[1:2] for k in h.keys] == [b"A", b"B", b"C"]
    assert list(h.gain_db) == [3.0, 0.0, 0.0]
    w = history.witnesses
    rows = sorted(zip([h.keys[i][1:2] for i in w.witness], w.rssi_dbm, w.snr_db, w.tx_power_dbm,
                      w.beacon_timestamp_ms, w.witness_timestamp_ms, w.witness_received_ms,
                      w.beacon_received_ms, w.valid, strict=True))
    assert rows == [
        (b"B", -103.4, -2.5, 16.0, T0 + 1_000, T0 + 1_090, T0 + 1_800, T0 + 1_300, True),
        (b"C", -120.0, -10.0, 16.0, T0 + 1_000, T0 + 1_005, T0 + 6_000, T0 + 1_300, False),
    ]
    # The beacon's datarate (SF9BW125 is 3 in docs/protocol.md's enum) on each of its rows.
    assert list(w.datarate) == [3, 3]
    # B is 0.01° (1.1 km) north of A; the asserted res-12 cells move it by metres at most.
    assert sorted(w.distance_m.round(-2)) == [1_100.0, 2_200.0]
    # Fixes: A's (beacon) and B's (witness); C's 2D fix vouches for nothing.
    assert sorted(h.keys[i][1:2] for i in history.fixes.hotspot) == [b"A", b"B"]
    assert list(history.fixes.h_acc_m) == [3.0, 3.0]


def test_another_window_is_empty(repo) -> None:
    store(repo)
    history = read_history(repo, T0 + 86_400_000, T0 + 2 * 86_400_000)
    assert len(history.witnesses) == 0 and len(history.fixes) == 0
    assert len(history.hotspots) == 3


@pytest.mark.parametrize(("asserted_ms", "kept"),
                         [(T0 + 1_301, [b"C"]), (T0 + 1_300, [b"B", b"C"])])
def test_reports_before_a_reassertion_are_left_out(repo, asserted_ms: int, kept: list) -> None:
    store(repo)
    moved = Registration(key("B"), bytes(32), geo.latlng_to_cell(52.6, 13.3, 12), 0, 0, "full",
                         "EU868", 2, asserted_ms, MAKER)
    repo.apply_assertion(moved, b"raw", asserted_ms, previous=repo.hotspot(key("B")))
    history = read_history(repo, T0, T0 + 86_400_000)
    # The beacon (received at T0 + 1,300) predates B's new assertion: B's witness is dropped;
    # asserted at the beacon's very millisecond, it stands.
    assert sorted(history.hotspots.keys[i][1:2] for i in history.witnesses.witness) == kept


def assertion(name: str, place: tuple[float, float], nonce: int, at_ms: int
              ) -> tuple[Registration, bytes]:
    """A registration and its raw assertion as the registry stores it (only the fields the
    history reads are set: the place)."""
    cell = geo.latlng_to_cell(*place, 12)
    raw = registry_pb2.LocationAssertion(hotspot_key=key(name), location=cell,
                                         nonce=nonce).SerializeToString()
    return (Registration(key(name), bytes(32), cell, 0, 0, "full", "EU868", nonce, at_ms, MAKER),
            raw)


@pytest.mark.parametrize(("window_from", "moves"), [(T0, 1), (T0 + 501, 0)])
def test_a_reassertion_in_the_window_is_a_move_from_the_place_before(
        repo, window_from: int, moves: int) -> None:
    # D moves 11 km north at T0 + 500; E re-asserts its place (a new gain, say): no move.
    repo.put_maker(MAKER, "test maker", 10, 0)
    for name, new in (("D", (52.60, 13.30)), ("E", (52.40, 13.30))):
        first, raw = assertion(name, (52.50, 13.30) if name == "D" else new, 1, T0 - 100)
        repo.apply_assertion(first, raw, T0 - 100)
        second, raw = assertion(name, new, 2, T0 + 500)
        repo.apply_assertion(second, raw, T0 + 500, previous=first)
    history = read_history(repo, window_from, T0 + 86_400_000)
    m = history.moves
    assert len(m) == moves
    if moves:
        assert history.hotspots.keys[int(m.hotspot[0])] == key("D")
        assert (int(m.at_ms[0]), int(m.from_at_ms[0])) == (T0 + 500, T0 - 100)
        before = geo.cell_to_latlng(geo.latlng_to_cell(52.50, 13.30, 12))
        assert (float(m.from_lat[0]), float(m.from_lon[0])) == pytest.approx(before)
