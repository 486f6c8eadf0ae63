"""The JSON objects inside GWMP datagrams: `rxpk`, `stat`, `txpk` and `txpk_ack`.

Source: Semtech packet_forwarder PROTOCOL.TXT (v2) §3-§6, and sx1302_hal `lora_pkt_fwd` for the
SX1302 additions (`rssis`, the per-antenna `rsig` array, TX_ACK `warn` with `value`). Field names
are the protocol's, verbatim. Decoders raise ValueError/TypeError/KeyError on bad input
(`FieldError`, a ValueError, when one field is to blame); `packets.parse` turns those into
counted reasons.

Received packets are read tolerantly, as real forwarders write them: a JSON `null` is an
absent field, a `freq` in Hz is accepted beside the protocol's MHz, `data` may use the URL-safe
base64 alphabet, `codr` may be missing, and a modulation other than LoRa or FSK (LR-FHSS from
SX1303 forwarders) is decoded for the server to filter, not refused.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TMST_MODULUS = 1 << 32  # `tmst` is the concentrator's free-running 32-bit microsecond counter
TX_POWER_RANGE_DBM = (-30, 40)  # sanity bounds for `powe`, not any board's limits
LORA_MAX_PAYLOAD_BYTES = 255
LORA_DATARATE = re.compile(r"SF([5-9]|1[0-2])BW(125|250|500)")
_CODR = re.compile(r"4/[5-8](LI)?")
# What both forwarders print for a coding rate of 0, "mostly false sync" (packet_forwarder and
# sx1302_hal lora_pkt_fwd.c); such a frame comes with a bad or no CRC and is filtered later.
CODR_FALSE_SYNC = "OFF"
_FRACTION = re.compile(r"\.(\d+)")
# No LoRa frequency in MHz reaches 10 GHz, and none in Hz is below 10 kHz: a `freq` at or above
# this is read as Hz (some forwarders print the concentrator's integer Hz), below it as MHz.
FREQ_HZ_THRESHOLD = 10_000
_URL_SAFE = str.maketrans("-_", "+/")


class FieldError(ValueError):
    """One named field of a record is missing or bad; `field` names it, for counting."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}")
        self.field = field


@dataclass(frozen=True, slots=True)
class Rsig:
    """One antenna's view of a packet (`rsig` array of the v2 / SX1302 form)."""

    ant: int
    chan: int
    rssic: float
    rssis: float | None = None
    lsnr: float | None = None


@dataclass(frozen=True, slots=True)
class Rxpk:
    """One received packet as the forwarder reports it; frequency in Hz, not the wire's MHz."""

    tmst: int
    freq_hz: int
    stat: int  # 1 CRC OK, -1 CRC bad, 0 no CRC
    datr: str | int  # "SF7BW125" for LoRa, bits per second for FSK
    data: bytes
    modu: str = "LORA"
    codr: str | None = "4/5"
    chan: int = 0
    rfch: int = 0
    rssi: float | None = None
    rssis: float | None = None
    lsnr: float | None = None
    rsig: tuple[Rsig, ...] = ()
    time: datetime | None = None
    tmms: int | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def crc_ok(self) -> bool:
        return self.stat == 1

    def signal(self) -> tuple[float | None, float | None]:
        """(RSSI dBm, SNR dB): the strongest antenna of `rsig`, else the flat fields.

        The signal RSSI (`rssis`) is preferred over the channel RSSI (`rssic`/`rssi`): the
        channel figure includes the noise in the whole channel, which overstates weak signals.
        """
        if self.rsig:
            best = max(self.rsig, key=lambda r: r.rssis if r.rssis is not None else r.rssic)
            rssi = best.rssis if best.rssis is not None else best.rssic
            return rssi, best.lsnr if best.lsnr is not None else self.lsnr
        return (self.rssis if self.rssis is not None else self.rssi), self.lsnr


@dataclass(frozen=True, slots=True)
class Stat:
    """The forwarder's periodic status; every field is optional on the wire."""

    time: str | None = None  # e.g. "2014-01-12 08:59:28 GMT", kept as sent
    lati: float | None = None
    long: float | None = None
    alti: int | None = None
    rxnb: int | None = None
    rxok: int | None = None
    rxfw: int | None = None
    ackr: float | None = None
    dwnb: int | None = None
    txnb: int | None = None
    temp: float | None = None


@dataclass(frozen=True, slots=True)
class Txpk:
    """A downlink: sent now (`imme`) or at a concentrator time (`tmst`)."""

    freq_hz: int
    powe: int
    datr: str | int
    data: bytes
    imme: bool = False
    tmst: int | None = None
    tmms: int | None = None
    rfch: int = 0
    modu: str = "LORA"
    codr: str | None = "4/5"
    ipol: bool = False
    prea: int | None = None
    ncrc: bool | None = None

    @property
    def size(self) -> int:
        return len(self.data)


def tmst_diff_us(later: int, earlier: int) -> int:
    """Signed microseconds from `earlier` to `later` across the 32-bit wrap (every ~71.6 min)."""
    delta = (later - earlier) % TMST_MODULUS
    return delta - TMST_MODULUS if delta >= TMST_MODULUS // 2 else delta


def tmst_add_us(tmst: int, delay_us: int) -> int:
    """A concentrator timestamp `delay_us` after `tmst`, wrapped to 32 bits."""
    return (tmst + delay_us) % TMST_MODULUS


# --- decoding ---


def _int(obj: dict[str, Any], key: str, lo: int, hi: int, default: Any = ...) -> Any:
    value = obj.get(key, default)
    if value is ...:
        raise FieldError(key, "missing")
    if value is default:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise FieldError(key, f"{value!r} is not an integer in [{lo}, {hi}]")
    return value


def _num(obj: dict[str, Any], key: str, default: Any = ...) -> Any:
    value = obj.get(key, default)
    if value is ...:
        raise FieldError(key, "missing")
    if value is default:
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FieldError(key, f"{value!r} is not a number")
    return value


def _str(obj: dict[str, Any], key: str, default: Any = ...) -> Any:
    value = obj.get(key, default)
    if value is ...:
        raise FieldError(key, "missing")
    if value is not default and not isinstance(value, str):
        raise FieldError(key, f"{value!r} is not a string")
    return value


def _present(obj: dict[str, Any]) -> dict[str, Any]:
    """The fields that carry a value: forwarders print `null` for what they do not know."""
    return {k: v for k, v in obj.items() if v is not None}


def _freq_hz(obj: dict[str, Any]) -> int:
    freq = _num(obj, "freq")
    if freq >= FREQ_HZ_THRESHOLD:
        return round(freq)
    if not freq > 0:
        raise FieldError("freq", f"{freq} MHz out of range")
    return round(freq * 1_000_000)


def _modulation(
    obj: dict[str, Any], received: bool = False
) -> tuple[str, str | int, str | None]:
    """(modu, datr, codr); `received` also admits what only an rxpk carries: the forwarder's
    false-sync "OFF" coding rate, no `codr` at all, and other modulations (LR-FHSS), whose
    `datr`/`codr` are kept as sent for the server to filter."""
    modu = _str(obj, "modu", "LORA")
    if modu == "LORA":
        datr = _str(obj, "datr")
        if not LORA_DATARATE.fullmatch(datr):
            raise FieldError("datr", f"{datr!r} is not SFnBWm")
        codr = _str(obj, "codr", None) if received else _str(obj, "codr")
        if codr is not None and not (
            _CODR.fullmatch(codr) or (received and codr == CODR_FALSE_SYNC)
        ):
            raise FieldError("codr", repr(codr))
        return modu, datr, codr
    if modu == "FSK":
        return modu, _int(obj, "datr", 1, 1_000_000), None
    if received:
        datr = obj.get("datr", "")
        if isinstance(datr, bool) or not isinstance(datr, str | int):
            raise FieldError("datr", repr(datr))
        return modu, datr, _str(obj, "codr", None)
    raise FieldError("modu", repr(modu))


def _payload(obj: dict[str, Any]) -> bytes:
    text = _str(obj, "data").translate(_URL_SAFE)  # either alphabet; padding may be missing
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise FieldError("data", "not base64") from None
    size = _int(obj, "size", 0, LORA_MAX_PAYLOAD_BYTES)
    if size != len(data):
        raise FieldError("size", f"{size} but data holds {len(data)} bytes")
    return data


def _time(obj: dict[str, Any]) -> datetime | None:
    text = _str(obj, "time", None)
    if text is None:
        return None
    # Python reads at most 6 fraction digits; some forwarders print 9.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6], text, count=1).replace("Z", "+00:00")
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise FieldError("time", f"{text[:40]!r} is not ISO 8601") from None
    return stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _parse_rsig(obj: Any) -> Rsig:
    if not isinstance(obj, dict):
        raise FieldError("rsig", "entry is not an object")
    obj = _present(obj)
    return Rsig(
        ant=_int(obj, "ant", 0, 255, 0),
        chan=_int(obj, "chan", 0, 255, 0),
        rssic=_num(obj, "rssic"),
        rssis=_num(obj, "rssis", None),
        lsnr=_num(obj, "lsnr", None),
    )


def rxpk_from_json(obj: Any) -> Rxpk:
    if not isinstance(obj, dict):
        raise FieldError("rxpk", "entry is not an object")
    obj = _present(obj)
    modu, datr, codr = _modulation(obj, received=True)
    rsig = obj.get("rsig", [])
    if not isinstance(rsig, list):
        raise FieldError("rsig", "not an array")
    rxpk = Rxpk(
        tmst=_int(obj, "tmst", 0, TMST_MODULUS - 1),
        freq_hz=_freq_hz(obj),
        stat=_int(obj, "stat", -1, 1, 0),
        datr=datr,
        data=_payload(obj),
        modu=modu,
        codr=codr,
        chan=_int(obj, "chan", 0, 255, 0),
        rfch=_int(obj, "rfch", 0, 255, 0),
        rssi=_num(obj, "rssi", None),
        rssis=_num(obj, "rssis", None),
        lsnr=_num(obj, "lsnr", None),
        rsig=tuple(_parse_rsig(r) for r in rsig),
        time=_time(obj),
        tmms=_int(obj, "tmms", 0, 1 << 63, None),
    )
    if rxpk.signal()[0] is None:
        raise FieldError("rssi", "no rssi, rssis or rsig")
    return rxpk


def stat_from_json(obj: Any) -> Stat:
    if not isinstance(obj, dict):
        raise TypeError("stat is not an object")
    obj = _present(obj)
    counts = {k: _int(obj, k, 0, 1 << 32, None) for k in ("rxnb", "rxok", "rxfw", "dwnb", "txnb")}
    return Stat(
        time=_str(obj, "time", None),
        lati=_num(obj, "lati", None),
        long=_num(obj, "long", None),
        alti=_int(obj, "alti", -100_000, 100_000, None),
        ackr=_num(obj, "ackr", None),
        temp=_num(obj, "temp", None),
        **counts,
    )


def txpk_from_json(obj: Any) -> Txpk:
    if not isinstance(obj, dict):
        raise TypeError("txpk is not an object")
    modu, datr, codr = _modulation(obj)
    imme = obj.get("imme", False)
    if not isinstance(imme, bool):
        raise ValueError("imme is not a boolean")
    tmst = _int(obj, "tmst", 0, TMST_MODULUS - 1, None)
    tmms = _int(obj, "tmms", 0, 1 << 63, None)
    if not imme and tmst is None and tmms is None:
        raise ValueError("neither imme, tmst nor tmms")
    ipol, ncrc = obj.get("ipol", False), obj.get("ncrc")
    if not isinstance(ipol, bool) or not isinstance(ncrc, bool | None):
        raise ValueError("ipol/ncrc are not booleans")
    return Txpk(
        freq_hz=_freq_hz(obj),
        powe=_int(obj, "powe", *TX_POWER_RANGE_DBM),
        datr=datr,
        data=_payload(obj),
        imme=imme,
        tmst=tmst,
        tmms=tmms,
        rfch=_int(obj, "rfch", 0, 255, 0),
        modu=modu,
        codr=codr,
        ipol=ipol,
        prea=_int(obj, "prea", 6, 65_535, None),
        ncrc=ncrc,
    )


def txpk_ack_from_json(body: dict[str, Any]) -> tuple[str | None, str | None, int | None]:
    """(error, warn, value) of a TX_ACK's JSON; all None for `{}`."""
    ack = body.get("txpk_ack", {})
    if not isinstance(ack, dict):
        raise TypeError("txpk_ack is not an object")
    ack_error, warn = _str(ack, "error", None), _str(ack, "warn", None)
    value = _int(ack, "value", *TX_POWER_RANGE_DBM, None)
    if warn == "TX_POWER" and value is None:
        raise ValueError("TX_POWER warning without the power used")
    return ack_error, warn, value


# --- encoding ---


def _fields(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def rxpk_to_json(r: Rxpk) -> dict[str, Any]:
    out: dict[str, Any] = {"tmst": r.tmst}
    if r.time is not None:
        out["time"] = r.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if r.tmms is not None:
        out["tmms"] = r.tmms
    out |= {"chan": r.chan, "rfch": r.rfch, "freq": r.freq_hz / 1_000_000, "stat": r.stat,
            "modu": r.modu, "datr": r.datr}
    if r.codr is not None:
        out["codr"] = r.codr
    for key in ("rssi", "rssis", "lsnr"):
        if getattr(r, key) is not None:
            out[key] = getattr(r, key)
    if r.rsig:
        out["rsig"] = [{k: v for k, v in _fields(s).items() if v is not None} for s in r.rsig]
    out |= {"size": r.size, "data": _b64(r.data)}
    return out


def txpk_to_json(t: Txpk) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if t.imme:
        out["imme"] = True
    if t.tmst is not None:
        out["tmst"] = t.tmst
    if t.tmms is not None:
        out["tmms"] = t.tmms
    out |= {"freq": t.freq_hz / 1_000_000, "rfch": t.rfch, "powe": t.powe, "modu": t.modu,
            "datr": t.datr}
    if t.codr is not None:
        out["codr"] = t.codr
    out["ipol"] = t.ipol
    if t.prea is not None:
        out["prea"] = t.prea
    out |= {"size": t.size, "data": _b64(t.data)}
    if t.ncrc is not None:
        out["ncrc"] = t.ncrc
    return out


def stat_to_json(stat: Stat) -> dict[str, Any]:
    return {k: v for k, v in _fields(stat).items() if v is not None}
