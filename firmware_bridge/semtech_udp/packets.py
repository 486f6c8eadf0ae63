"""GWMP v2, the Semtech UDP packet-forwarder protocol: one codec for the server and the fake.

Source: Semtech packet_forwarder PROTOCOL.TXT (v2) §3-§6 and sx1302_hal `lora_pkt_fwd`.
Every header is `version(1) token(2) identifier(1)`; PUSH_DATA, PULL_DATA and TX_ACK add the
8-byte gateway EUI; PUSH_DATA, PULL_RESP and TX_ACK carry a JSON object after the header,
whose `rxpk` / `stat` / `txpk` / `txpk_ack` objects are decoded by `records` (re-exported here,
so users import one module).

`parse()` is total: whatever the bytes, it returns a packet or raises `MalformedDatagram`
whose `reason` is a short code the server counts. One bad `rxpk` does not spoil a PUSH_DATA:
each entry is decoded on its own, and the ones that fail are listed by reason in
`PushData.rejected` beside the good ones (a beacon must not be lost to its neighbour).
`push_ack_for()` answers a PUSH_DATA from its header alone, before any JSON is read, as the
protocol text asks. Nothing here does I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from firmware_bridge.errors import FrameError
from firmware_bridge.semtech_udp.records import (
    LORA_DATARATE,
    LORA_MAX_PAYLOAD_BYTES,
    TMST_MODULUS,
    TX_POWER_RANGE_DBM,
    FieldError,
    Rsig,
    Rxpk,
    Stat,
    Txpk,
    rxpk_from_json,
    rxpk_to_json,
    stat_from_json,
    stat_to_json,
    tmst_add_us,
    tmst_diff_us,
    txpk_ack_from_json,
    txpk_from_json,
    txpk_to_json,
)

__all__ = [
    "EUI_BYTES", "LORA_DATARATE", "LORA_MAX_PAYLOAD_BYTES", "PROTOCOL_VERSION", "TMST_MODULUS",
    "TX_ACK_ERRORS", "TX_ACK_OK", "TX_POWER_RANGE_DBM", "UDP_MAX_PAYLOAD_BYTES",
    "MalformedDatagram", "Packet", "PacketType", "PullAck", "PullData", "PullResp", "PushAck",
    "PushData", "Rsig", "Rxpk", "Stat", "TxAck", "Txpk", "parse", "push_ack_for", "tmst_add_us",
    "tmst_diff_us",
]

PROTOCOL_VERSION = 2
HEADER_BYTES = 4
EUI_BYTES = 8
UDP_MAX_PAYLOAD_BYTES = 65_507  # largest IPv4 UDP payload: 65535 - 8 (UDP) - 20 (IP)

# TX_ACK `error` words (PROTOCOL.TXT §6; sx1302_hal adds GPS_UNLOCKED). "NONE" is success.
TX_ACK_ERRORS = frozenset(
    {"TOO_LATE", "TOO_EARLY", "COLLISION_PACKET", "COLLISION_BEACON", "TX_FREQ", "TX_POWER",
     "GPS_UNLOCKED"}
)
TX_ACK_OK = "NONE"


class PacketType(IntEnum):
    PUSH_DATA = 0
    PUSH_ACK = 1
    PULL_DATA = 2
    PULL_RESP = 3
    PULL_ACK = 4
    TX_ACK = 5


class MalformedDatagram(FrameError):
    """A datagram that is not valid GWMP v2; `reason` names what was wrong, for counting."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PushData:
    token: int
    gateway_eui: bytes
    rxpk: tuple[Rxpk, ...] = ()
    stat: Stat | None = None
    rejected: tuple[str, ...] = ()  # the reason of each rxpk entry that could not be decoded
    bad_stat: bool = False  # a `stat` came but could not be decoded (the frames stand)

    def build(self) -> bytes:
        body: dict[str, Any] = {}
        if self.rxpk:
            body["rxpk"] = [rxpk_to_json(r) for r in self.rxpk]
        if self.stat is not None:
            body["stat"] = stat_to_json(self.stat)
        return _header(self.token, PacketType.PUSH_DATA, self.gateway_eui) + _dumps(body)


@dataclass(frozen=True, slots=True)
class PushAck:
    token: int

    def build(self) -> bytes:
        return _header(self.token, PacketType.PUSH_ACK)


@dataclass(frozen=True, slots=True)
class PullData:
    token: int
    gateway_eui: bytes

    def build(self) -> bytes:
        return _header(self.token, PacketType.PULL_DATA, self.gateway_eui)


@dataclass(frozen=True, slots=True)
class PullAck:
    token: int

    def build(self) -> bytes:
        return _header(self.token, PacketType.PULL_ACK)


@dataclass(frozen=True, slots=True)
class PullResp:
    token: int
    txpk: Txpk

    def build(self) -> bytes:
        return _header(self.token, PacketType.PULL_RESP) + _dumps({"txpk": txpk_to_json(self.txpk)})


@dataclass(frozen=True, slots=True)
class TxAck:
    """The forwarder's answer to a PULL_RESP. No JSON at all (sx1302_hal) is also success."""

    token: int
    gateway_eui: bytes
    error: str | None = None
    warn: str | None = None
    value: int | None = None

    @property
    def ok(self) -> bool:
        return self.error in (None, TX_ACK_OK)

    def build(self) -> bytes:
        head = _header(self.token, PacketType.TX_ACK, self.gateway_eui)
        ack = {k: v for k, v in (("error", self.error), ("warn", self.warn), ("value", self.value))
               if v is not None}
        return head + _dumps({"txpk_ack": ack}) if ack else head


Packet = PushData | PushAck | PullData | PullAck | PullResp | TxAck


def parse(datagram: bytes) -> Packet:
    """Decode one datagram; raise `MalformedDatagram` for anything that is not GWMP v2."""
    if len(datagram) > UDP_MAX_PAYLOAD_BYTES:
        raise MalformedDatagram("oversized", f"{len(datagram)} bytes")
    if len(datagram) < HEADER_BYTES:
        raise MalformedDatagram("truncated", f"{len(datagram)} bytes")
    if datagram[0] != PROTOCOL_VERSION:
        raise MalformedDatagram("bad_version", f"version {datagram[0]}")
    token = int.from_bytes(datagram[1:3], "big")
    try:
        kind = PacketType(datagram[3])
    except ValueError:
        raise MalformedDatagram("unknown_type", f"identifier {datagram[3]}") from None
    if kind in (PacketType.PUSH_ACK, PacketType.PULL_ACK):
        if len(datagram) != HEADER_BYTES:
            raise MalformedDatagram("bad_length", f"{kind.name} of {len(datagram)} bytes")
        return PushAck(token) if kind is PacketType.PUSH_ACK else PullAck(token)
    if kind is PacketType.PULL_RESP:
        body = _loads(datagram[HEADER_BYTES:])
        return PullResp(token, _guard(txpk_from_json, body.get("txpk"), "bad_txpk"))
    end = HEADER_BYTES + EUI_BYTES
    if len(datagram) < end:
        raise MalformedDatagram("truncated", f"{kind.name} without gateway EUI")
    eui = bytes(datagram[HEADER_BYTES:end])
    rest = datagram[end:]
    if kind is PacketType.PULL_DATA:
        if rest:
            raise MalformedDatagram("bad_length", "PULL_DATA with trailing bytes")
        return PullData(token, eui)
    if kind is PacketType.TX_ACK:
        rest = rest.strip(b" \t\r\n\x00")
        if not rest:
            return TxAck(token, eui)
        ack = _guard(txpk_ack_from_json, _loads(rest), "bad_tx_ack")
        return TxAck(token, eui, *ack)
    body = _loads(rest)
    rxpk = body.get("rxpk") or []
    if not isinstance(rxpk, list):
        raise MalformedDatagram("bad_rxpk", "rxpk is not an array")
    good: list[Rxpk] = []
    rejected: list[str] = []
    for entry in rxpk:
        try:
            good.append(rxpk_from_json(entry))
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            rejected.append(_rxpk_reason(exc))
    stat: Stat | None = None
    bad_stat = False
    if (raw_stat := body.get("stat")) is not None:
        try:
            stat = stat_from_json(raw_stat)
        except (ValueError, TypeError, KeyError, OverflowError):
            bad_stat = True
    return PushData(token, eui, tuple(good), stat, tuple(rejected), bad_stat)


def push_ack_for(datagram: bytes) -> PushAck | None:
    """The PUSH_ACK a datagram with a well-formed PUSH_DATA header deserves, whatever its JSON
    (PROTOCOL.TXT §3.2: the server acknowledges immediately on reception)."""
    if (len(datagram) >= HEADER_BYTES + EUI_BYTES and datagram[0] == PROTOCOL_VERSION
            and datagram[3] == PacketType.PUSH_DATA):
        return PushAck(int.from_bytes(datagram[1:3], "big"))
    return None


def _rxpk_reason(exc: Exception) -> str:
    """A bounded set of counting labels: one per field the decoder names, else one."""
    return f"bad_rxpk_{exc.field}" if isinstance(exc, FieldError) else "bad_rxpk"


def _guard(fn: Any, arg: Any, reason: str) -> Any:
    """`fn(arg)`, with the decoders' ValueError/TypeError/KeyError as a counted reason."""
    try:
        return fn(arg)
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise MalformedDatagram(reason, str(exc)) from None


def _loads(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedDatagram("bad_json", str(exc)[:80]) from None
    if not isinstance(body, dict):
        raise MalformedDatagram("bad_json", "top level is not an object")
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# --- encoding ---


def _header(token: int, kind: PacketType, eui: bytes | None = None) -> bytes:
    if not 0 <= token <= 0xFFFF:
        raise ValueError(f"token {token} does not fit 16 bits")
    if eui is not None and len(eui) != EUI_BYTES:
        raise ValueError(f"gateway EUI must be {EUI_BYTES} bytes")
    return bytes((PROTOCOL_VERSION,)) + token.to_bytes(2, "big") + bytes((kind,)) + (eui or b"")


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()

