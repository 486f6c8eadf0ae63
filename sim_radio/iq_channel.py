"""The radio channel as IQ samples: what happens to a frame between two simulated SDRs.

Timing offset (silence before the frame, any fraction of a sample), sampling-clock offset
(the transmitter's clock in ppm against the receiver's), multipath echoes, carrier-frequency
offset with a linear drift, and white Gaussian noise at an SNR measured over the LoRa
bandwidth, as a concentrator reports it. Fractional delays and clock offsets resample with a
windowed-sinc interpolator; the frame must be oversampled (two or more samples per chip) for
that to be faithful, as it is for any real band-limited signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Windowed-sinc interpolator: taps each side and the chunk size that bounds its memory.
SINC_HALF_TAPS = 8
CHUNK_SAMPLES = 1 << 16


@dataclass(frozen=True, slots=True)
class ChannelModel:
    snr_db: float | None = None        # over the LoRa bandwidth; None for no noise
    cfo_hz: float = 0.0
    cfo_drift_hz_per_s: float = 0.0
    delay_s: float = 0.0               # silence before the frame
    clock_ppm: float = 0.0             # transmitter's sampling clock fast by this much
    echoes: tuple[tuple[float, complex], ...] = ()  # (extra delay s, complex gain) each
    tail_s: float = 0.0                # silence after the frame
    gain_db: float = 0.0               # received power relative to the transmitted frame


def _resample(x: np.ndarray, times: np.ndarray) -> np.ndarray:
    """x (a band-limited sequence) at fractional sample `times`; zero outside it."""
    out = np.zeros(len(times), dtype=np.complex128)
    taps = np.arange(-SINC_HALF_TAPS + 1, SINC_HALF_TAPS + 1)
    for lo in range(0, len(times), CHUNK_SAMPLES):
        t = times[lo:lo + CHUNK_SAMPLES]
        base = np.floor(t).astype(np.int64)
        idx = base[:, None] + taps[None, :]
        dist = t[:, None] - idx
        weights = np.sinc(dist) * (0.5 + 0.5 * np.cos(np.pi * dist / SINC_HALF_TAPS))
        valid = (idx >= 0) & (idx < len(x))
        out[lo:lo + CHUNK_SAMPLES] = (
            np.where(valid, x[np.clip(idx, 0, len(x) - 1)], 0) * weights
        ).sum(axis=1)
    return out


def _delayed(x: np.ndarray, delay: float, ppm: float, length: int) -> np.ndarray:
    """The frame starting `delay` samples in, its clock `ppm` fast, over `length` samples."""
    if ppm == 0 and float(delay).is_integer():
        out = np.zeros(length, dtype=np.complex128)
        start = int(delay)
        part = x[: max(0, length - start)]
        out[start:start + len(part)] = part
        return out
    times = (np.arange(length) - delay) * (1 + ppm * 1e-6)
    return _resample(x, times)


def apply(
    frame: np.ndarray, sample_rate_hz: float, bw_hz: float, model: ChannelModel,
    rng: np.random.Generator,
) -> np.ndarray:
    """The frame as a receiver sampling at `sample_rate_hz` would record it."""
    frame = np.asarray(frame, dtype=np.complex128)
    delay = model.delay_s * sample_rate_hz
    extra_s = max((d for d, _ in model.echoes), default=0) + model.tail_s
    length = int(np.ceil(
        delay + len(frame) / (1 + model.clock_ppm * 1e-6) + extra_s * sample_rate_hz - 1e-9
    ))
    y = _delayed(frame, delay, model.clock_ppm, length)
    for extra_s, gain in model.echoes:
        y += gain * _delayed(frame, delay + extra_s * sample_rate_hz, model.clock_ppm, length)
    t = np.arange(length) / sample_rate_hz
    phase = model.cfo_hz * t + 0.5 * model.cfo_drift_hz_per_s * t * t
    y *= np.exp(2j * np.pi * phase) * 10 ** (model.gain_db / 20)
    if model.snr_db is not None:
        signal_power = np.mean(np.abs(frame) ** 2) * 10 ** (model.gain_db / 10)
        # Noise over the whole sampled band, so that the share inside the LoRa band gives
        # the requested SNR.
        noise_power = signal_power * 10 ** (-model.snr_db / 10) * sample_rate_hz / bw_hz
        y += np.sqrt(noise_power / 2) * (
            rng.standard_normal(length) + 1j * rng.standard_normal(length)
        )
    return y.astype(np.complex64)
