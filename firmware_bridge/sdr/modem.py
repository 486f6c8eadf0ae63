"""Symbols <-> IQ: the frame's chirp sequence out, and dechirped symbol spectra back.

A frame is the preamble's up-chirps, two sync-word symbols (bins 8·(sw >> 4) and 8·(sw & 0xF),
raw: no Gray mapping, no +1), 2.25 down-chirps, then the data symbols. The receiver side works
at one sample per chip; `channelizer.py` brings an oversampled capture down to that.
"""

from __future__ import annotations

import numpy as np

from firmware_bridge.sdr.phy import coding
from firmware_bridge.sdr.phy.chirps import base_upchirp, downchirp, upchirps
from firmware_bridge.sdr.phy.params import LoraParams

SYNC_WORD_BIN_STEP = 8
DELIMITER_QUARTERS = 9          # 2.25 down-chirps


def sync_word_bins(sync_word: int) -> tuple[int, int]:
    return (sync_word >> 4) * SYNC_WORD_BIN_STEP, (sync_word & 0xF) * SYNC_WORD_BIN_STEP


def modulate_symbols(symbols: np.ndarray, p: LoraParams, oversampling: int = 1) -> np.ndarray:
    """Data symbol values -> the whole frame's baseband IQ at unit power."""
    ups = upchirps(
        np.concatenate([np.zeros(p.preamble_symbols), sync_word_bins(p.sync_word)]),
        p.sf, oversampling,
    ).reshape(-1)
    down = downchirp(p.sf, oversampling)
    quarter = len(down) // 4
    delimiter = np.tile(down, 3)[: DELIMITER_QUARTERS * quarter]
    data = upchirps(symbols, p.sf, oversampling).reshape(-1)
    return np.concatenate([ups, delimiter, data])


def modulate(payload: bytes, p: LoraParams, oversampling: int = 1) -> np.ndarray:
    """A payload -> its frame's IQ (explicit header, CRC as `p` says)."""
    return modulate_symbols(coding.encode(payload, p), p, oversampling)


def frame_samples(p: LoraParams, length: int, oversampling: int = 1) -> int:
    """Samples in the frame of a `length`-byte payload."""
    n = p.n * oversampling
    return (p.preamble_symbols + 2 + p.payload_symbols(length)) * n + DELIMITER_QUARTERS * n // 4


def spectra(windows: np.ndarray, sf: int, down: bool = False) -> np.ndarray:
    """Dechirped power spectra of (S, N) one-sample-per-chip windows: up-chirp symbol s peaks
    in bin s; with `down`, a down-chirp's offset peaks instead."""
    ref = base_upchirp(sf) if down else downchirp(sf)
    y = np.fft.fft((windows * ref[None, :]).astype(np.complex128), axis=1)
    return (y.real ** 2 + y.imag ** 2).astype(np.float64)


def magnitudes(windows: np.ndarray, sf: int, bin_offsets: np.ndarray) -> np.ndarray:
    """|FFT| of dechirped windows, each first shifted down by its own (fractional) bin offset,
    so a window whose symbol sits `offset` bins high lands on its integer bin."""
    n = 1 << sf
    shift = np.exp(-2j * np.pi * np.outer(bin_offsets, np.arange(n)) / n)
    y = np.fft.fft((windows * shift * downchirp(sf)[None, :]).astype(np.complex128), axis=1)
    return np.abs(y)
