"""Finding a frame in one-sample-per-chip IQ: preamble, delimiter, offsets, sync word, SNR.

A window of N samples that starts δ samples into an up-chirp dechirps to a peak at δ + CFO
(in bins); the same window over the down-chirps peaks at −δ + CFO. So the two peaks give the
carrier-frequency offset, (u + d)/2, and the timing offset, (u − d)/2, to a fraction of a bin,
unambiguous while |CFO| < N/4 bins (31 kHz at 125 kHz bandwidth, beyond ±20 ppm at 915 MHz).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware_bridge.sdr import modem
from firmware_bridge.sdr.phy.chirps import base_upchirp, downchirp
from firmware_bridge.sdr.phy.params import SYNC_WORDS

# A run of preamble windows: a window and at least this many of the next four peak in the
# same bin (±1, a fractional offset splits the peak).
PREAMBLE_MATCHES = 2
PREAMBLE_LOOKAHEAD = 4
# Windows after the first preamble window searched for the preamble's end (preamble ≤ 64).
DELIMITER_SEARCH_WINDOWS = 68
# Noisy windows tolerated inside the preamble's run, and the window pairs after its end where
# the down-chirps may start (two sync-word symbols, a partial window each side).
PREAMBLE_GAP_WINDOWS = 1
# Windows scanned per block, and the fewest a frame can occupy (6 preamble, 2 sync word,
# 2.25 delimiter, 8 header-block symbols, rounded down).
SCAN_WINDOWS = 512
MIN_FRAME_WINDOWS = 12
DELIMITER_SEARCH_PAIRS = 4
# Aligned preamble windows used for the fine estimates: the 5 before the sync word and a gap.
FINE_PREAMBLE_WINDOWS = 5
# Zero-padding factor of the fine frequency estimates (1/16 bin before interpolation).
FINE_ZERO_PAD = 16
SYNC_WORD_TOLERANCE_BINS = 1


@dataclass(frozen=True, slots=True)
class Sync:
    data_start: int         # sample of the first data symbol (header block)
    late: float             # how far data_start lies after the true symbol start, |late| ≤ ½
    cfo_bins: float         # carrier-frequency offset, in bins (bandwidth / N each)
    sync_word: int
    snr_db: float           # over the channel bandwidth, as a concentrator reports it
    power: float            # mean |x|² over the preamble (signal plus noise)
    preamble_end: int       # sample where the sync word starts


def _circular(a: np.ndarray | int, b: np.ndarray | int, n: int) -> np.ndarray:
    d = (np.asarray(a) - np.asarray(b)) % n
    return np.minimum(d, n - d)


def _windows(x: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    return x[np.asarray(starts)[:, None] + np.arange(n)[None, :]]


def _fine_peak(windows: np.ndarray, sf: int, down: bool) -> float:
    """The strongest frequency of the summed dechirped spectra, in bins in [−N/2, N/2)."""
    n = 1 << sf
    ref = base_upchirp(sf) if down else downchirp(sf)
    y = np.fft.fft((windows * ref[None, :]).astype(np.complex128), n=n * FINE_ZERO_PAD, axis=1)
    power = (np.abs(y) ** 2).sum(axis=0)
    i = int(np.argmax(power))
    left, mid, right = power[i - 1], power[i], power[(i + 1) % len(power)]
    # The vertex of the parabola through the peak and its neighbours; at a true maximum
    # (denominator < 0) it lies within half a step, anywhere else the step itself is kept.
    denom = left - 2 * mid + right
    frac = float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5)) if denom < 0 else 0.0
    peak = (i + frac) / FINE_ZERO_PAD
    return (peak + n / 2) % n - n / 2


def _candidates(peaks: np.ndarray, n: int) -> np.ndarray:
    """Window indices whose peak recurs in enough of the following windows."""
    count = np.zeros(len(peaks), dtype=np.int64)
    for j in range(1, PREAMBLE_LOOKAHEAD + 1):
        count[:-j] += _circular(peaks[:-j], peaks[j:], n) <= 1
    return np.flatnonzero(count >= PREAMBLE_MATCHES)


def find(
    x: np.ndarray, sf: int, start: int = 0, sync_words: tuple[int, ...] = SYNC_WORDS
) -> Sync | None:
    """The first frame whose preamble starts at or after sample `start`, or None.

    The capture is scanned a block of windows at a time (each block overlapping the next by
    the longest preamble), so finding each frame of a long capture costs the same.
    """
    n = 1 << sf
    position = start
    while (len(x) - position) // n >= MIN_FRAME_WINDOWS:
        count = min((len(x) - position) // n, SCAN_WINDOWS + DELIMITER_SEARCH_WINDOWS)
        grid = position + n * np.arange(count)
        up = modem.spectra(_windows(x, grid, n), sf)
        peaks = np.argmax(up, axis=1)
        last_block = count < SCAN_WINDOWS + DELIMITER_SEARCH_WINDOWS
        tried_until = -1
        for k in _candidates(peaks, n):
            if k <= tried_until or (k >= SCAN_WINDOWS and not last_block):
                continue
            found = _verify(x, sf, grid, up, int(k), sync_words)
            if found is not None:
                return found
            tried_until = k
        if last_block:
            return None
        position += SCAN_WINDOWS * n
    return None


def _verify(
    x: np.ndarray, sf: int, grid: np.ndarray, up: np.ndarray, k: int,
    sync_words: tuple[int, ...],
) -> Sync | None:
    n = 1 << sf
    last = min(len(grid), k + DELIMITER_SEARCH_WINDOWS)
    if last - k < 4:
        return None
    # The preamble runs while windows keep peaking in its bin (a noisy window may miss).
    peaks = np.argmax(up[k:last], axis=1)
    hits = np.flatnonzero(_circular(peaks, peaks[0], n) <= 1)
    gaps = np.flatnonzero(np.diff(hits) > PREAMBLE_GAP_WINDOWS + 1)
    end = k + int(hits[gaps[0]] if len(gaps) else hits[-1])
    u = int(np.argmax(up[k:end + 1].sum(axis=0)))
    # The down-chirps follow the two sync-word symbols: of the few window pairs where they can
    # start, the one that dechirps best against the up-chirp (two windows, because one alone
    # is unreliable near the sensitivity limit).
    first = end + 1
    stop = min(len(grid), first + DELIMITER_SEARCH_PAIRS + 1)
    if stop - first < 2:
        return None
    down = modem.spectra(_windows(x, grid[first:stop], n), sf, down=True)
    pairs = down[:-1] + down[1:]
    j = int(np.argmax(pairs.max(axis=1)))
    kd, d = first + j, int(np.argmax(pairs[j]))
    # δ (window offset into the symbol) and CFO from u = δ + cfo, d = −δ + cfo (mod N).
    half = ((u - d) % n) / 2
    options = [(half, (u - half + n / 2) % n - n / 2), (half + n / 2, (u - half) % n - n / 2)]
    delta, cfo = min(options, key=lambda o: abs(o[1]))
    boundary = grid[kd] - round(delta)
    best = _best_delimiter(x, sf, boundary, cfo, sync_words)
    if best is None:
        return None
    return refine(x, sf, best, sync_words)


def _best_delimiter(
    x: np.ndarray, sf: int, boundary: int, cfo: float, sync_words: tuple[int, ...]
) -> int | None:
    """Of the symbol boundaries next to the estimate, the one where the frame fits best: two
    down-chirps after it and a sync word before it, each in its expected bin (± 1)."""
    n = 1 << sf
    options = [c for c in (boundary - n, boundary, boundary + n)
               if c - (FINE_PREAMBLE_WINDOWS + 2) * n >= 0 and c + 2 * n <= len(x)]
    if not options:
        return None
    near = (round(cfo) + np.arange(-1, 2)) % n
    scores = []
    for c in options:
        down = modem.spectra(_windows(x, [c, c + n], n), sf, down=True)[:, near].max(axis=1)
        up = modem.spectra(_windows(x, [c - 2 * n, c - n], n), sf)
        word = max(
            sum(up[i, (near + b) % n].max() for i, b in enumerate(modem.sync_word_bins(w)))
            for w in sync_words
        )
        scores.append(down.sum() + word)
    return options[int(np.argmax(scores))]


def refine(
    x: np.ndarray, sf: int, delimiter: int, sync_words: tuple[int, ...]
) -> Sync | None:
    """Fine offsets, sync word and SNR of a frame whose down-chirps start near `delimiter`."""
    n = 1 << sf
    pre_starts = delimiter - n * np.arange(3, 3 + FINE_PREAMBLE_WINDOWS)
    # One sample of slack each side for the timing correction below.
    if pre_starts[-1] - 1 < 0 or delimiter + 2 * n + 1 > len(x):
        return None
    u = _fine_peak(_windows(x, pre_starts, n), sf, down=False)
    d = _fine_peak(_windows(x, [delimiter, delimiter + n], n), sf, down=True)
    if not (np.isfinite(u) and np.isfinite(d)):
        return None
    cfo, late = (u + d) / 2, (u - d) / 2
    shift = round(late)
    delimiter -= shift          # a window late by `late` samples starts that much earlier
    u -= shift
    pre_starts = pre_starts - shift
    sync = modem.magnitudes(_windows(x, delimiter - n * np.array([2, 1]), n), sf, np.full(2, u))
    word = _sync_word(np.argmax(sync, axis=1), n, sync_words)
    if word is None:
        return None
    pre = _windows(x, pre_starts, n)
    mags = modem.magnitudes(pre, sf, np.full(len(pre), u)) ** 2
    peak = mags.max(axis=1)
    # A noiseless capture (a simulation) would divide by zero: its SNR is reported as 120 dB.
    noise_bin = np.maximum((mags.sum(axis=1) - peak) / (n - 1), peak * 1e-12 / n + 1e-30)
    snr = float(np.mean(np.maximum(peak - noise_bin, 1e-30) / (n * noise_bin)))
    return Sync(
        data_start=delimiter + modem.DELIMITER_QUARTERS * n // 4,
        late=late - shift,
        cfo_bins=cfo,
        sync_word=word,
        snr_db=10 * np.log10(snr),
        power=float(np.mean(np.abs(pre) ** 2)),
        preamble_end=delimiter - 2 * n,
    )


def _sync_word(bins: np.ndarray, n: int, sync_words: tuple[int, ...]) -> int | None:
    """The accepted sync word one of whose two symbols was heard (a noisy symbol is allowed)."""
    for word in sync_words:
        expect = np.array(modem.sync_word_bins(word))
        if (_circular(bins, expect, n) <= SYNC_WORD_TOLERANCE_BINS).any():
            return word
    return None
