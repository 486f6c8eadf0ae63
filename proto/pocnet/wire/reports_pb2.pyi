from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DataRate(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SF12BW125: _ClassVar[DataRate]
    SF11BW125: _ClassVar[DataRate]
    SF10BW125: _ClassVar[DataRate]
    SF9BW125: _ClassVar[DataRate]
    SF8BW125: _ClassVar[DataRate]
    SF7BW125: _ClassVar[DataRate]
    SF12BW250: _ClassVar[DataRate]
    SF11BW250: _ClassVar[DataRate]
    SF10BW250: _ClassVar[DataRate]
    SF9BW250: _ClassVar[DataRate]
    SF8BW250: _ClassVar[DataRate]
    SF7BW250: _ClassVar[DataRate]
    SF12BW500: _ClassVar[DataRate]
    SF11BW500: _ClassVar[DataRate]
    SF10BW500: _ClassVar[DataRate]
    SF9BW500: _ClassVar[DataRate]
    SF8BW500: _ClassVar[DataRate]
    SF7BW500: _ClassVar[DataRate]
    LRFHSS1BW137: _ClassVar[DataRate]
    LRFHSS2BW137: _ClassVar[DataRate]
    LRFHSS1BW336: _ClassVar[DataRate]
    LRFHSS2BW336: _ClassVar[DataRate]
    LRFHSS1BW1523: _ClassVar[DataRate]
    LRFHSS2BW1523: _ClassVar[DataRate]
    FSK50: _ClassVar[DataRate]

class FixType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIX_NONE: _ClassVar[FixType]
    FIX_2D: _ClassVar[FixType]
    FIX_3D: _ClassVar[FixType]
    FIX_TIME_ONLY: _ClassVar[FixType]

class CellTech(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CELL_TECH_UNSPECIFIED: _ClassVar[CellTech]
    LTE: _ClassVar[CellTech]
    NR5G_SA: _ClassVar[CellTech]
    NR5G_NSA: _ClassVar[CellTech]
SF12BW125: DataRate
SF11BW125: DataRate
SF10BW125: DataRate
SF9BW125: DataRate
SF8BW125: DataRate
SF7BW125: DataRate
SF12BW250: DataRate
SF11BW250: DataRate
SF10BW250: DataRate
SF9BW250: DataRate
SF8BW250: DataRate
SF7BW250: DataRate
SF12BW500: DataRate
SF11BW500: DataRate
SF10BW500: DataRate
SF9BW500: DataRate
SF8BW500: DataRate
SF7BW500: DataRate
LRFHSS1BW137: DataRate
LRFHSS2BW137: DataRate
LRFHSS1BW336: DataRate
LRFHSS2BW336: DataRate
LRFHSS1BW1523: DataRate
LRFHSS2BW1523: DataRate
FSK50: DataRate
FIX_NONE: FixType
FIX_2D: FixType
FIX_3D: FixType
FIX_TIME_ONLY: FixType
CELL_TECH_UNSPECIFIED: CellTech
LTE: CellTech
NR5G_SA: CellTech
NR5G_NSA: CellTech

class GpsFix(_message.Message):
    __slots__ = ("lat_e7", "lon_e7", "height_mm", "h_acc_mm", "fix_type", "satellites", "gnss_time_ns")
    LAT_E7_FIELD_NUMBER: _ClassVar[int]
    LON_E7_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_MM_FIELD_NUMBER: _ClassVar[int]
    H_ACC_MM_FIELD_NUMBER: _ClassVar[int]
    FIX_TYPE_FIELD_NUMBER: _ClassVar[int]
    SATELLITES_FIELD_NUMBER: _ClassVar[int]
    GNSS_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    lat_e7: int
    lon_e7: int
    height_mm: int
    h_acc_mm: int
    fix_type: FixType
    satellites: int
    gnss_time_ns: int
    def __init__(self, lat_e7: _Optional[int] = ..., lon_e7: _Optional[int] = ..., height_mm: _Optional[int] = ..., h_acc_mm: _Optional[int] = ..., fix_type: _Optional[_Union[FixType, str]] = ..., satellites: _Optional[int] = ..., gnss_time_ns: _Optional[int] = ...) -> None: ...

class BeaconReport(_message.Message):
    __slots__ = ("pub_key", "local_entropy", "remote_entropy", "data", "frequency", "channel", "datarate", "tx_power", "timestamp", "signature", "tmst", "gps_fix")
    PUB_KEY_FIELD_NUMBER: _ClassVar[int]
    LOCAL_ENTROPY_FIELD_NUMBER: _ClassVar[int]
    REMOTE_ENTROPY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    DATARATE_FIELD_NUMBER: _ClassVar[int]
    TX_POWER_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    TMST_FIELD_NUMBER: _ClassVar[int]
    GPS_FIX_FIELD_NUMBER: _ClassVar[int]
    pub_key: bytes
    local_entropy: bytes
    remote_entropy: bytes
    data: bytes
    frequency: int
    channel: int
    datarate: DataRate
    tx_power: int
    timestamp: int
    signature: bytes
    tmst: int
    gps_fix: GpsFix
    def __init__(self, pub_key: _Optional[bytes] = ..., local_entropy: _Optional[bytes] = ..., remote_entropy: _Optional[bytes] = ..., data: _Optional[bytes] = ..., frequency: _Optional[int] = ..., channel: _Optional[int] = ..., datarate: _Optional[_Union[DataRate, str]] = ..., tx_power: _Optional[int] = ..., timestamp: _Optional[int] = ..., signature: _Optional[bytes] = ..., tmst: _Optional[int] = ..., gps_fix: _Optional[_Union[GpsFix, _Mapping]] = ...) -> None: ...

class WitnessReport(_message.Message):
    __slots__ = ("pub_key", "data", "timestamp", "tmst", "signal", "snr", "frequency", "datarate", "signature", "gps_fix")
    PUB_KEY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    TMST_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    SNR_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    DATARATE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    GPS_FIX_FIELD_NUMBER: _ClassVar[int]
    pub_key: bytes
    data: bytes
    timestamp: int
    tmst: int
    signal: int
    snr: int
    frequency: int
    datarate: DataRate
    signature: bytes
    gps_fix: GpsFix
    def __init__(self, pub_key: _Optional[bytes] = ..., data: _Optional[bytes] = ..., timestamp: _Optional[int] = ..., tmst: _Optional[int] = ..., signal: _Optional[int] = ..., snr: _Optional[int] = ..., frequency: _Optional[int] = ..., datarate: _Optional[_Union[DataRate, str]] = ..., signature: _Optional[bytes] = ..., gps_fix: _Optional[_Union[GpsFix, _Mapping]] = ...) -> None: ...

class CellMeasurement(_message.Message):
    __slots__ = ("tech", "mcc", "mnc", "cell_id", "pci", "arfcn", "band", "rsrp_dbm", "rsrq_db", "sinr_db")
    TECH_FIELD_NUMBER: _ClassVar[int]
    MCC_FIELD_NUMBER: _ClassVar[int]
    MNC_FIELD_NUMBER: _ClassVar[int]
    CELL_ID_FIELD_NUMBER: _ClassVar[int]
    PCI_FIELD_NUMBER: _ClassVar[int]
    ARFCN_FIELD_NUMBER: _ClassVar[int]
    BAND_FIELD_NUMBER: _ClassVar[int]
    RSRP_DBM_FIELD_NUMBER: _ClassVar[int]
    RSRQ_DB_FIELD_NUMBER: _ClassVar[int]
    SINR_DB_FIELD_NUMBER: _ClassVar[int]
    tech: CellTech
    mcc: int
    mnc: int
    cell_id: int
    pci: int
    arfcn: int
    band: int
    rsrp_dbm: int
    rsrq_db: int
    sinr_db: int
    def __init__(self, tech: _Optional[_Union[CellTech, str]] = ..., mcc: _Optional[int] = ..., mnc: _Optional[int] = ..., cell_id: _Optional[int] = ..., pci: _Optional[int] = ..., arfcn: _Optional[int] = ..., band: _Optional[int] = ..., rsrp_dbm: _Optional[int] = ..., rsrq_db: _Optional[int] = ..., sinr_db: _Optional[int] = ...) -> None: ...

class CoverageReport(_message.Message):
    __slots__ = ("pub_key", "timestamp", "cells", "signature", "gps_fix")
    PUB_KEY_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    GPS_FIX_FIELD_NUMBER: _ClassVar[int]
    pub_key: bytes
    timestamp: int
    cells: _containers.RepeatedCompositeFieldContainer[CellMeasurement]
    signature: bytes
    gps_fix: GpsFix
    def __init__(self, pub_key: _Optional[bytes] = ..., timestamp: _Optional[int] = ..., cells: _Optional[_Iterable[_Union[CellMeasurement, _Mapping]]] = ..., signature: _Optional[bytes] = ..., gps_fix: _Optional[_Union[GpsFix, _Mapping]] = ...) -> None: ...
