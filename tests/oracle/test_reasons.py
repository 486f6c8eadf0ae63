"""Reason codes equal the wire enum (docs/protocol.md §5: Helium's names and numbers, pocnet's ≥
100)."""

from __future__ import annotations

import pytest

from oracle.verifier.reasons import Reason, is_pocnet_reason
from pocnet.wire import verdict_pb2

WIRE = {v.name: v.number for v in verdict_pb2.InvalidReason.DESCRIPTOR.values}


def test_every_reason_matches_the_proto_enum() -> None:
    assert {r.name: r.value for r in Reason} == {k: v for k, v in WIRE.items() if v != 0}


def test_protocol_numbers() -> None:
    # docs/protocol.md §5, as printed.
    expected = {
        "bad_signature": 1,
        "not_asserted": 2,
        "entropy_expired": 3,
        "invalid_capability": 5,
        "invalid_pubkey": 6,
        "irregular_interval": 7,
        "gateway_not_found": 8,
        "denied": 9,
        "invalid_packet": 10,
        "bad_rssi": 11,
        "invalid_region": 12,
        "max_distance_exceeded": 13,
        "invalid_frequency": 14,
        "self_witness": 15,
        "stale": 16,
        "below_min_distance": 19,
        "duplicate": 20,
        "denied_edge": 21,
        "too_late": 22,
        "gateway_no_valid_beacons": 23,
        "gateway_no_valid_witnesses": 24,
    }
    for name, number in expected.items():
        assert Reason[name] == number
    pocnet = {r for r in Reason if is_pocnet_reason(r)}
    assert pocnet == {
        Reason.tx_power_too_high,
        Reason.bad_snr,
        Reason.below_sensitivity,
        Reason.gps_location_mismatch,
        Reason.gps_implausible_motion,
    }
    assert all(r >= 100 for r in pocnet)


@pytest.mark.parametrize("reason", list(Reason))
def test_round_trip_through_the_wire(reason: Reason) -> None:
    verdict = verdict_pb2.Verdict(reason=reason.to_proto())
    parsed = verdict_pb2.Verdict.FromString(verdict.SerializeToString())
    assert Reason.from_proto(parsed.reason) is reason


def test_reason_none_is_a_valid_verdict() -> None:
    assert Reason.from_proto(verdict_pb2.reason_none) is None
    with pytest.raises(ValueError):
        Reason.from_proto(4)  # unused in Helium's numbering
