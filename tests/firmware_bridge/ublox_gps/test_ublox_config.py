"""NAV-PVT at 1 Hz: CFG-VALSET for M9/M10, CFG-MSG + CFG-RATE for M8, decoded back by pyubx2."""

from __future__ import annotations

import io

import pytest
from pyubx2 import SET, UBXMessage, UBXReader

from firmware_bridge.ublox_gps.config import (
    Generation,
    is_ack_for,
    nav_pvt_config_bytes,
    nav_pvt_messages,
)


def _decode(data: bytes) -> list[object]:
    return [p for _, p in UBXReader(io.BytesIO(data), msgmode=SET)]


def test_m9_uses_one_valset_in_ram() -> None:
    (msg,) = _decode(nav_pvt_config_bytes("m9"))
    assert msg.identity == "CFG-VALSET"
    assert msg.ram == 1 and msg.flash == 0
    assert msg.CFG_MSGOUT_UBX_NAV_PVT_UART1 == 1
    assert msg.CFG_RATE_MEAS == 1000


def test_m8_uses_cfg_msg_and_cfg_rate() -> None:
    cfg_msg, cfg_rate = _decode(nav_pvt_config_bytes(Generation.M8))
    assert cfg_msg.identity == "CFG-MSG"
    # UBX-13003221: NAV class 0x01, PVT id 0x07
    assert (cfg_msg.msgClass, cfg_msg.msgID, cfg_msg.rateUART1) == (1, 7, 1)
    assert cfg_rate.identity == "CFG-RATE"
    assert (cfg_rate.measRate, cfg_rate.navRate) == (1000, 1)


def test_usb_port_and_bad_arguments() -> None:
    (msg,) = _decode(nav_pvt_config_bytes("m9", port="USB"))
    assert msg.CFG_MSGOUT_UBX_NAV_PVT_USB == 1
    with pytest.raises(ValueError):
        nav_pvt_messages("m7")
    with pytest.raises(ValueError):
        nav_pvt_messages("m9", port="SPI")


def test_ack_matching() -> None:
    sent = nav_pvt_messages("m8")[0]
    ack = UBXMessage("ACK", "ACK-ACK", 0, clsID=0x06, msgID=0x01)
    nak = UBXMessage("ACK", "ACK-NAK", 0, clsID=0x06, msgID=0x01)
    other = UBXMessage("ACK", "ACK-ACK", 0, clsID=0x06, msgID=0x08)
    assert is_ack_for(ack, sent) is True
    assert is_ack_for(nak, sent) is False
    assert is_ack_for(other, sent) is None


def test_auto_sends_both_forms() -> None:
    identities = [m.identity for m in _decode(nav_pvt_config_bytes("auto"))]
    assert identities == ["CFG-VALSET", "CFG-MSG", "CFG-RATE"]
