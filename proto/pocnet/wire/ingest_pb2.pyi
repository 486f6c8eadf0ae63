from pocnet.wire import reports_pb2 as _reports_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SessionOffer(_message.Message):
    __slots__ = ("nonce",)
    NONCE_FIELD_NUMBER: _ClassVar[int]
    nonce: bytes
    def __init__(self, nonce: _Optional[bytes] = ...) -> None: ...

class SessionInit(_message.Message):
    __slots__ = ("pub_key", "nonce", "session_key", "signature")
    PUB_KEY_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    SESSION_KEY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    pub_key: bytes
    nonce: bytes
    session_key: bytes
    signature: bytes
    def __init__(self, pub_key: _Optional[bytes] = ..., nonce: _Optional[bytes] = ..., session_key: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class ReportAck(_message.Message):
    __slots__ = ("id", "received_ms", "duplicate")
    ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_MS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    id: bytes
    received_ms: int
    duplicate: bool
    def __init__(self, id: _Optional[bytes] = ..., received_ms: _Optional[int] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class StreamRequest(_message.Message):
    __slots__ = ("session_init", "beacon", "witness", "coverage")
    SESSION_INIT_FIELD_NUMBER: _ClassVar[int]
    BEACON_FIELD_NUMBER: _ClassVar[int]
    WITNESS_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    session_init: SessionInit
    beacon: _reports_pb2.BeaconReport
    witness: _reports_pb2.WitnessReport
    coverage: _reports_pb2.CoverageReport
    def __init__(self, session_init: _Optional[_Union[SessionInit, _Mapping]] = ..., beacon: _Optional[_Union[_reports_pb2.BeaconReport, _Mapping]] = ..., witness: _Optional[_Union[_reports_pb2.WitnessReport, _Mapping]] = ..., coverage: _Optional[_Union[_reports_pb2.CoverageReport, _Mapping]] = ...) -> None: ...

class StreamResponse(_message.Message):
    __slots__ = ("offer", "ack")
    OFFER_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    offer: SessionOffer
    ack: ReportAck
    def __init__(self, offer: _Optional[_Union[SessionOffer, _Mapping]] = ..., ack: _Optional[_Union[ReportAck, _Mapping]] = ...) -> None: ...
