"""Size envelopes (issue 10 item 4): each report kind's fields have the lengths PROTOCOL gives
them (51-byte beacon payload, 33-byte keys, 4 + 32 bytes of entropy), at the boundary, and no
report can carry padding in fields the schema does not know."""

from __future__ import annotations

import pytest
from oracle_factories import beacon_report, keypair, witness_report

from oracle.envelope import max_bytes
from oracle.errors import BadReport
from oracle.ingest import Ingestor
from pocnet import signing
from pocnet.keys import Network
from pocnet.wire import reports_pb2

ENTROPY = b"\x07" * 32


class _Repo:
    def entropy(self, data: bytes) -> None:
        return None


def _ingestor() -> Ingestor:
    return Ingestor(_Repo(), None, Network.MAINNET, lambda: 5_000)  # type: ignore[arg-type]


@pytest.mark.parametrize("length, fits", [(50, False), (51, True), (52, False), (0, False)])
def test_witness_data_is_a_beacons_51_bytes(length: int, fits: bool) -> None:
    report = witness_report(keypair(1), data=b"\x01" * length)
    if fits:
        assert _ingestor().prepare("witness", report).data == b"\x01" * 51
    else:
        with pytest.raises(BadReport, match=f"data is {length} bytes; it must be 51"):
            _ingestor().prepare("witness", report)


@pytest.mark.parametrize("field, length, fits", [
    ("data", 51, True), ("data", 52, False), ("data", 50, False),
    ("local_entropy", 4, True), ("local_entropy", 5, False), ("local_entropy", 3, False),
    ("remote_entropy", 32, True), ("remote_entropy", 33, False), ("remote_entropy", 31, False),
])
def test_beacon_fields_have_their_protocol_lengths(field: str, length: int, fits: bool) -> None:
    hotspot = keypair(2)
    beacon = beacon_report(hotspot, ENTROPY, 1_000)
    setattr(beacon, field, b"\x02" * length)
    signing.sign(beacon, hotspot)
    if fits:
        _ingestor().prepare("beacon", beacon)
    else:
        with pytest.raises(BadReport, match=f"{field} is {length} bytes"):
            _ingestor().prepare("beacon", beacon)


def test_a_key_that_is_not_33_bytes_is_refused_by_its_length() -> None:
    report = witness_report(keypair(3))
    report.pub_key = report.pub_key + b"\x00"
    with pytest.raises(BadReport, match="33 bytes"):
        _ingestor().prepare("witness", report)


def test_unknown_fields_cannot_pad_a_report() -> None:
    """Field 9 is unused in Helium's witness schema: a report hiding kilobytes there fits every
    known field's length but not the message's widest size."""
    hotspot = keypair(4)
    report = witness_report(hotspot)
    padded = report.SerializeToString() + b"\x4a\x80\x08" + b"\x00" * 1024  # field 9, 1 KiB
    message = reports_pb2.WitnessReport.FromString(padded)
    with pytest.raises(BadReport, match="unknown fields are not stored"):
        _ingestor().prepare("witness", message, raw=padded)


def test_the_widest_report_of_each_kind_fits() -> None:
    """Every field at its widest value (10-byte varints, a full GPS fix) still fits: the limit
    refuses padding, never a report a hotspot can make."""
    hotspot = keypair(5)
    wide = witness_report(hotspot, data=b"\xff" * 51, signal=-2**31, snr=-2**31,
                          frequency=2**64 - 1, timestamp_ns=2**64 - 1)
    wide.tmst = 2**32 - 1
    wide.datarate = reports_pb2.FSK50
    wide.gps_fix.CopyFrom(reports_pb2.GpsFix(
        lat_e7=-2**31, lon_e7=-2**31, height_mm=-2**31, h_acc_mm=2**32 - 1,
        fix_type=reports_pb2.FIX_3D, satellites=2**32 - 1, gnss_time_ns=2**64 - 1))
    signing.sign(wide, hotspot)
    assert len(wide.SerializeToString()) <= max_bytes("witness")
    _ingestor().prepare("witness", wide)


def test_a_coverage_report_holds_at_most_eight_cells() -> None:
    hotspot = keypair(6)
    for cells, fits in ((8, True), (9, False)):
        report = reports_pb2.CoverageReport(
            pub_key=hotspot.public_key.to_bytes(), timestamp=1,
            cells=[reports_pb2.CellMeasurement(tech=reports_pb2.LTE, mcc=262, mnc=1,
                                               cell_id=i) for i in range(cells)])
        signing.sign(report, hotspot)
        if fits:
            _ingestor().prepare("coverage", report)
        else:
            with pytest.raises(BadReport, match="9 cells; at most 8"):
                _ingestor().prepare("coverage", report)
