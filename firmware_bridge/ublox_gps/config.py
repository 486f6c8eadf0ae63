"""Configuration messages that make a u-blox receiver emit NAV-PVT once a second.

Two generations, two mechanisms (both built with pyubx2, never by hand):
- M9/M10/F9 (protocol >= 27): the configuration database, one CFG-VALSET with
  CFG-MSGOUT-UBX_NAV_PVT_UART1 = 1 and CFG-RATE-MEAS = 1000 ms
  (u-blox "u-blox F9 HPG 1.32 Interface Description" UBX-22008968, §3.10.26 CFG-VALSET, §6.9).
- M8 and older: CFG-MSG (rate 1 per navigation solution on UART1) and CFG-RATE
  (measRate 1000 ms, navRate 1, timeRef GPS) (UBX-13003221 §32.10.18, §32.10.27).
Each message is acknowledged by ACK-ACK or ACK-NAK with the message's class and id. When the
generation is unknown, `AUTO` sends both forms: a receiver NAKs the one it does not support.
"""

from __future__ import annotations

from enum import StrEnum

from pyubx2 import SET, SET_LAYER_RAM, UBXMessage

NAV_PVT_RATE_MS = 1000
_TRANSACTION_NONE = 0
_NAV_CLASS, _NAV_PVT_ID = 0x01, 0x07
_TIME_REF_GPS = 1


class Generation(StrEnum):
    """How a receiver takes configuration: configuration database (M9+) or legacy CFG-*."""

    M8 = "m8"      # and older: CFG-MSG / CFG-RATE
    M9 = "m9"      # M9, M10, F9, X20: CFG-VALSET
    AUTO = "auto"  # unknown receiver: both; it NAKs the form it does not understand


def nav_pvt_messages(generation: Generation | str, port: str = "UART1") -> list[UBXMessage]:
    """The messages to send, in order, to get NAV-PVT at 1 Hz on `port` (UART1 or USB)."""
    generation = Generation(generation)
    if port not in ("UART1", "USB"):
        raise ValueError(f"unsupported receiver port {port!r}")
    if generation is Generation.AUTO:
        return nav_pvt_messages(Generation.M9, port) + nav_pvt_messages(Generation.M8, port)
    if generation is Generation.M9:
        return [
            UBXMessage.config_set(
                SET_LAYER_RAM,
                _TRANSACTION_NONE,
                [(f"CFG_MSGOUT_UBX_NAV_PVT_{port}", 1), ("CFG_RATE_MEAS", NAV_PVT_RATE_MS)],
            )
        ]
    rates = {"rateUART1": 1} if port == "UART1" else {"rateUSB": 1}
    return [
        UBXMessage("CFG", "CFG-MSG", SET, msgClass=_NAV_CLASS, msgID=_NAV_PVT_ID, **rates),
        UBXMessage(
            "CFG", "CFG-RATE", SET, measRate=NAV_PVT_RATE_MS, navRate=1, timeRef=_TIME_REF_GPS
        ),
    ]


def nav_pvt_config_bytes(generation: Generation | str, port: str = "UART1") -> bytes:
    return b"".join(m.serialize() for m in nav_pvt_messages(generation, port))


def is_ack_for(msg: object, sent: UBXMessage) -> bool | None:
    """True for ACK-ACK, False for ACK-NAK of `sent`; None if `msg` is not about it."""
    identity = getattr(msg, "identity", "")
    if identity not in ("ACK-ACK", "ACK-NAK"):
        return None
    cls_id = sent.msg_cls + sent.msg_id
    if bytes([msg.clsID, msg.msgID]) != cls_id:  # type: ignore[attr-defined]
        return None
    return identity == "ACK-ACK"
