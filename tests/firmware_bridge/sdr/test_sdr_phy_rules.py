"""Known answers for the bit-level rules: whitening, CRC, header, Hamming, interleaver, Gray.

Expected values come from the LoRa PHY notes (CRC of DE AD BE EF, the first whitening bytes),
from LoRaPHY's published examples, and from the lora-phy package where it is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.sdr.phy import gray, hamming, header, interleaver
from firmware_bridge.sdr.phy.crc import crc_field, payload_crc
from firmware_bridge.sdr.phy.params import LoraParams, ParamError, parse_datarate
from firmware_bridge.sdr.phy.whitening import SEQUENCE, whiten
from tests.firmware_bridge.sdr.lora_phy_reference import load
from tests.fp_env import default_fp_env  # noqa: F401  (autouse)


def test_crc_known_answers() -> None:
    assert payload_crc(bytes.fromhex("DEADBEEF")) == 0xEC80
    assert crc_field(bytes.fromhex("DEADBEEF")) == bytes.fromhex("80EC")
    # LoRaPHY's example: (low, high) = (31, 139).
    assert crc_field(bytes([1, 2, 3, 4, 5, 45, 46, 47, 99, 127])) == bytes([31, 139])
    # Payloads of one and two bytes: the CRC of nothing (0) XOR the bytes themselves.
    assert crc_field(b"\x01") == bytes([1, 0])
    assert crc_field(b"\x12\x34") == bytes([0x34, 0x12])


def test_whitening_sequence() -> None:
    assert SEQUENCE[:6] == bytes.fromhex("FFFEFCF8F0E1")
    assert SEQUENCE[:16] == bytes.fromhex("FFFEFCF8F0E1C2850B172F5EBC78F1E3")
    assert len(set(SEQUENCE)) == 255          # a maximal-length LFSR visits every state once
    # LoRaPHY's example.
    data = bytes([1, 2, 3, 4, 5, 45, 46, 47, 99, 127])
    assert whiten(data) == bytes([254, 252, 255, 252, 245, 204, 236, 170, 104, 104])
    assert whiten(whiten(data)) == data
    with pytest.raises(ValueError):
        whiten(bytes(256))


def test_whitening_matches_reference() -> None:
    common = load("common")
    data = np.arange(255, dtype=np.uint8)
    expected = data.copy()
    common.dewhiten(expected)
    assert whiten(data.tobytes()) == expected.tobytes()


def test_header_checksum_against_reference() -> None:
    common = load("common")
    for length in (1, 16, 52, 255):
        for cr in range(1, 5):
            for crc in (False, True):
                nibbles = header.build(header.Header(length, cr, crc))
                bits = [(int(nibbles[i]) >> (3 - b)) & 1 for i in range(3) for b in range(4)]
                c = common.calc_checksum(np.array(bits, dtype=np.uint8))
                assert nibbles[3] == c[0]
                assert nibbles[4] == (c[1] << 3 | c[2] << 2 | c[3] << 1 | c[4])


def test_header_known_answers_and_rejections() -> None:
    # Checksums from LoRaPHY's checksum matrix. 52-byte beacon, CR 4/5, CRC on:
    assert list(header.build(header.Header(52, 1, True))) == [3, 4, 3, 0, 5]
    assert list(header.build(header.Header(16, 4, True))) == [1, 0, 9, 1, 0xF]
    assert list(header.build(header.Header(255, 2, False))) == [0xF, 0xF, 4, 0, 5]
    assert header.parse(np.array([3, 4, 3, 0, 5])) == header.Header(52, 1, True)
    for wrong in ([3, 4, 3, 0, 4], [3, 4, 3, 1, 5], [3, 5, 3, 0, 5]):
        with pytest.raises(header.HeaderError, match="checksum"):
            header.parse(np.array(wrong))
    zero = header.build(header.Header(1, 1, True))
    zero[:2] = 0
    c = header.checksum(zero)
    zero[3], zero[4] = c >> 4, c & 0xF
    with pytest.raises(header.HeaderError, match="empty"):
        header.parse(zero)
    bad_cr = np.array([3, 4, 0xB, 0, 0])
    c = header.checksum(bad_cr)
    bad_cr[3], bad_cr[4] = c >> 4, c & 0xF
    with pytest.raises(header.HeaderError, match="code rate"):
        header.parse(bad_cr)


def test_hamming_codewords_and_correction() -> None:
    # Nibble 0b0001: d0 = 1 -> p0 = 1, p1 = 0, p2 = 1, p3 = 1 (the notes' parity equations).
    assert list(hamming.encode([1], 4)[0]) == [1, 0, 0, 0, 1, 0, 1, 1]
    assert list(hamming.encode([1], 3)[0]) == [1, 0, 0, 0, 1, 0, 1]
    assert list(hamming.encode([1], 2)[0]) == [1, 0, 0, 0, 1, 0]
    assert list(hamming.encode([0xF], 1)[0]) == [1, 1, 1, 1, 0]
    assert list(hamming.encode([7], 1)[0]) == [1, 1, 1, 0, 1]
    nibbles = np.arange(16)
    for cr in (3, 4):                      # 4/7 and 4/8 correct any single bit error
        words = hamming.encode(nibbles, cr).astype(float)
        for bit in range(4 + cr):
            flipped = words.copy()
            flipped[:, bit] = 1 - flipped[:, bit]
            assert list(hamming.decode(2 * flipped - 1, cr)) == list(nibbles)
    for cr in range(1, 5):
        assert list(hamming.decode(2.0 * hamming.encode(nibbles, cr) - 1, cr)) == list(nibbles)


def test_interleaver_rule_and_inverse() -> None:
    rng = np.random.default_rng(0)
    k, w = 7, 5
    bits = rng.integers(0, 2, size=(k, w))
    symbols = interleaver.interleave(bits)
    for i in range(w):
        for r in range(k):
            assert symbols[i, r] == bits[(i + r) % k, i]
    assert np.array_equal(interleaver.deinterleave(symbols), bits)
    words = interleaver.bits_to_words(symbols)
    assert np.array_equal(interleaver.words_to_bits(words, k), symbols)


def test_gray_mapping_offset_by_one() -> None:
    sf = 7
    words = np.arange(128)
    symbols = gray.words_to_symbols(words, sf, reduced=False)
    # word = (bin − 1) XOR ((bin − 1) >> 1)
    assert np.array_equal(((symbols - 1) % 128) ^ (((symbols - 1) % 128) >> 1), words)
    assert gray.words_to_symbols(np.array([0]), sf, False)[0] == 1
    reduced = gray.words_to_symbols(np.arange(32), sf, reduced=True)
    assert np.array_equal(gray.symbols_to_words(reduced, sf, True), np.arange(32))
    assert np.array_equal(((reduced - 1) % 128) // 4, gray.gray_inverse(np.arange(32), 5))


@pytest.mark.parametrize(
    ("sf", "bw_hz", "ldro"),
    [(7, 125_000, False), (10, 125_000, False), (11, 125_000, True), (12, 125_000, True),
     (12, 250_000, True), (11, 250_000, False), (12, 500_000, False)],
)
def test_ldro_above_16_ms(sf: int, bw_hz: int, ldro: bool) -> None:
    assert LoraParams(sf, bw_hz).ldro is ldro


def test_symbol_count_formula() -> None:
    # 8 + max(ceil((2L − SF + 7 + 4·CRC) / (SF − 2·LDRO)) · (4 + CR), 0)
    assert LoraParams(7, cr=1).payload_symbols(16) == 8 + 6 * 5      # ceil(36 / 7) = 6
    assert LoraParams(12, cr=1).payload_symbols(52) == 8 + 11 * 5    # ceil(103 / 10) = 11
    assert LoraParams(12, cr=4).payload_symbols(1) == 8 + 1 * 8      # ceil(1 / 10) = 1
    assert LoraParams(12, cr=1, crc=False).payload_symbols(1) == 8   # ceil(−3 / 10) = 0
    assert LoraParams(8, cr=4).payload_symbols(1) == 16              # LoRaPHY's example


def test_params_validation() -> None:
    assert parse_datarate("SF9BW125") == (9, 125_000)
    for bad in ("SF6BW125", "SF7BW200", "sf7bw125", "SF13BW500"):
        with pytest.raises(ParamError):
            parse_datarate(bad)
    with pytest.raises(ParamError):
        LoraParams(7, cr=5)
    with pytest.raises(ParamError):
        LoraParams(7, sync_word=0x100)
