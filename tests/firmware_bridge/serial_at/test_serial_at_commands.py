"""The AT tables and parsers, checked against the examples printed in the module manuals."""

from __future__ import annotations

import pytest

from firmware_bridge.errors import FrameError
from firmware_bridge.serial_at import commands as at


def test_rui3_p2p_matches_the_manual_example() -> None:
    # RUI3 AT Command Manual / RAK3172 quick start: 868 MHz, SF7, 125 kHz, 4/5, 10, 14 dBm.
    params = at.P2pParams(868_000_000, 7, 125_000, "4/5", 10, 14)
    assert at.rui3_p2p(params) == "AT+P2P=868000000:7:125:0:10:14"
    assert at.parse_rui3_p2p("868000000:7:125:0:10:14") == params
    assert at.rui3_p2p(at.P2pParams(868_100_000, 12, 500_000, "4/8", 8, 22)) == (
        "AT+P2P=868100000:12:500:3:8:22"
    )


@pytest.mark.parametrize(
    "value",
    ["868000000:7:125:0:10", "868000000:13:125:0:10:14", "868000000:7:62:0:10:14",
     "868000000:7:125:4:10:14", "868000000:7:125:0:10:30", "abc:7:125:0:10:14", "1:7:125:0:8:14"],
)
def test_rui3_p2p_rejects_bad_parameters(value: str) -> None:
    with pytest.raises(ValueError):
        at.parse_rui3_p2p(value)


def test_rui3_refuses_unencodable_settings() -> None:
    with pytest.raises(ValueError):
        at.rui3_p2p(at.P2pParams(868_000_000, 7, 62_500))
    with pytest.raises(ValueError):
        at.rui3_p2p(at.P2pParams(868_000_000, 7, 125_000, code_rate="2/3"))


def test_rui3_receive_events_both_forms() -> None:
    new = at.parse_rui3_rx("+EVT:RXP2P:-43:6:1234ABCD")
    assert new == at.Rui3Rx(-43, 6, bytes.fromhex("1234abcd"))
    # The manual's example of the older two-line form.
    header = at.parse_rui3_rx("+EVT:RXP2P, RSSI -54, SNR 12")
    assert header == at.Rui3Rx(-54, 12, None)
    assert at.parse_rui3_evt_hex("+EVT:30313334") == b"0134"
    assert at.parse_rui3_rx("+EVT:RXP2P RECEIVE TIMEOUT") is None
    assert at.parse_rui3_rx("+EVT:TXP2P DONE") is None
    with pytest.raises(FrameError):
        at.parse_rui3_rx("+EVT:RXP2P:-43:6:123")      # odd number of hex digits


def test_rui3_rx_line_round_trip() -> None:
    for two_line in (False, True):
        lines = at.rui3_rx_line(-101, -7, b"\x01\xff", two_line)
        first = at.parse_rui3_rx(lines[0])
        assert first is not None and (first.rssi_dbm, first.snr_db) == (-101, -7)
        payload = first.payload if not two_line else at.parse_rui3_evt_hex(lines[1])
        assert payload == b"\x01\xff"


def test_rui3_banner() -> None:
    assert at.is_rui3_banner("RAKwireless RAK3172-E Example")
    assert at.is_rui3_banner("Current Work Mode: LoRa P2P.")
    assert not at.is_rui3_banner("OK")
    assert not at.is_rui3_banner("+EVT:TXP2P DONE")


def test_rn_radio_setup_lines() -> None:
    lines = at.rn_radio_setup(at.P2pParams(868_100_000, 12, 125_000, "4/5", 8, 14))
    assert "radio set freq 868100000" in lines
    assert "radio set sf sf12" in lines
    assert "radio set bw 125" in lines
    assert "radio set cr 4/5" in lines
    assert "radio set pwr 14" in lines
    assert "radio set crc on" in lines
    assert "radio set prlen 8" in lines
    assert "radio set iqi off" in lines
    assert "radio set sync 34" in lines
    with pytest.raises(ValueError):
        at.rn_radio_setup(at.P2pParams(868_100_000, 12, 62_500))


def test_rn_parsers() -> None:
    # DS40001784: `radio_rx  <data>` with two spaces; `sys get ver` answer.
    assert at.parse_rn_rx("radio_rx  48656C6C6F") == b"Hello"
    assert at.parse_rn_rx("radio_rx 48656C6C6F") == b"Hello"
    assert at.parse_rn_rx("radio_tx_ok") is None
    with pytest.raises(FrameError):
        at.parse_rn_rx("radio_rx  4865F")
    assert at.rn_banner_version("RN2483 1.0.5 Oct 31 2019 15:24:46") == "1.0.5"
    assert at.rn_banner_version("RN2903 1.0.5 Oct 31 2019 15:24:46") is None
    assert at.parse_rn_int("-12") == -12
    assert at.parse_rn_int("invalid_param") is None


def test_check_payload() -> None:
    assert at.check_payload(b"\x00\xab") == "00AB"
    with pytest.raises(ValueError):
        at.check_payload(b"")
    with pytest.raises(ValueError):
        at.check_payload(bytes(256))
