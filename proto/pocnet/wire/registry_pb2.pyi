from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Capability(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FULL: _ClassVar[Capability]
    DATA_ONLY: _ClassVar[Capability]
FULL: Capability
DATA_ONLY: Capability

class LocationAssertion(_message.Message):
    __slots__ = ("hotspot_key", "owner_wallet", "location", "gain", "elevation", "capability", "nonce", "timestamp_ms", "hotspot_signature", "owner_signature", "maker_key", "maker_signature")
    HOTSPOT_KEY_FIELD_NUMBER: _ClassVar[int]
    OWNER_WALLET_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    GAIN_FIELD_NUMBER: _ClassVar[int]
    ELEVATION_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    HOTSPOT_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    OWNER_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    MAKER_KEY_FIELD_NUMBER: _ClassVar[int]
    MAKER_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    hotspot_key: bytes
    owner_wallet: bytes
    location: int
    gain: int
    elevation: int
    capability: Capability
    nonce: int
    timestamp_ms: int
    hotspot_signature: bytes
    owner_signature: bytes
    maker_key: bytes
    maker_signature: bytes
    def __init__(self, hotspot_key: _Optional[bytes] = ..., owner_wallet: _Optional[bytes] = ..., location: _Optional[int] = ..., gain: _Optional[int] = ..., elevation: _Optional[int] = ..., capability: _Optional[_Union[Capability, str]] = ..., nonce: _Optional[int] = ..., timestamp_ms: _Optional[int] = ..., hotspot_signature: _Optional[bytes] = ..., owner_signature: _Optional[bytes] = ..., maker_key: _Optional[bytes] = ..., maker_signature: _Optional[bytes] = ...) -> None: ...

class OwnershipTransfer(_message.Message):
    __slots__ = ("hotspot_key", "new_owner_wallet", "nonce", "timestamp_ms", "owner_signature")
    HOTSPOT_KEY_FIELD_NUMBER: _ClassVar[int]
    NEW_OWNER_WALLET_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    OWNER_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    hotspot_key: bytes
    new_owner_wallet: bytes
    nonce: int
    timestamp_ms: int
    owner_signature: bytes
    def __init__(self, hotspot_key: _Optional[bytes] = ..., new_owner_wallet: _Optional[bytes] = ..., nonce: _Optional[int] = ..., timestamp_ms: _Optional[int] = ..., owner_signature: _Optional[bytes] = ...) -> None: ...

class HotspotInfo(_message.Message):
    __slots__ = ("hotspot_key", "owner_wallet", "location", "gain", "elevation", "capability", "region", "nonce", "asserted_at_ms", "denied", "maker_key", "denial", "denied_edges")
    HOTSPOT_KEY_FIELD_NUMBER: _ClassVar[int]
    OWNER_WALLET_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    GAIN_FIELD_NUMBER: _ClassVar[int]
    ELEVATION_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    ASSERTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    DENIED_FIELD_NUMBER: _ClassVar[int]
    MAKER_KEY_FIELD_NUMBER: _ClassVar[int]
    DENIAL_FIELD_NUMBER: _ClassVar[int]
    DENIED_EDGES_FIELD_NUMBER: _ClassVar[int]
    hotspot_key: bytes
    owner_wallet: bytes
    location: int
    gain: int
    elevation: int
    capability: Capability
    region: str
    nonce: int
    asserted_at_ms: int
    denied: bool
    maker_key: bytes
    denial: Denial
    denied_edges: _containers.RepeatedCompositeFieldContainer[DeniedEdge]
    def __init__(self, hotspot_key: _Optional[bytes] = ..., owner_wallet: _Optional[bytes] = ..., location: _Optional[int] = ..., gain: _Optional[int] = ..., elevation: _Optional[int] = ..., capability: _Optional[_Union[Capability, str]] = ..., region: _Optional[str] = ..., nonce: _Optional[int] = ..., asserted_at_ms: _Optional[int] = ..., denied: _Optional[bool] = ..., maker_key: _Optional[bytes] = ..., denial: _Optional[_Union[Denial, _Mapping]] = ..., denied_edges: _Optional[_Iterable[_Union[DeniedEdge, _Mapping]]] = ...) -> None: ...

class DeniedEdge(_message.Message):
    __slots__ = ("a", "b", "reason", "evidence", "expires_at_ms")
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    a: bytes
    b: bytes
    reason: str
    evidence: str
    expires_at_ms: int
    def __init__(self, a: _Optional[bytes] = ..., b: _Optional[bytes] = ..., reason: _Optional[str] = ..., evidence: _Optional[str] = ..., expires_at_ms: _Optional[int] = ...) -> None: ...

class DenylistUpdate(_message.Message):
    __slots__ = ("version", "hotspots", "edges", "operator_key", "timestamp_ms", "signature", "denials")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    HOTSPOTS_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_KEY_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    DENIALS_FIELD_NUMBER: _ClassVar[int]
    version: int
    hotspots: _containers.RepeatedScalarFieldContainer[bytes]
    edges: _containers.RepeatedCompositeFieldContainer[DeniedEdge]
    operator_key: bytes
    timestamp_ms: int
    signature: bytes
    denials: _containers.RepeatedCompositeFieldContainer[Denial]
    def __init__(self, version: _Optional[int] = ..., hotspots: _Optional[_Iterable[bytes]] = ..., edges: _Optional[_Iterable[_Union[DeniedEdge, _Mapping]]] = ..., operator_key: _Optional[bytes] = ..., timestamp_ms: _Optional[int] = ..., signature: _Optional[bytes] = ..., denials: _Optional[_Iterable[_Union[Denial, _Mapping]]] = ...) -> None: ...

class Denial(_message.Message):
    __slots__ = ("hotspot_key", "reason", "evidence", "expires_at_ms")
    HOTSPOT_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    hotspot_key: bytes
    reason: str
    evidence: str
    expires_at_ms: int
    def __init__(self, hotspot_key: _Optional[bytes] = ..., reason: _Optional[str] = ..., evidence: _Optional[str] = ..., expires_at_ms: _Optional[int] = ...) -> None: ...

class DenylistAck(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: int
    def __init__(self, version: _Optional[int] = ...) -> None: ...

class HotspotRequest(_message.Message):
    __slots__ = ("hotspot_key",)
    HOTSPOT_KEY_FIELD_NUMBER: _ClassVar[int]
    hotspot_key: bytes
    def __init__(self, hotspot_key: _Optional[bytes] = ...) -> None: ...
