"""The ChaCha core: against `cryptography`'s ChaCha20 and against published keystream vectors."""

from __future__ import annotations

import os
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from pocnet.chacha import (
    chacha_block,
    chacha_keystream,
    chacha_words,
    chacha_words_many,
    chacha_xor,
)

ZERO_KEY = bytes(32)


def _openssl_chacha20(key: bytes, counter: int, nonce: int, length: int) -> bytes:
    # cryptography's 16-byte ChaCha20 nonce is the djb state row 3 as bytes:
    # 8-byte little-endian block counter || 8-byte little-endian nonce.
    iv = counter.to_bytes(8, "little") + nonce.to_bytes(8, "little")
    return Cipher(algorithms.ChaCha20(key, iv), mode=None).encryptor().update(bytes(length))


@pytest.mark.parametrize(
    ("counter", "nonce", "length"),
    [
        (0, 0, 64),
        (0, 0, 204),  # 51 words: the beacon case
        (1, 0, 1),
        (7, 0x0123_4567_89AB_CDEF, 1000),
        # A non-zero high counter word: only the djb layout puts it next to the low word.
        ((0x5A5A_5A5A << 32) | 3, 0xFFFF_FFFF_FFFF_FFFF, 300),
        ((1 << 63) | 0x100, 42, 129),
    ],
)
def test_twenty_rounds_match_cryptography(counter: int, nonce: int, length: int) -> None:
    for key in (ZERO_KEY, bytes(range(32)), os.urandom(32), os.urandom(32)):
        expected = _openssl_chacha20(key, counter, nonce, length)
        assert chacha_keystream(key, length, counter, nonce, rounds=20) == expected


def test_xor_round_trips_and_matches_cryptography() -> None:
    key, plaintext = os.urandom(32), os.urandom(333)
    iv = (5).to_bytes(8, "little") + (9).to_bytes(8, "little")
    expected = Cipher(algorithms.ChaCha20(key, iv), mode=None).encryptor().update(plaintext)
    assert chacha_xor(key, plaintext, counter=5, nonce=9) == expected
    assert chacha_xor(key, expected, counter=5, nonce=9) == plaintext


# RFC 7539 / RFC 8439 Appendix A.1, test vectors #1 and #2 (all-zero key and nonce, block
# counters 0 and 1), as 32-bit words; also rand_chacha's `test_chacha_true_values_a`.
RFC_A1_BLOCK0 = [
    0xADE0B876, 0x903DF1A0, 0xE56A5D40, 0x28BD8653, 0xB819D2BD, 0x1AED8DA0, 0xCCEF36A8,
    0xC70D778B, 0x7C5941DA, 0x8D485751, 0x3FE02477, 0x374AD8B8, 0xF4B8436A, 0x1CA11815,
    0x69B687C3, 0x8665EEB2,
]
RFC_A1_BLOCK1 = [
    0xBEE7079F, 0x7A385155, 0x7C97BA98, 0x0D082D73, 0xA0290FCB, 0x6965E348, 0x3E53C612,
    0xED7AEE32, 0x7621B729, 0x434EE69C, 0xB03371D5, 0xD539D874, 0x281FED31, 0x45FB0A51,
    0x1F0AE1AC, 0x6F4D794B,
]


def test_rfc_7539_appendix_a1_vectors() -> None:
    assert chacha_words(ZERO_KEY, 32) == RFC_A1_BLOCK0 + RFC_A1_BLOCK1
    # The same first 32 bytes as bytes: 76 b8 e0 ad a0 f1 3d 90 ... (RFC 7539 A.1 #1).
    assert chacha_block(ZERO_KEY)[:8] == bytes.fromhex("76b8e0ada0f13d90")


def test_rand_chacha_true_values_b_and_c() -> None:
    # rand_chacha src/chacha.rs `test_chacha_true_values_b` (RFC 7539 A.1 #3: key ends in 0x01,
    # block 1) and `test_chacha_true_values_c` (A.1 #4: key 00 ff 00.., block 2).
    key_b = bytes(31) + b"\x01"
    assert chacha_words(key_b, 16, counter=1) == [
        0x2452EB3A, 0x9249F8EC, 0x8D829D9B, 0xDDD4CEB1, 0xE8252083, 0x60818B01, 0xF38422B8,
        0x5AAA49C9, 0xBB00CA8E, 0xDA3BA7B4, 0xC4B592D1, 0xFDF2732F, 0x4436274E, 0x2561B3C8,
        0xEBDD4AA6, 0xA0136C00,
    ]
    key_c = b"\x00\xff" + bytes(30)
    assert chacha_words(key_c, 48)[32:] == [
        0xFB4DD572, 0x4BC42EF1, 0xDF922636, 0x327F1394, 0xA78DEA8F, 0x5E269039, 0xA1BEBBC1,
        0xCAF09AAE, 0xA25AB213, 0x48A6B46C, 0x1B9D9BCB, 0x092C5BE6, 0x546CA624, 0x1BEC45D5,
        0x87F47473, 0x96F0992E,
    ]


def test_rand_chacha_stream_id_is_the_64_bit_nonce() -> None:
    # rand_chacha `test_chacha_nonce` (RFC 7539 A.1 #5): set_stream(2 << 56).
    assert chacha_words(ZERO_KEY, 16, nonce=2 << 56) == [
        0x374DC6C2, 0x3736D58C, 0xB904E24A, 0xCD3F93EF, 0x88228B1A, 0x96A4DFB3, 0x5B76AB72,
        0xC727EE54, 0x0E0E978A, 0xF3145C95, 0x1B748EA8, 0xF786C297, 0x99C28F5F, 0x628314E8,
        0x398A19FA, 0x6DED1B53,
    ]
    # nixberg/chacha-rng-compability-rs `stream` (checked against rand_chacha): stream
    # 0xb61e6e6a48c285, first words.
    assert chacha_words(ZERO_KEY, 2, nonce=0xB61E6E6A48C285) == [0x3FA865F8, 0xCC53C4A6]


def test_rand_chacha_multiple_blocks() -> None:
    # rand_chacha `test_chacha_multiple_blocks`: word i of block i, i.e. every 17th word.
    key = b"".join(struct.pack("<I", i) for i in range(8))
    words = chacha_words(key, 17 * 16)
    assert words[::17] == [
        0xF225C81A, 0x6AB1BE57, 0x04D42951, 0x70858036, 0x49884684, 0x64EFEC72, 0x4BE2D186,
        0x3615B384, 0x11CFA18E, 0xD3C50049, 0x75C775F6, 0x434C6530, 0x2C5BAD8F, 0x898881DC,
        0x5F1C86D9, 0xC1F8E7F4,
    ]


def test_twelve_rounds_rand_stdrng_vector() -> None:
    # rand 0.8 src/rngs/std.rs `test_stdrng_construction`: StdRng is ChaCha12Rng there; the
    # first next_u64 is words 0 | 1 << 32, and from_rng() seeds a child from the next 8 words.
    seed = bytes([1, 0, 0, 0, 23, 0, 0, 0, 200, 1, 0, 0, 210, 30, 0, 0]) + bytes(16)
    words = chacha_words(seed, 10, rounds=12)
    assert words[0] | words[1] << 32 == 10719222850664546238
    child = struct.pack("<8I", *words[2:10])
    w = chacha_words(child, 2, rounds=12)
    assert w[0] | w[1] << 32 == 14064965282130556830


def test_eight_rounds_vectors() -> None:
    # nixberg/chacha-rng-c README and tests.c (rand_chacha-compatible ChaCha8, zero seed, stream 0).
    words = chacha_words(ZERO_KEY, 2 * 3149, rounds=8)
    u64 = [words[2 * i] | words[2 * i + 1] << 32 for i in range(3149)]
    assert u64[0] == 0xD6405F892FEF003E
    assert u64[3141:3143] == [0x0FEE22EDA2AA9AD4, 0x1777D0B16DE665F8]


def test_round_count_matters() -> None:
    key = os.urandom(32)
    outputs = {bytes(chacha_keystream(key, 64, rounds=r)) for r in (2, 8, 12, 20)}
    assert len(outputs) == 4


def test_blocks_side_by_side_equal_blocks_one_by_one() -> None:
    key = os.urandom(32)
    for rounds in (8, 12, 20):
        together = chacha_words(key, 16 * 9, counter=(1 << 32) - 4, rounds=rounds)
        alone = []
        for i in range(9):
            alone += chacha_words(key, 16, counter=(1 << 32) - 4 + i, rounds=rounds)
        assert together == alone  # includes the carry into the counter's high word


def test_counter_wraps_at_2_pow_64_like_rand_chacha() -> None:
    key = os.urandom(32)
    words = chacha_words(key, 32, counter=(1 << 64) - 1)
    assert words[16:] == chacha_words(key, 16, counter=0)


def test_partial_lengths() -> None:
    key = os.urandom(32)
    full = chacha_keystream(key, 256, rounds=12)
    for length in (0, 1, 3, 4, 51, 63, 64, 65, 204, 255):
        assert chacha_keystream(key, length, rounds=12) == full[:length]
    assert chacha_words(key, 0) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"key": bytes(31)},
        {"key": bytes(33)},
        {"rounds": 0},
        {"rounds": 7},
        {"rounds": -2},
        {"counter": -1},
        {"counter": 1 << 64},
        {"nonce": 1 << 64},
    ],
)
def test_bad_parameters(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"key": ZERO_KEY, "count": 16}
    args.update(kwargs)
    with pytest.raises(ValueError):
        chacha_words(**args)  # type: ignore[arg-type]


# --- chacha_words_many: the vectorised core a verifier batch uses -------------------------


@pytest.mark.parametrize(
    ("counter", "nonce", "length"),
    [(0, 0, 204), (7, 0x0123_4567_89AB_CDEF, 1000), ((0x5A5A_5A5A << 32) | 3, 1 << 63, 300)],
)
def test_many_twenty_rounds_match_cryptography(counter: int, nonce: int, length: int) -> None:
    keys = [bytes([i]) * 32 for i in range(5)]
    words = chacha_words_many(keys, -(-length // 4), counter, nonce)
    for key, row in zip(keys, words, strict=True):
        got = struct.pack(f"<{len(row)}I", *(int(w) for w in row))[:length]
        assert got == _openssl_chacha20(key, counter, nonce, length)


def test_many_twelve_rounds_rand_stdrng_vector() -> None:
    # The same rand 0.8 StdRng (ChaCha12Rng) vector as above, in the second of three lanes.
    seed = bytes([1, 0, 0, 0, 23, 0, 0, 0, 200, 1, 0, 0, 210, 30, 0, 0]) + bytes(16)
    words = chacha_words_many([bytes(32), seed, ZERO_KEY], 2, rounds=12)
    assert int(words[1][0]) | int(words[1][1]) << 32 == 10719222850664546238


@pytest.mark.parametrize("rounds", [8, 12, 20])
def test_many_equals_scalar_over_random_keys(rounds: int) -> None:
    keys = [os.urandom(32) for _ in range(300)]
    for count in (1, 16, 17, 51, 100):
        words = chacha_words_many(keys, count, rounds=rounds)
        assert words.shape == (len(keys), count)
        for key, row in zip(keys, words, strict=True):
            assert [int(w) for w in row] == chacha_words(key, count, rounds=rounds)


def test_many_counter_wraps_like_scalar() -> None:
    keys = [os.urandom(32) for _ in range(3)]
    words = chacha_words_many(keys, 40, counter=(1 << 64) - 1, rounds=12)
    for key, row in zip(keys, words, strict=True):
        assert [int(w) for w in row] == chacha_words(key, 40, counter=(1 << 64) - 1, rounds=12)


def test_many_empty_and_bad_parameters() -> None:
    assert chacha_words_many([], 51, rounds=12).shape == (0, 51)
    with pytest.raises(ValueError, match="32 bytes"):
        chacha_words_many([ZERO_KEY, bytes(31)], 4)
    with pytest.raises(ValueError, match="even"):
        chacha_words_many([ZERO_KEY], 4, rounds=11)
