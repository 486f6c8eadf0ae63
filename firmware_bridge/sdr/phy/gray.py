"""Gray mapping between FFT bins and interleaved words, with LoRa's offset of one.

Transmit: symbol = gray_to_binary(word) + 1 (mod N). Receive: word = gray(bin − 1); for
reduced-rate symbols the two low bits are dropped first (floor((bin − 1) mod N / 4)).
"""

from __future__ import annotations

import numpy as np

REDUCED_RATE_DROPPED_BITS = 2


def gray(x: np.ndarray) -> np.ndarray:
    return x ^ (x >> 1)


def gray_inverse(x: np.ndarray, bits: int) -> np.ndarray:
    out = x.copy()
    for shift in range(1, bits):
        out ^= x >> shift
    return out


def words_to_symbols(words: np.ndarray, sf: int, reduced: bool) -> np.ndarray:
    """Interleaved words (SF−2 bits when reduced) -> transmitted symbol values."""
    words = np.asarray(words, dtype=np.int64)
    if reduced:
        words = words << REDUCED_RATE_DROPPED_BITS
    return (gray_inverse(words, sf) + 1) % (1 << sf)


def symbols_to_words(symbols: np.ndarray, sf: int, reduced: bool) -> np.ndarray:
    """Demodulated bins -> interleaved words: the exact inverse of `words_to_symbols`."""
    index = (np.asarray(symbols, dtype=np.int64) - 1) % (1 << sf)
    if reduced:
        index = index >> REDUCED_RATE_DROPPED_BITS
    return gray(index)


def word_index_bits(sf: int, reduced: bool) -> np.ndarray:
    """bits[j, r]: bit r (from the LSB) of the word at bin index j = (bin − 1) mod N, grouped
    by four when reduced; the soft demapper looks its bit decisions up here."""
    width = sf - REDUCED_RATE_DROPPED_BITS * reduced
    words = gray(np.arange(1 << width))
    return ((words[:, None] >> np.arange(width)[None, :]) & 1).astype(bool)
