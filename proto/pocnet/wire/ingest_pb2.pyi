from pocnet.wire import reports_pb2 as _reports_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
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

class BatchedReport(_message.Message):
    __slots__ = ("beacon", "witness", "coverage")
    BEACON_FIELD_NUMBER: _ClassVar[int]
    WITNESS_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    beacon: _reports_pb2.BeaconReport
    witness: _reports_pb2.WitnessReport
    coverage: _reports_pb2.CoverageReport
    def __init__(self, beacon: _Optional[_Union[_reports_pb2.BeaconReport, _Mapping]] = ..., witness: _Optional[_Union[_reports_pb2.WitnessReport, _Mapping]] = ..., coverage: _Optional[_Union[_reports_pb2.CoverageReport, _Mapping]] = ...) -> None: ...

class ReportBatch(_message.Message):
    __slots__ = ("reports",)
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    reports: _containers.RepeatedCompositeFieldContainer[BatchedReport]
    def __init__(self, reports: _Optional[_Iterable[_Union[BatchedReport, _Mapping]]] = ...) -> None: ...

class ReportRefusal(_message.Message):
    __slots__ = ("code", "reason")
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    code: int
    reason: str
    def __init__(self, code: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class BatchOutcome(_message.Message):
    __slots__ = ("ack", "refused")
    ACK_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    ack: ReportAck
    refused: ReportRefusal
    def __init__(self, ack: _Optional[_Union[ReportAck, _Mapping]] = ..., refused: _Optional[_Union[ReportRefusal, _Mapping]] = ...) -> None: ...

class BatchAck(_message.Message):
    __slots__ = ("outcomes",)
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    outcomes: _containers.RepeatedCompositeFieldContainer[BatchOutcome]
    def __init__(self, outcomes: _Optional[_Iterable[_Union[BatchOutcome, _Mapping]]] = ...) -> None: ...

class StreamRequest(_message.Message):
    __slots__ = ("session_init", "beacon", "witness", "coverage", "batch")
    SESSION_INIT_FIELD_NUMBER: _ClassVar[int]
    BEACON_FIELD_NUMBER: _ClassVar[int]
    WITNESS_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    session_init: SessionInit
    beacon: _reports_pb2.BeaconReport
    witness: _reports_pb2.WitnessReport
    coverage: _reports_pb2.CoverageReport
    batch: ReportBatch
    def __init__(self, session_init: _Optional[_Union[SessionInit, _Mapping]] = ..., beacon: _Optional[_Union[_reports_pb2.BeaconReport, _Mapping]] = ..., witness: _Optional[_Union[_reports_pb2.WitnessReport, _Mapping]] = ..., coverage: _Optional[_Union[_reports_pb2.CoverageReport, _Mapping]] = ..., batch: _Optional[_Union[ReportBatch, _Mapping]] = ...) -> None: ...

class StreamResponse(_message.Message):
    __slots__ = ("offer", "ack", "batch_ack")
    OFFER_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    BATCH_ACK_FIELD_NUMBER: _ClassVar[int]
    offer: SessionOffer
    ack: ReportAck
    batch_ack: BatchAck
    def __init__(self, offer: _Optional[_Union[SessionOffer, _Mapping]] = ..., ack: _Optional[_Union[ReportAck, _Mapping]] = ..., batch_ack: _Optional[_Union[BatchAck, _Mapping]] = ...) -> None: ...
