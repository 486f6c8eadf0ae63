"""ChaCha with a configurable round count, in djb's original layout (for the beacon's ChaCha12).

Helium derives beacon payloads with rand_chacha's ChaCha12Rng, which uses Bernstein's original
state layout: constants, 256-bit key, a 64-bit block counter starting at 0 and a 64-bit
nonce/stream id (0 there). Neither the standard library nor `cryptography` offers 12 rounds,
so the core is here, and checked against `cryptography`'s ChaCha20 for 20 rounds.

Speed: a beacon needs 51 words, i.e. 4 blocks. Instead of running the block function 4 times,
the blocks are computed side by side: lane k of every state word lives at bits 64k..64k+31 of
one Python int, and the spare 32 bits above each lane absorb the carries of additions and the
spill of rotations, which one mask then removes. One pass of quarter-rounds on these wide ints
costs about as much as one block on small ints.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

KEY_LEN = 32
BLOCK_LEN = 64
WORDS_PER_BLOCK = 16
# "expand 32-byte k" as four little-endian words (djb, ChaCha specification section 2).
SIGMA = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)
_U32 = 0xFFFFFFFF
_U64 = (1 << 64) - 1
_LANE_BITS = 64


def _lanes_mask(lanes: int) -> int:
    """0x00000000FFFFFFFF repeated once per lane."""
    return int.from_bytes(b"\xff\xff\xff\xff\x00\x00\x00\x00" * lanes, "little")


def _spread(value: int, lanes: int) -> int:
    """The same 32-bit word in every lane."""
    return value * int.from_bytes((b"\x01" + b"\x00" * 7) * lanes, "little")


def _check_parameters(rounds: int, counter: int, nonce: int) -> None:
    if rounds <= 0 or rounds % 2:
        raise ValueError(f"ChaCha rounds must be a positive even number, got {rounds}")
    if not 0 <= counter <= _U64 or not 0 <= nonce <= _U64:
        raise ValueError("ChaCha counter and nonce are unsigned 64-bit values")


def chacha_words(
    key: bytes, count: int, counter: int = 0, nonce: int = 0, rounds: int = 20
) -> list[int]:
    """The first `count` 32-bit little-endian keystream words from block `counter` on.

    This is what rand_chacha's `next_u32` returns in sequence for key = seed, stream = nonce.
    """
    if len(key) != KEY_LEN:
        raise ValueError(f"ChaCha key must be {KEY_LEN} bytes, got {len(key)}")
    _check_parameters(rounds, counter, nonce)
    if count <= 0:
        return []
    lanes = -(-count // WORDS_PER_BLOCK)
    m = _lanes_mask(lanes)
    k = struct.unpack("<8I", key)

    # Initial state, each word spread over all lanes; only the counter differs per lane.
    init = [_spread(w, lanes) for w in (*SIGMA, *k)]
    ctr_lo = ctr_hi = 0
    for lane in range(lanes):
        block = (counter + lane) & _U64  # the 64-bit counter wraps, as in rand_chacha
        shift = _LANE_BITS * lane
        ctr_lo |= (block & _U32) << shift
        ctr_hi |= (block >> 32) << shift
    init += [ctr_lo, ctr_hi, _spread(nonce & _U32, lanes), _spread(nonce >> 32, lanes)]

    x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15 = init
    for _ in range(rounds // 2):
        # Column round, then diagonal round (one double round).
        x0 = (x0 + x4) & m
        x12 ^= x0
        x12 = ((x12 << 16) | (x12 >> 16)) & m
        x8 = (x8 + x12) & m
        x4 ^= x8
        x4 = ((x4 << 12) | (x4 >> 20)) & m
        x0 = (x0 + x4) & m
        x12 ^= x0
        x12 = ((x12 << 8) | (x12 >> 24)) & m
        x8 = (x8 + x12) & m
        x4 ^= x8
        x4 = ((x4 << 7) | (x4 >> 25)) & m
        x1 = (x1 + x5) & m
        x13 ^= x1
        x13 = ((x13 << 16) | (x13 >> 16)) & m
        x9 = (x9 + x13) & m
        x5 ^= x9
        x5 = ((x5 << 12) | (x5 >> 20)) & m
        x1 = (x1 + x5) & m
        x13 ^= x1
        x13 = ((x13 << 8) | (x13 >> 24)) & m
        x9 = (x9 + x13) & m
        x5 ^= x9
        x5 = ((x5 << 7) | (x5 >> 25)) & m
        x2 = (x2 + x6) & m
        x14 ^= x2
        x14 = ((x14 << 16) | (x14 >> 16)) & m
        x10 = (x10 + x14) & m
        x6 ^= x10
        x6 = ((x6 << 12) | (x6 >> 20)) & m
        x2 = (x2 + x6) & m
        x14 ^= x2
        x14 = ((x14 << 8) | (x14 >> 24)) & m
        x10 = (x10 + x14) & m
        x6 ^= x10
        x6 = ((x6 << 7) | (x6 >> 25)) & m
        x3 = (x3 + x7) & m
        x15 ^= x3
        x15 = ((x15 << 16) | (x15 >> 16)) & m
        x11 = (x11 + x15) & m
        x7 ^= x11
        x7 = ((x7 << 12) | (x7 >> 20)) & m
        x3 = (x3 + x7) & m
        x15 ^= x3
        x15 = ((x15 << 8) | (x15 >> 24)) & m
        x11 = (x11 + x15) & m
        x7 ^= x11
        x7 = ((x7 << 7) | (x7 >> 25)) & m
        x0 = (x0 + x5) & m
        x15 ^= x0
        x15 = ((x15 << 16) | (x15 >> 16)) & m
        x10 = (x10 + x15) & m
        x5 ^= x10
        x5 = ((x5 << 12) | (x5 >> 20)) & m
        x0 = (x0 + x5) & m
        x15 ^= x0
        x15 = ((x15 << 8) | (x15 >> 24)) & m
        x10 = (x10 + x15) & m
        x5 ^= x10
        x5 = ((x5 << 7) | (x5 >> 25)) & m
        x1 = (x1 + x6) & m
        x12 ^= x1
        x12 = ((x12 << 16) | (x12 >> 16)) & m
        x11 = (x11 + x12) & m
        x6 ^= x11
        x6 = ((x6 << 12) | (x6 >> 20)) & m
        x1 = (x1 + x6) & m
        x12 ^= x1
        x12 = ((x12 << 8) | (x12 >> 24)) & m
        x11 = (x11 + x12) & m
        x6 ^= x11
        x6 = ((x6 << 7) | (x6 >> 25)) & m
        x2 = (x2 + x7) & m
        x13 ^= x2
        x13 = ((x13 << 16) | (x13 >> 16)) & m
        x8 = (x8 + x13) & m
        x7 ^= x8
        x7 = ((x7 << 12) | (x7 >> 20)) & m
        x2 = (x2 + x7) & m
        x13 ^= x2
        x13 = ((x13 << 8) | (x13 >> 24)) & m
        x8 = (x8 + x13) & m
        x7 ^= x8
        x7 = ((x7 << 7) | (x7 >> 25)) & m
        x3 = (x3 + x4) & m
        x14 ^= x3
        x14 = ((x14 << 16) | (x14 >> 16)) & m
        x9 = (x9 + x14) & m
        x4 ^= x9
        x4 = ((x4 << 12) | (x4 >> 20)) & m
        x3 = (x3 + x4) & m
        x14 ^= x3
        x14 = ((x14 << 8) | (x14 >> 24)) & m
        x9 = (x9 + x14) & m
        x4 ^= x9
        x4 = ((x4 << 7) | (x4 >> 25)) & m

    out = (x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15)
    finals = [(o + i) & m for o, i in zip(out, init, strict=True)]
    # Unpack: block `lane`, word `j` is lane `lane` of finals[j].
    lane_bytes = [f.to_bytes(8 * lanes, "little") for f in finals]
    words: list[int] = []
    for lane in range(lanes):
        offset = 8 * lane
        for j in range(WORDS_PER_BLOCK):
            words.append(int.from_bytes(lane_bytes[j][offset : offset + 4], "little"))
    return words[:count]


def chacha_keystream(
    key: bytes, length: int, counter: int = 0, nonce: int = 0, rounds: int = 20
) -> bytes:
    """`length` keystream bytes from block `counter` on."""
    words = chacha_words(key, -(-length // 4), counter, nonce, rounds)
    return struct.pack(f"<{len(words)}I", *words)[:length]


def chacha_block(key: bytes, counter: int = 0, nonce: int = 0, rounds: int = 20) -> bytes:
    """One 64-byte keystream block."""
    return chacha_keystream(key, BLOCK_LEN, counter, nonce, rounds)


def chacha_xor(
    key: bytes, data: bytes, counter: int = 0, nonce: int = 0, rounds: int = 20
) -> bytes:
    """Encrypt or decrypt `data` (XOR with the keystream); used to test against `cryptography`."""
    stream = chacha_keystream(key, len(data), counter, nonce, rounds)
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def chacha_words_many(
    keys: Sequence[bytes], count: int, counter: int = 0, nonce: int = 0, rounds: int = 20
) -> NDArray[np.uint32]:
    """`chacha_words` for many keys at once: row i holds key i's first `count` words.

    The same block function, with one numpy uint32 lane per (key, block) instead of one Python
    int per block, so that a verifier batch regenerates all its beacons in one pass (pure-Python
    per beacon cost ~50 µs). numpy is imported here, not at module level: the hotspot, which
    never derives beacons in bulk, does not install it.
    """
    import numpy as np

    for key in keys:
        if len(key) != KEY_LEN:
            raise ValueError(f"ChaCha key must be {KEY_LEN} bytes, got {len(key)}")
    _check_parameters(rounds, counter, nonce)
    n = len(keys)
    if count <= 0 or n == 0:
        return np.zeros((n, max(count, 0)), dtype=np.uint32)
    blocks = -(-count // WORDS_PER_BLOCK)
    lanes = n * blocks  # lane key*blocks + b holds block `counter + b` of that key
    key_words = np.frombuffer(b"".join(bytes(k) for k in keys), dtype="<u4").reshape(n, 8)
    init = np.empty((WORDS_PER_BLOCK, lanes), dtype=np.uint32)
    init[0:4] = np.array(SIGMA, dtype=np.uint32)[:, None]
    init[4:12] = np.repeat(key_words.T, blocks, axis=1)
    block_no = np.array(
        [(counter + b) & _U64 for b in range(blocks)], dtype=np.uint64
    )  # the 64-bit counter wraps, as in rand_chacha
    init[12] = np.tile((block_no & _U32).astype(np.uint32), n)
    init[13] = np.tile((block_no >> np.uint64(32)).astype(np.uint32), n)
    init[14] = nonce & _U32
    init[15] = nonce >> 32

    x = [init[j].copy() for j in range(WORDS_PER_BLOCK)]

    def quarter(a: int, b: int, c: int, d: int) -> None:
        for s, t, u, r in ((a, b, d, 16), (c, d, b, 12), (a, b, d, 8), (c, d, b, 7)):
            x[s] += x[t]
            x[u] ^= x[s]
            x[u] = (x[u] << np.uint32(r)) | (x[u] >> np.uint32(32 - r))

    for _ in range(rounds // 2):
        quarter(0, 4, 8, 12)
        quarter(1, 5, 9, 13)
        quarter(2, 6, 10, 14)
        quarter(3, 7, 11, 15)
        quarter(0, 5, 10, 15)
        quarter(1, 6, 11, 12)
        quarter(2, 7, 8, 13)
        quarter(3, 4, 9, 14)

    finals = np.stack(x) + init  # (16, lanes)
    return finals.T.reshape(n, blocks * WORDS_PER_BLOCK)[:, :count]
