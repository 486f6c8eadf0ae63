"""The payload CRC: CRC-16 (polynomial 0x1021, initial value 0) with LoRa's twist.

The CRC runs over all but the last two payload bytes and is then XORed with those two bytes
(big-endian); it goes on air low byte first, after the payload and unwhitened.
`binascii.crc_hqx` is exactly that CRC-16 (the XMODEM variant), so it is not written here.
"""

from __future__ import annotations

import binascii

CRC_INIT = 0
CRC_BYTES = 2


def payload_crc(payload: bytes) -> int:
    """The 16-bit CRC of a payload; bytes before a 1-byte payload count as zero."""
    head, tail = payload[:-CRC_BYTES], payload[-CRC_BYTES:]
    return binascii.crc_hqx(head, CRC_INIT) ^ int.from_bytes(tail, "big")


def crc_field(payload: bytes) -> bytes:
    """The two bytes that follow the payload on air."""
    return payload_crc(payload).to_bytes(CRC_BYTES, "little")
