"""Decoding every frame in a one-sample-per-chip capture of one channel and one SF.

The frame's offsets come from `sync`; each data symbol is then dechirped in its own window,
shifted by the preamble's bin offset. When the carrier frequency is known, the sampling-clock
drift that a shared reference oscillator implies (the CFO in ppm) is followed symbol by symbol:
at SF12 a 20 ppm clock drifts several samples over a beacon, which would otherwise smear it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from firmware_bridge.sdr import modem, sync
from firmware_bridge.sdr.phy import coding
from firmware_bridge.sdr.phy.header import HeaderError
from firmware_bridge.sdr.phy.params import SYNC_WORDS, LoraParams


@dataclass(frozen=True, slots=True)
class Frame:
    payload: bytes
    sf: int
    bw_hz: int
    cr: int
    crc_ok: bool
    has_crc: bool
    sync_word: int
    start_sample: int       # where the sync word starts (one sample per chip)
    end_sample: int
    snr_db: float
    power: float            # mean |x|² over the preamble, for RSSI
    cfo_hz: float

    @property
    def datarate(self) -> str:
        return LoraParams(self.sf, self.bw_hz).datarate


def _symbol_windows(
    x: np.ndarray, os: int, s: sync.Sync, n: int, first: int, count: int, ppm: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Windows of data symbols first..first+count−1, one sample per chip taken from the
    `os`-times oversampled capture at the phase nearest each symbol's true start, and each
    window's bin offset: the CFO plus what is left of its timing error (at most 1/(2·os))."""
    k = np.arange(first, first + count)
    true_start = s.data_start - s.late + k * n - ppm * (k * n + modem.DELIMITER_QUARTERS * n / 4)
    starts = np.round(true_start * os).astype(np.int64)
    if starts[0] < 0 or starts[-1] + os * n > len(x):
        raise HeaderError("capture ends inside the frame")
    offsets = s.cfo_bins + starts / os - true_start
    windows = x[starts[:, None] + os * np.arange(n)[None, :]]
    return windows, offsets, int(starts[-1] // os + n)


def decode_at(
    x: np.ndarray, os: int, s: sync.Sync, sf: int, bw_hz: int, soft: bool = True,
    carrier_hz: float | None = None, tuned_bins: float = 0.0,
) -> Frame:
    """The frame `s` found in `x` (`os` samples per chip, already shifted down by
    `tuned_bins`, which `s.cfo_bins` does not include); HeaderError when its header or its
    length does not hold."""
    n = 1 << sf
    p = LoraParams(sf, bw_hz)
    cfo_hz = (s.cfo_bins + tuned_bins) * bw_hz / n
    ppm = cfo_hz / carrier_hz if carrier_hz else 0.0
    head_symbols = coding.HEADER_BLOCK_SYMBOLS
    windows, offsets, _ = _symbol_windows(x, os, s, n, 0, head_symbols, ppm)
    head = modem.magnitudes(windows, sf, offsets)
    hdr, first = coding.decode_header(head, sf, soft)
    total = coding.data_symbols(hdr, p)
    windows, offsets, end = _symbol_windows(
        x, os, s, n, head_symbols, total - head_symbols, ppm
    )
    body = modem.magnitudes(windows, sf, offsets)
    p = LoraParams(sf, bw_hz, hdr.cr, hdr.crc)
    decoded = coding.decode_payload(np.concatenate([head, body]), hdr, first, p, soft)
    return Frame(
        payload=decoded.payload, sf=sf, bw_hz=bw_hz, cr=hdr.cr, crc_ok=decoded.crc_ok,
        has_crc=hdr.crc, sync_word=s.sync_word, start_sample=s.preamble_end, end_sample=end,
        snr_db=s.snr_db, power=s.power, cfo_hz=cfo_hz,
    )


def _at_best_phase(
    x: np.ndarray, os: int, s: sync.Sync, sf: int, sync_words: tuple[int, ...]
) -> sync.Sync | None:
    """The frame's offsets measured again on the sampling phase nearest its symbol starts:
    found at phase 0, a timing offset of up to half a chip biases the fine estimates."""
    n = 1 << sf
    start = round((s.data_start - s.late) * os)
    phase = start % os
    delimiter = (start - phase) // os - modem.DELIMITER_QUARTERS * n // 4
    again = sync.refine(x[phase::os], sf, delimiter, sync_words)
    if again is None:
        return None
    return replace(again, late=again.late - phase / os)


def _find(
    x: np.ndarray, os: int, sf: int, position: int, sync_words: tuple[int, ...]
) -> sync.Sync | None:
    """The next frame, searched on two sampling phases half a chip apart when oversampled:
    at one phase a frame can sit half a chip off its symbol boundaries, where near the
    sensitivity limit its preamble and delimiter are too smeared to be found."""
    best = None
    for phase in sorted({0, os // 2}):
        found = sync.find(x[phase::os], sf, position, sync_words)
        if found is not None:
            found = replace(found, late=found.late - phase / os)
            if best is None or found.data_start - found.late < best.data_start - best.late:
                best = found
    return best


def decode_all(
    x: np.ndarray, sf: int, bw_hz: int, oversampling: int = 1, soft: bool = True,
    carrier_hz: float | None = None, sync_words: tuple[int, ...] = SYNC_WORDS,
    retune: Callable[[float], np.ndarray] | None = None,
) -> list[Frame]:
    """Every frame in a capture of one channel, band-limited to the LoRa bandwidth and
    sampled at `oversampling` samples per chip, in order, bad CRCs included.

    Frames are found at one sample per chip (every os-th sample: the band limit makes that
    a clean critical-rate stream); symbols are then read at the sampling phase nearest their
    true start. `retune(cfo_hz)`, when given, returns the same capture re-centred that far
    off (a `Channelizer` channel): each frame is then read from a channel centred on its own
    carrier, so a large CFO does not push part of its chirps out of the band. At one sample
    per chip a fractional timing offset of half a sample costs several dB, as a symbol's
    phase jumps where its chirp folds; two or more samples per chip keep that loss small.
    """
    x = np.asarray(x, dtype=np.complex64)
    frames, position = [], 0
    while True:
        found = _find(x, oversampling, sf, position, sync_words)
        if found is None:
            return frames
        if not np.isfinite([found.cfo_bins, found.late, found.snr_db]).all():
            position = found.data_start
            continue
        try:
            frame = _decode_found(x, oversampling, found, sf, bw_hz, soft, carrier_hz,
                                  sync_words, None)
            if retune is not None:
                # Only a frame whose header holds is worth re-cutting its channel for: most
                # chance detections in noise fail the header checksum first.
                frame = _decode_found(x, oversampling, found, sf, bw_hz, soft, carrier_hz,
                                      sync_words, retune)
        except HeaderError:
            position = found.data_start
            continue
        frames.append(frame)
        position = frame.end_sample


def _decode_found(
    x: np.ndarray, os: int, found: sync.Sync, sf: int, bw_hz: int, soft: bool,
    carrier_hz: float | None, sync_words: tuple[int, ...],
    retune: Callable[[float], np.ndarray] | None,
) -> Frame:
    source, tuned_bins = x, 0.0
    if retune is not None:
        tuned_bins = found.cfo_bins
        source = np.asarray(retune(tuned_bins * bw_hz / (1 << sf)), dtype=np.complex64)
        found = replace(found, cfo_bins=0.0)
    if os > 1:
        found = _at_best_phase(source, os, found, sf, sync_words) or found
    return decode_at(source, os, found, sf, bw_hz, soft, carrier_hz, tuned_bins)
