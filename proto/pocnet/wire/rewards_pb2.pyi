from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ShareKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BEACONER: _ClassVar[ShareKind]
    WITNESSER: _ClassVar[ShareKind]
BEACONER: ShareKind
WITNESSER: ShareKind

class RewardShare(_message.Message):
    __slots__ = ("epoch", "hotspot_key", "kind", "report_id", "unit", "scale", "location_trust", "share")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    HOTSPOT_KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_TRUST_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    hotspot_key: bytes
    kind: ShareKind
    report_id: bytes
    unit: str
    scale: str
    location_trust: str
    share: str
    def __init__(self, epoch: _Optional[int] = ..., hotspot_key: _Optional[bytes] = ..., kind: _Optional[_Union[ShareKind, str]] = ..., report_id: _Optional[bytes] = ..., unit: _Optional[str] = ..., scale: _Optional[str] = ..., location_trust: _Optional[str] = ..., share: _Optional[str] = ...) -> None: ...

class HotspotReward(_message.Message):
    __slots__ = ("hotspot_key", "owner_wallet", "beacon_amount", "witness_amount")
    HOTSPOT_KEY_FIELD_NUMBER: _ClassVar[int]
    OWNER_WALLET_FIELD_NUMBER: _ClassVar[int]
    BEACON_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    WITNESS_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    hotspot_key: bytes
    owner_wallet: bytes
    beacon_amount: int
    witness_amount: int
    def __init__(self, hotspot_key: _Optional[bytes] = ..., owner_wallet: _Optional[bytes] = ..., beacon_amount: _Optional[int] = ..., witness_amount: _Optional[int] = ...) -> None: ...

class WalletAmount(_message.Message):
    __slots__ = ("wallet", "amount")
    WALLET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    wallet: bytes
    amount: int
    def __init__(self, wallet: _Optional[bytes] = ..., amount: _Optional[int] = ...) -> None: ...

class EpochManifest(_message.Message):
    __slots__ = ("epoch", "emission", "beacon_pool", "witness_pool", "operations", "oracles", "beacon_reward_per_share", "witness_reward_per_share", "hotspots", "wallets", "total_paid", "unallocated", "merkle_root", "denylist_version", "withheld")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    EMISSION_FIELD_NUMBER: _ClassVar[int]
    BEACON_POOL_FIELD_NUMBER: _ClassVar[int]
    WITNESS_POOL_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    ORACLES_FIELD_NUMBER: _ClassVar[int]
    BEACON_REWARD_PER_SHARE_FIELD_NUMBER: _ClassVar[int]
    WITNESS_REWARD_PER_SHARE_FIELD_NUMBER: _ClassVar[int]
    HOTSPOTS_FIELD_NUMBER: _ClassVar[int]
    WALLETS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PAID_FIELD_NUMBER: _ClassVar[int]
    UNALLOCATED_FIELD_NUMBER: _ClassVar[int]
    MERKLE_ROOT_FIELD_NUMBER: _ClassVar[int]
    DENYLIST_VERSION_FIELD_NUMBER: _ClassVar[int]
    WITHHELD_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    emission: int
    beacon_pool: int
    witness_pool: int
    operations: int
    oracles: int
    beacon_reward_per_share: str
    witness_reward_per_share: str
    hotspots: _containers.RepeatedCompositeFieldContainer[HotspotReward]
    wallets: _containers.RepeatedCompositeFieldContainer[WalletAmount]
    total_paid: int
    unallocated: int
    merkle_root: bytes
    denylist_version: int
    withheld: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, epoch: _Optional[int] = ..., emission: _Optional[int] = ..., beacon_pool: _Optional[int] = ..., witness_pool: _Optional[int] = ..., operations: _Optional[int] = ..., oracles: _Optional[int] = ..., beacon_reward_per_share: _Optional[str] = ..., witness_reward_per_share: _Optional[str] = ..., hotspots: _Optional[_Iterable[_Union[HotspotReward, _Mapping]]] = ..., wallets: _Optional[_Iterable[_Union[WalletAmount, _Mapping]]] = ..., total_paid: _Optional[int] = ..., unallocated: _Optional[int] = ..., merkle_root: _Optional[bytes] = ..., denylist_version: _Optional[int] = ..., withheld: _Optional[_Iterable[bytes]] = ...) -> None: ...
