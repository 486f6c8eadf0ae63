"""The diagonal interleaver: bit r (from the LSB) of symbol i is bit i of codeword (i+r) mod K.

Both directions move values, not just bits, so the receiver deinterleaves soft values with
the same index table it would use for hard bits.
"""

from __future__ import annotations

import numpy as np


def _indices(codewords: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(codeword, bit) index of each (symbol i, bit r) cell, each shape (width, codewords)."""
    i = np.arange(width)[:, None]
    r = np.arange(codewords)[None, :]
    return (i + r) % codewords, np.broadcast_to(i, (width, codewords))


def interleave(codeword_bits: np.ndarray) -> np.ndarray:
    """(K codewords, W bits) -> (W symbols, K bits), bit r of a symbol in column r."""
    k, w = codeword_bits.shape
    cw, bit = _indices(k, w)
    return codeword_bits[cw, bit]


def deinterleave(symbol_values: np.ndarray) -> np.ndarray:
    """(…, W symbols, K values) -> (…, K codewords, W values): the inverse of `interleave`,
    over any leading block axes."""
    *blocks, w, k = symbol_values.shape
    cw, bit = _indices(k, w)
    out = np.empty((*blocks, k, w), dtype=symbol_values.dtype)
    out[..., cw, bit] = symbol_values
    return out


def bits_to_words(symbol_bits: np.ndarray) -> np.ndarray:
    """(W, K) bits -> W integers, column r worth 2^r."""
    k = symbol_bits.shape[1]
    return (symbol_bits.astype(np.int64) << np.arange(k)[None, :]).sum(axis=1)


def words_to_bits(words: np.ndarray, width: int) -> np.ndarray:
    return ((np.asarray(words, dtype=np.int64)[:, None] >> np.arange(width)[None, :]) & 1)
