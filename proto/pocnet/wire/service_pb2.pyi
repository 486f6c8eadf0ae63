from pocnet.wire import entropy_pb2 as _entropy_pb2
from pocnet.wire import ingest_pb2 as _ingest_pb2
from pocnet.wire import registry_pb2 as _registry_pb2
from pocnet.wire import reports_pb2 as _reports_pb2
from pocnet.wire import verdict_pb2 as _verdict_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReportsRequest(_message.Message):
    __slots__ = ("hotspot_key", "limit")
    HOTSPOT_KEY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    hotspot_key: bytes
    limit: int
    def __init__(self, hotspot_key: _Optional[bytes] = ..., limit: _Optional[int] = ...) -> None: ...

class ReportSummary(_message.Message):
    __slots__ = ("id", "kind", "received_ms", "verdict", "data")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_MS_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    id: bytes
    kind: _verdict_pb2.ReportKind
    received_ms: int
    verdict: _verdict_pb2.Verdict
    data: bytes
    def __init__(self, id: _Optional[bytes] = ..., kind: _Optional[_Union[_verdict_pb2.ReportKind, str]] = ..., received_ms: _Optional[int] = ..., verdict: _Optional[_Union[_verdict_pb2.Verdict, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class ReportsResponse(_message.Message):
    __slots__ = ("reports",)
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    reports: _containers.RepeatedCompositeFieldContainer[ReportSummary]
    def __init__(self, reports: _Optional[_Iterable[_Union[ReportSummary, _Mapping]]] = ...) -> None: ...

class ReportRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: bytes
    def __init__(self, id: _Optional[bytes] = ...) -> None: ...

class ReportDetail(_message.Message):
    __slots__ = ("summary", "beacon", "witness", "coverage")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    BEACON_FIELD_NUMBER: _ClassVar[int]
    WITNESS_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    summary: ReportSummary
    beacon: _reports_pb2.BeaconReport
    witness: _reports_pb2.WitnessReport
    coverage: _reports_pb2.CoverageReport
    def __init__(self, summary: _Optional[_Union[ReportSummary, _Mapping]] = ..., beacon: _Optional[_Union[_reports_pb2.BeaconReport, _Mapping]] = ..., witness: _Optional[_Union[_reports_pb2.WitnessReport, _Mapping]] = ..., coverage: _Optional[_Union[_reports_pb2.CoverageReport, _Mapping]] = ...) -> None: ...

class PocRequest(_message.Message):
    __slots__ = ("beacon_id",)
    BEACON_ID_FIELD_NUMBER: _ClassVar[int]
    beacon_id: bytes
    def __init__(self, beacon_id: _Optional[bytes] = ...) -> None: ...

class PocResponse(_message.Message):
    __slots__ = ("beacon", "witnesses")
    BEACON_FIELD_NUMBER: _ClassVar[int]
    WITNESSES_FIELD_NUMBER: _ClassVar[int]
    beacon: ReportDetail
    witnesses: _containers.RepeatedCompositeFieldContainer[ReportDetail]
    def __init__(self, beacon: _Optional[_Union[ReportDetail, _Mapping]] = ..., witnesses: _Optional[_Iterable[_Union[ReportDetail, _Mapping]]] = ...) -> None: ...

class PocVerdictsRequest(_message.Message):
    __slots__ = ("beacon_ids",)
    BEACON_IDS_FIELD_NUMBER: _ClassVar[int]
    beacon_ids: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, beacon_ids: _Optional[_Iterable[bytes]] = ...) -> None: ...

class PocVerdictsResponse(_message.Message):
    __slots__ = ("verdicts",)
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    verdicts: _containers.RepeatedCompositeFieldContainer[_verdict_pb2.Verdict]
    def __init__(self, verdicts: _Optional[_Iterable[_Union[_verdict_pb2.Verdict, _Mapping]]] = ...) -> None: ...

class VerdictRowsRequest(_message.Message):
    __slots__ = ("from_ms", "to_ms", "page_rows", "after_received_ms", "after_report_id")
    FROM_MS_FIELD_NUMBER: _ClassVar[int]
    TO_MS_FIELD_NUMBER: _ClassVar[int]
    PAGE_ROWS_FIELD_NUMBER: _ClassVar[int]
    AFTER_RECEIVED_MS_FIELD_NUMBER: _ClassVar[int]
    AFTER_REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    from_ms: int
    to_ms: int
    page_rows: int
    after_received_ms: int
    after_report_id: bytes
    def __init__(self, from_ms: _Optional[int] = ..., to_ms: _Optional[int] = ..., page_rows: _Optional[int] = ..., after_received_ms: _Optional[int] = ..., after_report_id: _Optional[bytes] = ...) -> None: ...

class VerdictRows(_message.Message):
    __slots__ = ("report_ids", "received_ms", "kinds", "hotspot_keys", "beacon_ids", "valid", "reasons", "more")
    REPORT_IDS_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_MS_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    HOTSPOT_KEYS_FIELD_NUMBER: _ClassVar[int]
    BEACON_IDS_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    report_ids: _containers.RepeatedScalarFieldContainer[bytes]
    received_ms: _containers.RepeatedScalarFieldContainer[int]
    kinds: _containers.RepeatedScalarFieldContainer[_verdict_pb2.ReportKind]
    hotspot_keys: _containers.RepeatedScalarFieldContainer[bytes]
    beacon_ids: _containers.RepeatedScalarFieldContainer[bytes]
    valid: _containers.RepeatedScalarFieldContainer[bool]
    reasons: _containers.RepeatedScalarFieldContainer[_verdict_pb2.InvalidReason]
    more: bool
    def __init__(self, report_ids: _Optional[_Iterable[bytes]] = ..., received_ms: _Optional[_Iterable[int]] = ..., kinds: _Optional[_Iterable[_Union[_verdict_pb2.ReportKind, str]]] = ..., hotspot_keys: _Optional[_Iterable[bytes]] = ..., beacon_ids: _Optional[_Iterable[bytes]] = ..., valid: _Optional[_Iterable[bool]] = ..., reasons: _Optional[_Iterable[_Union[_verdict_pb2.InvalidReason, str]]] = ..., more: _Optional[bool] = ...) -> None: ...

class RewardsRequest(_message.Message):
    __slots__ = ("hotspot_key", "from_epoch", "to_epoch")
    HOTSPOT_KEY_FIELD_NUMBER: _ClassVar[int]
    FROM_EPOCH_FIELD_NUMBER: _ClassVar[int]
    TO_EPOCH_FIELD_NUMBER: _ClassVar[int]
    hotspot_key: bytes
    from_epoch: int
    to_epoch: int
    def __init__(self, hotspot_key: _Optional[bytes] = ..., from_epoch: _Optional[int] = ..., to_epoch: _Optional[int] = ...) -> None: ...

class EpochReward(_message.Message):
    __slots__ = ("epoch", "beacon_amount", "witness_amount")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    BEACON_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    WITNESS_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    beacon_amount: int
    witness_amount: int
    def __init__(self, epoch: _Optional[int] = ..., beacon_amount: _Optional[int] = ..., witness_amount: _Optional[int] = ...) -> None: ...

class RewardsResponse(_message.Message):
    __slots__ = ("epochs",)
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    epochs: _containers.RepeatedCompositeFieldContainer[EpochReward]
    def __init__(self, epochs: _Optional[_Iterable[_Union[EpochReward, _Mapping]]] = ...) -> None: ...
