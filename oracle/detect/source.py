"""The verified history of a time range, read from the oracle's store into a History.

Witness reports come with their verdicts (valid or not: a cheater's invalid reports are
evidence too) and their beacon; the signal, SNR, the hotspots' own timestamps and GPS fixes are
in the stored wire messages, parsed here. Hotspots are placed at their asserted cells; keys the
registry does not place are left out (geometry cannot judge them).
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import DecodeError

from oracle.detect.history import History, HistoryBuilder
from oracle.storage.scan import Scanner
from oracle.verifier.trust import usable_fix
from pocnet import geo
from pocnet.wire import registry_pb2, reports_pb2

_BEACON, _WITNESS = 0, 1  # verdict_pb2.ReportKind
_NS_PER_MS = 1_000_000


def read_history(repo: Any, from_ms: int, to_ms: int) -> History:
    """Every witness report of the beacons received in [from_ms, to_ms), with its beacon."""
    builder = HistoryBuilder(from_ms, to_ms)
    scanner = Scanner(repo)
    try:
        for key, cell, gain, asserted_at in scanner.rows(
            "SELECT hotspot_key, location, gain_dbi_x10, asserted_at_ms FROM hotspots "
            "WHERE location IS NOT NULL ORDER BY hotspot_key", (),
        ):
            lat, lon = geo.cell_to_latlng(geo.Cell(int(cell)))
            builder.add_hotspot(bytes(key), lat, lon, int(gain) / 10, int(asserted_at))
        _read_moves(scanner, builder, from_ms, to_ms)
        beacons: dict[bytes, reports_pb2.BeaconReport] = {}
        for beacon_id, beacon_received, beacon_raw, received, valid, raw in scanner.rows(
            "SELECT b.report_id, b.received_ms, rb.raw, w.received_ms, w.valid, rw.raw "
            "FROM verdicts w JOIN verdicts b ON b.report_id = w.beacon_id "
            "JOIN reports rw ON rw.id = w.report_id JOIN reports rb ON rb.id = b.report_id "
            "WHERE w.kind = ? AND b.kind = ? AND b.received_ms >= ? AND b.received_ms < ? "
            "ORDER BY b.report_id",
            (_WITNESS, _BEACON, from_ms, to_ms),
        ):
            beacon_id = bytes(beacon_id)
            beacon = beacons.get(beacon_id)
            if beacon is None:
                beacons.clear()  # rows come by beacon: keep only the current one parsed
                beacon = beacons[beacon_id] = reports_pb2.BeaconReport.FromString(
                    bytes(beacon_raw))
            witness = reports_pb2.WitnessReport.FromString(bytes(raw))
            builder.add_witness(
                beacon_id, bytes(beacon.pub_key), bytes(witness.pub_key),
                rssi_dbm=witness.signal / 10, snr_db=witness.snr / 10,
                tx_power_dbm=float(beacon.tx_power),
                beacon_received_ms=int(beacon_received), witness_received_ms=int(received),
                beacon_timestamp_ms=beacon.timestamp / _NS_PER_MS,
                witness_timestamp_ms=witness.timestamp / _NS_PER_MS,
                valid=bool(valid), datarate=int(beacon.datarate),
            )
        for kind, key, received, raw in scanner.rows(
            "SELECT kind, hotspot_key, received_ms, raw FROM reports WHERE kind IN (?, ?) "
            "AND received_ms >= ? AND received_ms < ? AND fix_lat_e7 IS NOT NULL",
            (_BEACON, _WITNESS, from_ms, to_ms),
        ):
            message = reports_pb2.BeaconReport if kind == _BEACON else reports_pb2.WitnessReport
            report = message.FromString(bytes(raw))
            fix = usable_fix(report)
            if fix is not None:
                builder.add_fix(bytes(key), int(received), fix[0], fix[1],
                                report.gps_fix.h_acc_mm / 1000)
    finally:
        scanner.close()
    return builder.build()


def _read_moves(scanner: Scanner, builder: HistoryBuilder, from_ms: int, to_ms: int) -> None:
    """Each hotspot whose current assertion was made in [from_ms, to_ms) and moved it: the
    place of its latest earlier assertion with a location, and when the oracle took that one
    (the assertion log keeps each as signed; the registry row holds only the current one)."""
    read: set[bytes] = set()
    for key, cell, asserted_at, before_at, raw in scanner.rows(
        "SELECT a.hotspot_key, h.location, h.asserted_at_ms, a.received_ms, a.raw "
        "FROM assertions a "
        "JOIN hotspots h ON h.hotspot_key = a.hotspot_key "
        "WHERE h.asserted_at_ms >= ? AND h.asserted_at_ms < ? AND a.nonce < h.nonce "
        "AND h.location IS NOT NULL ORDER BY a.hotspot_key, a.nonce DESC",
        (from_ms, to_ms),
    ):
        key = bytes(key)
        if key in read:
            continue  # its previous place is read already
        try:
            before = registry_pb2.LocationAssertion.FromString(bytes(raw)).location
        except DecodeError:
            continue
        if not before or not geo.is_valid_cell(before):
            continue
        read.add(key)
        if before != int(cell):
            builder.add_move(key, int(asserted_at), *geo.cell_to_latlng(geo.Cell(before)),
                             from_at_ms=int(before_at))
