"""Why a report is invalid: the reason codes of docs/protocol.md §5.

Names and numbers are exactly the wire enum `verdict_pb2.InvalidReason` (Helium's numbers below
100, pocnet's own from 100), so a `Reason` is stored and sent as its integer with no mapping
table to drift. `reason_none` (0) is the wire's "no reason"; in memory a valid verdict carries
`None` instead, so it is not a member here.
"""

from __future__ import annotations

from enum import IntEnum

from pocnet.wire import verdict_pb2


class Reason(IntEnum):
    """docs/protocol.md §5 reason codes; a test keeps them equal to the proto enum."""

    bad_signature = 1
    not_asserted = 2
    entropy_expired = 3
    invalid_capability = 5
    invalid_pubkey = 6
    irregular_interval = 7
    gateway_not_found = 8
    denied = 9
    invalid_packet = 10
    bad_rssi = 11
    invalid_region = 12
    max_distance_exceeded = 13
    invalid_frequency = 14
    self_witness = 15
    stale = 16
    below_min_distance = 19
    duplicate = 20
    denied_edge = 21
    too_late = 22
    gateway_no_valid_beacons = 23
    gateway_no_valid_witnesses = 24
    # pocnet adds (docs/protocol.md §5, "pocnet adds"): numbers from 100 up.
    tx_power_too_high = 100
    bad_snr = 101
    below_sensitivity = 102
    gps_location_mismatch = 103
    gps_implausible_motion = 104

    def to_proto(self) -> int:
        """The `verdict_pb2.InvalidReason` value (the same integer, checked by name)."""
        return verdict_pb2.InvalidReason.Value(self.name)

    @classmethod
    def from_proto(cls, value: int) -> Reason | None:
        """The reason for a wire value; None for `reason_none` (a valid verdict)."""
        if value == verdict_pb2.InvalidReason.Value("reason_none"):
            return None
        return cls(value)


def is_pocnet_reason(reason: Reason) -> bool:
    """pocnet's own rules (numbers from 100) can be switched off; Helium's cannot."""
    return reason >= 100
