"""Values that cross the driver interfaces. Frozen: a packet or a fix never changes once read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pocnet.gnss import FixKind, is_usable


@dataclass(frozen=True, slots=True)
class RxPacket:
    """A LoRa frame as the radio delivered it (CRC already checked by the driver)."""

    payload: bytes
    freq_hz: int
    datarate: str          # e.g. "SF12BW125", the names of docs/protocol.md §2's DataRate enum
    rssi_dbm: float
    snr_db: float
    received_ns: int       # host clock at reception, ns since the Unix epoch
    tmst_us: int = 0       # concentrator microsecond counter, 0 if the radio has none
    # The reception's instant on the concentrator's GPS time reference (UTC, ns since the Unix
    # epoch, to the µs); None from a radio without one. Arrival times are only worth comparing
    # between hotspots on this clock (docs/oracle.md, Detection).
    gps_ns: int | None = None


@dataclass(frozen=True, slots=True)
class TxPacket:
    """A frame to send now (docs/protocol.md §4: CR 4/5, 8-symbol preamble, normal IQ, CRC on)."""

    payload: bytes
    freq_hz: int
    datarate: str
    power_dbm: int
    code_rate: str = "4/5"
    preamble_symbols: int = 8


@dataclass(frozen=True, slots=True)
class TxReceipt:
    """The radio's confirmation that a frame went out, with the power it really used."""

    power_dbm: int
    sent_ns: int           # host clock when the radio confirmed, ns since the Unix epoch
    tmst_us: int = 0
    # When the emission starts on the radio's GPS time reference (UTC, ns since the Unix epoch),
    # for a frame the radio scheduled at a GPS instant; None for one sent at once.
    emitted_ns: int | None = None


@dataclass(frozen=True, slots=True)
class Fix:
    """One GNSS solution. Position fields are None when the receiver has none."""

    kind: FixKind
    lat: float | None = None
    lon: float | None = None
    height_m: float | None = None
    h_acc_m: float | None = None
    satellites: int = 0
    time: datetime | None = None   # GNSS time of the solution, UTC
    gnss_fix_ok: bool = False

    @property
    def usable(self) -> bool:
        return is_usable(self.kind, self.h_acc_m, self.gnss_fix_ok)


@dataclass(frozen=True, slots=True)
class CellMeasurement:
    """One serving cell of a cellular modem; None where the modem reports -32768 (unknown)."""

    tech: str              # "LTE", "NR5G-SA" or "NR5G-NSA"
    mcc: int
    mnc: int
    cell_id: int
    pci: int
    arfcn: int
    band: int
    rsrp_dbm: int | None
    rsrq_db: int | None
    sinr_db: int | None
