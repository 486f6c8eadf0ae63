"""Splitting a wideband capture into LoRa channels, by selecting FFT bins.

One FFT of the capture, then per channel the bins within ±bandwidth/2 of its centre moved to
baseband and one short inverse FFT at `oversampling` samples per chip: an ideal band-pass
filter, frequency shift and decimation in one step, so eight channels cost one long FFT and
eight short ones. Centres are rounded to the capture's bin spacing (fs / length, a few Hz).
The same selection re-centres a channel on a frame's measured carrier, so a transmitter
20 ppm off is not cut by the channel's edge.
"""

from __future__ import annotations

import numpy as np


class Channelizer:
    def __init__(self, x: np.ndarray, sample_rate_hz: float, bw_hz: int, oversampling: int = 2):
        decimation = sample_rate_hz / (bw_hz * oversampling)
        if decimation < 1 or abs(decimation - round(decimation)) > 1e-9:
            raise ValueError(
                f"sample rate {sample_rate_hz:g} Hz is not an integer multiple of "
                f"{oversampling} × {bw_hz} Hz"
            )
        self._decimation = round(decimation)
        pad = -len(x) % self._decimation
        samples = np.concatenate([np.asarray(x, dtype=np.complex64),
                                  np.zeros(pad, np.complex64)])
        # Double precision: numpy's single-precision FFT is the one a foreign native library
        # in the same process has been seen to break (tests/fp_env.py), and it is no slower
        # here than the memory it saves.
        self._spectrum = np.fft.fft(samples.astype(np.complex128))
        self._bin_hz = sample_rate_hz / len(samples)
        self.sample_rate_hz = sample_rate_hz
        self.bw_hz = bw_hz
        self.oversampling = oversampling
        self.length = len(samples) // self._decimation

    def channel(self, offset_hz: float) -> np.ndarray:
        """The channel centred `offset_hz` from the capture's centre, at baseband."""
        m = len(self._spectrum)
        centre = round(offset_hz / self._bin_hz)
        half = int(self.bw_hz / 2 / self._bin_hz)
        out = np.zeros(self.length, dtype=np.complex128)
        pos = np.arange(0, half + 1)
        neg = np.arange(-half, 0)
        out[pos] = self._spectrum[(centre + pos) % m]
        out[neg] = self._spectrum[(centre + neg) % m]
        return (np.fft.ifft(out) * (self.length / m)).astype(np.complex64)

    def covers(self, offset_hz: float) -> bool:
        """Whether the whole channel lies inside the captured band."""
        return abs(offset_hz) + self.bw_hz / 2 <= self.sample_rate_hz / 2
