from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Entropy(_message.Message):
    __slots__ = ("data", "timestamp", "version", "oracle_key", "signature")
    DATA_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ORACLE_KEY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    timestamp: int
    version: int
    oracle_key: bytes
    signature: bytes
    def __init__(self, data: _Optional[bytes] = ..., timestamp: _Optional[int] = ..., version: _Optional[int] = ..., oracle_key: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class EntropyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
