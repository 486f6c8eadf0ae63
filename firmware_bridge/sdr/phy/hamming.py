"""Hamming coding of nibbles, and its maximum-likelihood soft decoder.

A codeword's bits, in the order the interleaver reads them, are d0 d1 d2 d3 p0 p1 p2 p3
(d0 the nibble's LSB). CR 4/6 and 4/7 drop parity bits from the end; CR 4/5 has the single
parity bit d0⊕d1⊕d2⊕d3.
"""

from __future__ import annotations

import numpy as np

# Parity bits as the data bits they XOR (CR 4/7 and 4/8 use a prefix of this table).
PARITY_TAPS = ((0, 1, 2), (1, 2, 3), (0, 1, 3), (0, 2, 3))
CR45_PARITY_TAPS = ((0, 1, 2, 3),)


def _codebook(cr: int) -> np.ndarray:
    """All 16 codewords of a code rate as bits, shape (16, 4 + cr)."""
    data = (np.arange(16)[:, None] >> np.arange(4)[None, :]) & 1
    taps = CR45_PARITY_TAPS if cr == 1 else PARITY_TAPS[:cr]
    parity = [np.bitwise_xor.reduce(data[:, list(t)], axis=1) for t in taps]
    return np.concatenate([data, np.stack(parity, axis=1)], axis=1).astype(np.uint8)


CODEBOOKS = {cr: _codebook(cr) for cr in range(1, 5)}
# Correlation signs: +1 for a 1 bit, −1 for a 0 bit.
_SIGNS = {cr: 2.0 * book - 1.0 for cr, book in CODEBOOKS.items()}


def encode(nibbles: np.ndarray, cr: int) -> np.ndarray:
    """Nibbles -> codeword bits, shape (len(nibbles), 4 + cr)."""
    return CODEBOOKS[cr][np.asarray(nibbles, dtype=np.int64)]


def decode(llrs: np.ndarray, cr: int) -> np.ndarray:
    """Codeword LLRs (positive means 1), shape (n, 4 + cr) -> the most likely nibbles.

    With ±1 inputs this is minimum Hamming distance decoding, i.e. the hard decoder: it
    corrects one error at CR 4/7 and 4/8; at 4/5 and 4/6 it keeps the data bits' signs.
    """
    scores = llrs @ _SIGNS[cr].T
    return np.argmax(scores, axis=1).astype(np.uint8)
