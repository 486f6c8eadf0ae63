"""The explicit header: payload length, code rate, CRC flag and a 5-bit checksum.

Five nibbles, high nibble first: L >> 4, L & 0xF, (CR << 1) | crc, then c4 alone and c3..c0.
A checksum bit is the XOR of the header bits its row names; a bad checksum, L = 0 or a code
rate outside 4/5..4/8 is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HEADER_NIBBLES = 5
# Checksum rows c4, c3, c2, c1, c0: the (nibble, bit) pairs each XORs, bit 3 the nibble's MSB.
CHECKSUM_TAPS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((0, 3), (0, 2), (0, 1), (0, 0)),
    ((0, 3), (1, 3), (1, 2), (1, 1), (2, 0)),
    ((0, 2), (1, 3), (1, 0), (2, 3), (2, 1)),
    ((0, 1), (1, 2), (1, 0), (2, 2), (2, 1), (2, 0)),
    ((0, 0), (1, 1), (2, 3), (2, 2), (2, 1), (2, 0)),
)


class HeaderError(ValueError):
    """A header that fails its checksum or names an impossible frame."""


@dataclass(frozen=True, slots=True)
class Header:
    length: int
    cr: int
    crc: bool


def checksum(nibbles: np.ndarray | list[int]) -> int:
    """The 5-bit checksum c4..c0 of the first three header nibbles."""
    value = 0
    for row in CHECKSUM_TAPS:
        bit = 0
        for nibble, position in row:
            bit ^= (int(nibbles[nibble]) >> position) & 1
        value = (value << 1) | bit
    return value


def build(header: Header) -> np.ndarray:
    first = [header.length >> 4, header.length & 0xF, (header.cr << 1) | int(header.crc)]
    c = checksum(first)
    return np.array([*first, c >> 4, c & 0xF], dtype=np.uint8)


def parse(nibbles: np.ndarray) -> Header:
    n = [int(v) for v in nibbles[:HEADER_NIBBLES]]
    if ((n[3] & 1) << 4 | n[4]) != checksum(n):
        raise HeaderError("header checksum mismatch")
    length, cr, crc = (n[0] << 4) | n[1], n[2] >> 1, bool(n[2] & 1)
    if length == 0:
        raise HeaderError("header announces an empty payload")
    if not 1 <= cr <= 4:
        raise HeaderError(f"header announces code rate index {cr}")
    return Header(length, cr, crc)
