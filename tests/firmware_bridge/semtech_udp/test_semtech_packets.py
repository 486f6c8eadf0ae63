"""GWMP codec against the shared test vectors (Semtech PROTOCOL.TXT / sx1302_hal) and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.errors import FrameError
from firmware_bridge.semtech_udp import packets as p

VECTORS_PATH = Path(__file__).resolve().parent / "data" / "gwmp_test_vectors.json"
VECTORS = json.loads(VECTORS_PATH.read_text())
BY_NAME = {v["name"]: bytes.fromhex(v["hex"]) for v in VECTORS}
EUI = bytes.fromhex("b827ebfffe010203")
KINDS = {"PushData": p.PushData, "PushAck": p.PushAck, "PullData": p.PullData,
         "PullAck": p.PullAck, "PullResp": p.PullResp, "TxAck": p.TxAck}
# Datagrams whose JSON our encoder writes in the same key order and spacing: byte-exact.
EXACT = {"push_data_stat_only_no_gps", "push_ack", "pull_data", "pull_ack", "pull_resp_imme",
         "pull_resp_tmst_us915_rx2", "tx_ack_ok_empty", "tx_ack_ok_none", "tx_ack_too_late",
         "tx_ack_warn_txpower"}


def test_vectors_file_is_complete() -> None:
    assert len(VECTORS) == 13
    assert {v["kind"] for v in VECTORS} == set(KINDS) | {"REJECTED"}


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_every_vector_parses_and_rebuilds(vector: dict[str, str]) -> None:
    raw = bytes.fromhex(vector["hex"])
    if vector["kind"] == "REJECTED":
        # PROTOCOL.TXT's own example mixes the URL-safe alphabet into `data`; a strict
        # decoder (pamoja) rejects it, we read it as the forwarders that print it mean it.
        packet = p.parse(raw)
        assert isinstance(packet, p.PushData) and packet.rejected == ()
        (rx,) = packet.rxpk
        assert rx.size == 32 and rx.data[:2] == bytes.fromhex("f834")
        return
    packet = p.parse(raw)
    assert type(packet) is KINDS[vector["kind"]]
    assert packet.token == int.from_bytes(raw[1:3], "big")
    rebuilt = packet.build()
    assert p.parse(rebuilt) == packet
    if vector["name"] in EXACT:
        assert rebuilt == raw


def test_sx1302_rxpk_fields() -> None:
    packet = p.parse(BY_NAME["push_data_sx1302_style"])
    assert isinstance(packet, p.PushData)
    assert packet.gateway_eui == EUI
    (rx,) = packet.rxpk
    assert rx.tmst == 3512348611
    assert rx.freq_hz == 866_349_812
    assert rx.datr == "SF7BW125" and rx.codr == "4/6"
    assert rx.data == b"hello" and rx.size == 5
    assert rx.crc_ok
    assert rx.time == datetime(2020, 10, 1, 9, 30, 52, 592567, tzinfo=UTC)
    assert rx.tmms == 1285579871592
    assert rx.signal() == (-36, 5.1)  # rssis wins over rssi (-35)
    assert packet.stat is not None and packet.stat.lati == 46.24 and packet.stat.temp == 23.2


def test_sx1301_rxpk_and_crc_fail() -> None:
    packet = p.parse(BY_NAME["push_data_crc_fail"])
    assert isinstance(packet, p.PushData)
    (rx,) = packet.rxpk
    assert rx.stat == -1 and not rx.crc_ok
    assert rx.signal() == (-121, -13.2)
    assert rx.time is None and rx.freq_hz == 904_100_000


def test_stat_only_push_data() -> None:
    packet = p.parse(BY_NAME["push_data_stat_only_no_gps"])
    assert isinstance(packet, p.PushData)
    assert packet.rxpk == ()
    assert packet.stat == p.Stat(time="2024-05-01 12:00:00 UTC", rxnb=0, rxok=0, rxfw=0,
                                 ackr=0.0, dwnb=0, txnb=0, temp=41.0)


def test_rsig_array_prefers_strongest_antenna_signal_rssi() -> None:
    body = {"rxpk": [{"tmst": 1, "freq": 868.1, "stat": 1, "modu": "LORA", "datr": "SF12BW125",
                      "codr": "4/5", "size": 1, "data": "AA==",
                      "rsig": [{"ant": 0, "chan": 0, "rssic": -100, "rssis": -110, "lsnr": -3.0},
                               {"ant": 1, "chan": 0, "rssic": -98, "rssis": -104, "lsnr": 2.5}]}]}
    packet = p.parse(b"\x02\x00\x01\x00" + EUI + json.dumps(body).encode())
    assert isinstance(packet, p.PushData)
    assert packet.rxpk[0].signal() == (-104, 2.5)
    assert p.parse(packet.build()) == packet


def test_pull_resp_fields() -> None:
    packet = p.parse(BY_NAME["pull_resp_tmst_us915_rx2"])
    assert isinstance(packet, p.PullResp)
    tx = packet.txpk
    assert (tx.tmst, tx.freq_hz, tx.powe, tx.datr, tx.ipol, tx.prea, tx.ncrc) == (
        3512348611, 923_300_000, 27, "SF12BW500", True, 8, True)
    assert not tx.imme and tx.data == b"\x01\x02\x03"


def test_tx_ack_forms() -> None:
    empty, none, late, warn = (p.parse(BY_NAME[n]) for n in (
        "tx_ack_ok_empty", "tx_ack_ok_none", "tx_ack_too_late", "tx_ack_warn_txpower"))
    assert isinstance(empty, p.TxAck) and empty.ok and empty.error is None
    assert isinstance(none, p.TxAck) and none.ok and none.error == "NONE"
    assert isinstance(late, p.TxAck) and not late.ok and late.error == "TOO_LATE"
    assert isinstance(warn, p.TxAck) and warn.ok and (warn.warn, warn.value) == ("TX_POWER", 20)


def test_tmst_wrap_arithmetic() -> None:
    assert p.tmst_diff_us(5, 2**32 - 5) == 10
    assert p.tmst_diff_us(2**32 - 5, 5) == -10
    assert p.tmst_add_us(2**32 - 1, 2) == 1
    assert p.tmst_diff_us(p.tmst_add_us(4_000_000_000, 1_000_000_000), 4_000_000_000) == 10**9


def _push(body: object) -> bytes:
    return b"\x02\x12\x34\x00" + EUI + json.dumps(body).encode()


GOOD_RXPK = {"tmst": 1, "freq": 868.1, "stat": 1, "modu": "LORA", "datr": "SF7BW125",
             "codr": "4/5", "rssi": -80, "lsnr": 9.0, "size": 3, "data": "AQID"}


@pytest.mark.parametrize(
    ("datagram", "reason"),
    [
        (b"", "truncated"),
        (b"\x02\x00", "truncated"),
        (b"\x01\x00\x00\x02" + EUI, "bad_version"),
        (b"\x03\x00\x00\x02" + EUI, "bad_version"),
        (b"\x02\x00\x00\x09", "unknown_type"),
        (b"\x02\x00\x00\x00\xb8\x27", "truncated"),
        (b"\x02\x00\x00\x02" + EUI[:7], "truncated"),
        (b"\x02\x00\x00\x02" + EUI + b"x", "bad_length"),
        (b"\x02\x00\x00\x01extra", "bad_length"),
        (b"\x02\x00\x00\x00" + EUI + b'{"rxpk":[', "bad_json"),
        (b"\x02\x00\x00\x00" + EUI + b"\xff\xfe", "bad_json"),
        (b"\x02\x00\x00\x00" + EUI + b"[1,2]", "bad_json"),
        (b"\x02\x00\x00\x00" + EUI + b'{"rxpk":[{"tmst":NaN}]}', "bad_json"),
        (b"\x02\x00\x00\x00" + EUI + b"[" * 100_000, "oversized"),
        (b"\x02\x00\x00\x00" + EUI + b"[" * 60_000, "bad_json"),
        (_push({"rxpk": {"tmst": 1}}), "bad_rxpk"),
        (b"\x02\x00\x01\x03" + b'{"txpk":{"freq":868.1}}', "bad_txpk"),
        (b"\x02\x00\x01\x03" + b'{"nottxpk":{}}', "bad_txpk"),
        (b"\x02\x00\x01\x05" + EUI + b'{"txpk_ack":{"warn":"TX_POWER"}}', "bad_tx_ack"),
        (b"\x02\x00\x01\x05" + EUI + b'{"txpk_ack":"NONE"}', "bad_tx_ack"),
    ],
)
def test_bad_datagrams_raise_one_clear_error(datagram: bytes, reason: str) -> None:
    with pytest.raises(p.MalformedDatagram) as info:
        p.parse(datagram)
    assert info.value.reason == reason
    assert isinstance(info.value, FrameError)


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (GOOD_RXPK | {"size": 4}, "bad_rxpk_size"),
        (GOOD_RXPK | {"tmst": 2**32}, "bad_rxpk_tmst"),
        (GOOD_RXPK | {"tmst": -1}, "bad_rxpk_tmst"),
        ({k: v for k, v in GOOD_RXPK.items() if k != "tmst"}, "bad_rxpk_tmst"),
        (GOOD_RXPK | {"datr": "SF13BW125"}, "bad_rxpk_datr"),
        (GOOD_RXPK | {"stat": 2}, "bad_rxpk_stat"),
        (GOOD_RXPK | {"freq": "868.1"}, "bad_rxpk_freq"),
        (GOOD_RXPK | {"freq": 0}, "bad_rxpk_freq"),
        (GOOD_RXPK | {"data": "AQI$"}, "bad_rxpk_data"),
        (GOOD_RXPK | {"rssi": True}, "bad_rxpk_rssi"),
        (GOOD_RXPK | {"rssi": 10**400}, "bad_rxpk"),   # no float holds it
        (GOOD_RXPK | {"rssi": None}, "bad_rxpk_rssi"),  # null is absent: no signal at all
        ({k: v for k, v in GOOD_RXPK.items() if k != "rssi"}, "bad_rxpk_rssi"),
        (GOOD_RXPK | {"time": "yesterday"}, "bad_rxpk_time"),
        (GOOD_RXPK | {"codr": "4/9"}, "bad_rxpk_codr"),
        (GOOD_RXPK | {"rsig": [1]}, "bad_rxpk_rsig"),
        ([1], "bad_rxpk_rxpk"),
    ],
)
def test_a_bad_rxpk_is_rejected_alone_and_its_neighbours_kept(entry: object, reason: str) -> None:
    packet = p.parse(_push({"rxpk": [GOOD_RXPK, entry, GOOD_RXPK | {"tmst": 2}]}))
    assert isinstance(packet, p.PushData)
    assert [rx.tmst for rx in packet.rxpk] == [1, 2]
    assert packet.rejected == (reason,)


def test_a_bad_stat_keeps_the_frames() -> None:
    packet = p.parse(_push({"rxpk": [GOOD_RXPK], "stat": [1]}))
    assert isinstance(packet, p.PushData)
    assert len(packet.rxpk) == 1 and packet.stat is None
    assert packet.bad_stat and packet.rejected == ()


# The variants real forwarders send (issue 14): each decodes to the same frame as GOOD_RXPK.
TOLERATED = {
    "json_null": GOOD_RXPK | {"time": None, "tmms": None, "rssis": None, "rsig": None},
    "freq_in_hz": GOOD_RXPK | {"freq": 868_100_000},
    "url_safe_base64": GOOD_RXPK | {"size": 3, "data": "-_-_"},
    "no_codr": {k: v for k, v in GOOD_RXPK.items() if k != "codr"},
}


@pytest.mark.parametrize("variant", sorted(TOLERATED))
def test_forwarder_variants_are_accepted(variant: str) -> None:
    packet = p.parse(_push({"rxpk": [TOLERATED[variant]]}))
    assert isinstance(packet, p.PushData) and packet.rejected == ()
    (rx,) = packet.rxpk
    assert (rx.tmst, rx.freq_hz, rx.datr, rx.signal()) == (1, 868_100_000, "SF7BW125",
                                                           (-80, 9.0))
    # RFC 4648 §5: '-' is 62 (111110) and '_' 63 (111111): "-_-_" holds the bytes fb ff bf.
    url_safe = bytes.fromhex("fbffbf")
    assert rx.data == (url_safe if variant == "url_safe_base64" else b"\x01\x02\x03")
    assert rx.codr == (None if variant == "no_codr" else "4/5")


def test_lr_fhss_is_decoded_for_the_server_to_filter() -> None:
    # sx1302_hal 2.x (SX1303) prints LR-FHSS uplinks with their own datr and codr words.
    lr_fhss = GOOD_RXPK | {"modu": "LR-FHSS", "datr": "M0CW137", "codr": "1/3"}
    packet = p.parse(_push({"rxpk": [lr_fhss, GOOD_RXPK]}))
    assert isinstance(packet, p.PushData) and packet.rejected == ()
    assert [rx.modu for rx in packet.rxpk] == ["LR-FHSS", "LORA"]


def test_push_ack_comes_from_the_header_alone() -> None:
    assert p.push_ack_for(b"\x02\xab\xcd\x00" + EUI + b"{not json") == p.PushAck(0xABCD)
    assert p.push_ack_for(b"\x02\xab\xcd\x00" + EUI) == p.PushAck(0xABCD)
    assert p.push_ack_for(b"\x02\xab\xcd\x00" + EUI[:7]) is None   # header incomplete
    assert p.push_ack_for(b"\x01\xab\xcd\x00" + EUI) is None       # not version 2
    assert p.push_ack_for(b"\x02\xab\xcd\x02" + EUI) is None       # PULL_DATA


def test_nanosecond_time_and_missing_padding_are_accepted() -> None:
    rx = GOOD_RXPK | {"time": "2024-01-02T03:04:05.123456789Z", "size": 2, "data": "AQI"}
    packet = p.parse(_push({"rxpk": [rx]}))
    assert isinstance(packet, p.PushData)
    assert packet.rxpk[0].time == datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert packet.rxpk[0].data == b"\x01\x02"


def test_build_refuses_bad_header_values() -> None:
    with pytest.raises(ValueError):
        p.PushAck(0x10000).build()
    with pytest.raises(ValueError):
        p.PullData(1, b"short").build()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_as_other_errors(data: bytes) -> None:
    for datagram in (data, b"\x02" + data, b"\x02\x00\x00\x00" + EUI + data):
        try:
            p.parse(datagram)
        except p.MalformedDatagram:
            pass


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(st.sampled_from([*sorted(GOOD_RXPK), "rsig", "rxpk"]), kids,
                                      max_size=6), max_leaves=20))
def test_arbitrary_json_never_escapes_as_other_errors(body: object) -> None:
    for wrapped in ({"rxpk": [body]}, {"rxpk": body}, {"stat": body}, body):
        raw = json.dumps(wrapped).encode()
        for datagram in (b"\x02\x00\x00\x00" + EUI + raw, b"\x02\x00\x00\x03" + raw,
                         b"\x02\x00\x00\x05" + EUI + raw):
            try:
                p.parse(datagram)
            except p.MalformedDatagram:
                pass


def test_false_sync_with_codr_off_does_not_sink_the_datagram() -> None:
    # Semtech's packet_forwarder and sx1302_hal's lora_pkt_fwd print `"codr":"OFF"` for a
    # coding rate of 0 ("mostly false sync"). That is the forwarder's own output, not a
    # malformed datagram: refusing it dropped every other frame of the same PUSH_DATA.
    false_sync = GOOD_RXPK | {"codr": "OFF", "stat": -1, "tmst": 2}
    packet = p.parse(_push({"rxpk": [false_sync, GOOD_RXPK]}))
    assert isinstance(packet, p.PushData)
    assert [(r.tmst, r.codr, r.crc_ok) for r in packet.rxpk] == [
        (2, "OFF", False),
        (1, "4/5", True),
    ]
