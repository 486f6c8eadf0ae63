"""Payload whitening: the 255-byte sequence of the LFSR x⁸+x⁶+x⁵+x⁴+1, seeded 0xFF.

Only payload bytes are whitened (never the header or the CRC); XOR is its own inverse, so
one function serves both directions.
"""

from __future__ import annotations

import numpy as np

LFSR_SEED = 0xFF
# Feedback taps of x⁸+x⁶+x⁵+x⁴+1 on the register as it shifts left: bits 7, 5, 4 and 3.
LFSR_TAPS = (7, 5, 4, 3)
SEQUENCE_LENGTH = 255


def _sequence() -> bytes:
    state, out = LFSR_SEED, bytearray()
    for _ in range(SEQUENCE_LENGTH):
        out.append(state)
        feedback = 0
        for tap in LFSR_TAPS:
            feedback ^= (state >> tap) & 1
        state = ((state << 1) | feedback) & 0xFF
    return bytes(out)


SEQUENCE = _sequence()


def whiten(payload: bytes) -> bytes:
    """XOR with the sequence; the same call dewhitens. Payloads are at most 255 bytes."""
    if len(payload) > SEQUENCE_LENGTH:
        raise ValueError(f"a LoRa payload is at most {SEQUENCE_LENGTH} bytes")
    data = np.frombuffer(payload, dtype=np.uint8)
    mask = np.frombuffer(SEQUENCE, dtype=np.uint8)[: len(data)]
    return (data ^ mask).tobytes()
