"""Chirps: symbol s is an up-chirp whose start frequency is s/N of the band, folding at the top.

Generated at `oversampling` samples per chip (sample rate = oversampling × bandwidth), as a
phase function of chip time k: 2π(k²/2N + (s/N − ½)k), minus 2πk after the fold.
"""

from __future__ import annotations

import numpy as np


def upchirps(symbols: np.ndarray, sf: int, oversampling: int = 1) -> np.ndarray:
    """One row of N·oversampling complex samples per symbol value."""
    n = 1 << sf
    k = np.arange(n * oversampling) / oversampling
    s = np.asarray(symbols, dtype=np.float64)[:, None]
    phase = k * k / (2 * n) + (s / n - 0.5) * k
    phase = phase - np.where(k >= n - s, k, 0.0)
    return np.exp(2j * np.pi * phase).astype(np.complex64)


def downchirp(sf: int, oversampling: int = 1) -> np.ndarray:
    """The conjugate of the base up-chirp: multiplying by it dechirps up-chirps."""
    return np.conj(upchirps(np.zeros(1), sf, oversampling)[0])


def base_upchirp(sf: int, oversampling: int = 1) -> np.ndarray:
    """Multiplying by it dechirps down-chirps (the frame delimiter)."""
    return upchirps(np.zeros(1), sf, oversampling)[0]
