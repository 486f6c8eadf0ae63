from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InvalidReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    reason_none: _ClassVar[InvalidReason]
    bad_signature: _ClassVar[InvalidReason]
    not_asserted: _ClassVar[InvalidReason]
    entropy_expired: _ClassVar[InvalidReason]
    invalid_capability: _ClassVar[InvalidReason]
    invalid_pubkey: _ClassVar[InvalidReason]
    irregular_interval: _ClassVar[InvalidReason]
    gateway_not_found: _ClassVar[InvalidReason]
    denied: _ClassVar[InvalidReason]
    invalid_packet: _ClassVar[InvalidReason]
    bad_rssi: _ClassVar[InvalidReason]
    invalid_region: _ClassVar[InvalidReason]
    max_distance_exceeded: _ClassVar[InvalidReason]
    invalid_frequency: _ClassVar[InvalidReason]
    self_witness: _ClassVar[InvalidReason]
    stale: _ClassVar[InvalidReason]
    below_min_distance: _ClassVar[InvalidReason]
    duplicate: _ClassVar[InvalidReason]
    denied_edge: _ClassVar[InvalidReason]
    too_late: _ClassVar[InvalidReason]
    gateway_no_valid_beacons: _ClassVar[InvalidReason]
    gateway_no_valid_witnesses: _ClassVar[InvalidReason]
    tx_power_too_high: _ClassVar[InvalidReason]
    bad_snr: _ClassVar[InvalidReason]
    below_sensitivity: _ClassVar[InvalidReason]
    gps_location_mismatch: _ClassVar[InvalidReason]
    gps_implausible_motion: _ClassVar[InvalidReason]

class ReportKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BEACON: _ClassVar[ReportKind]
    WITNESS: _ClassVar[ReportKind]
    COVERAGE: _ClassVar[ReportKind]
reason_none: InvalidReason
bad_signature: InvalidReason
not_asserted: InvalidReason
entropy_expired: InvalidReason
invalid_capability: InvalidReason
invalid_pubkey: InvalidReason
irregular_interval: InvalidReason
gateway_not_found: InvalidReason
denied: InvalidReason
invalid_packet: InvalidReason
bad_rssi: InvalidReason
invalid_region: InvalidReason
max_distance_exceeded: InvalidReason
invalid_frequency: InvalidReason
self_witness: InvalidReason
stale: InvalidReason
below_min_distance: InvalidReason
duplicate: InvalidReason
denied_edge: InvalidReason
too_late: InvalidReason
gateway_no_valid_beacons: InvalidReason
gateway_no_valid_witnesses: InvalidReason
tx_power_too_high: InvalidReason
bad_snr: InvalidReason
below_sensitivity: InvalidReason
gps_location_mismatch: InvalidReason
gps_implausible_motion: InvalidReason
BEACON: ReportKind
WITNESS: ReportKind
COVERAGE: ReportKind

class Verdict(_message.Message):
    __slots__ = ("report_id", "kind", "valid", "reason", "selected", "location_trust", "verified_at_ms", "beacon_id", "detail")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SELECTED_FIELD_NUMBER: _ClassVar[int]
    LOCATION_TRUST_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    BEACON_ID_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    report_id: bytes
    kind: ReportKind
    valid: bool
    reason: InvalidReason
    selected: bool
    location_trust: str
    verified_at_ms: int
    beacon_id: bytes
    detail: str
    def __init__(self, report_id: _Optional[bytes] = ..., kind: _Optional[_Union[ReportKind, str]] = ..., valid: _Optional[bool] = ..., reason: _Optional[_Union[InvalidReason, str]] = ..., selected: _Optional[bool] = ..., location_trust: _Optional[str] = ..., verified_at_ms: _Optional[int] = ..., beacon_id: _Optional[bytes] = ..., detail: _Optional[str] = ...) -> None: ...
