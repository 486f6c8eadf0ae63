"""The IQ channel: noise calibrated over the LoRa band, delays, carrier and clock offsets."""

from __future__ import annotations

import numpy as np
import pytest

from sim_radio.iq_channel import ChannelModel, apply
from tests.fp_env import default_fp_env  # noqa: F401  (autouse)

FS = 500_000.0
BW = 125_000.0


def _tone(freq_hz: float, n: int) -> np.ndarray:
    return np.exp(2j * np.pi * freq_hz * np.arange(n) / FS).astype(np.complex64)


def test_noise_gives_the_snr_inside_the_lora_band() -> None:
    rng = np.random.default_rng(1)
    n = 1 << 18
    y = apply(np.zeros(n, np.complex64) + 1, FS, BW, ChannelModel(snr_db=-10.0), rng)
    noise = y - 1
    spectrum = np.abs(np.fft.fft(noise.astype(np.complex128))) ** 2 / n
    freqs = np.fft.fftfreq(n, 1 / FS)
    in_band = spectrum[np.abs(freqs) < BW / 2].sum() / n
    assert 10 * np.log10(1 / in_band) == pytest.approx(-10.0, abs=0.1)
    assert np.mean(np.abs(noise) ** 2) == pytest.approx(10 * FS / BW, rel=0.02)


def test_integer_delay_and_tail_are_exact_silence() -> None:
    x = _tone(10_000, 1000)
    y = apply(x, FS, BW, ChannelModel(delay_s=100 / FS, tail_s=50 / FS), None)
    assert len(y) == 1150
    assert np.all(y[:100] == 0) and np.all(y[1100:] == 0)
    assert np.allclose(y[100:1100], x)


def test_fractional_delay_shifts_a_band_limited_signal() -> None:
    x = _tone(20_000, 4000)
    y = apply(x, FS, BW, ChannelModel(delay_s=10.25 / FS), None)
    expected = np.exp(2j * np.pi * 20_000 * (np.arange(len(y)) - 10.25) / FS)
    middle = slice(100, 3900)
    assert np.abs(y[middle] - expected[middle]).max() < 0.01


def test_carrier_offset_and_drift() -> None:
    n = 1 << 16
    y = apply(np.ones(n, np.complex64), FS, BW, ChannelModel(cfo_hz=1234.0), None)
    peak = np.fft.fftfreq(n, 1 / FS)[np.argmax(np.abs(np.fft.fft(y.astype(np.complex128))))]
    assert peak == pytest.approx(1234.0, abs=FS / n)
    drift = apply(np.ones(n, np.complex64), FS, BW,
                  ChannelModel(cfo_drift_hz_per_s=1000.0), None)
    inst = np.angle(drift[1:] * np.conj(drift[:-1])) * FS / (2 * np.pi)
    assert inst[-1] == pytest.approx(1000.0 * (n - 1) / FS, abs=0.5)


def test_clock_offset_compresses_time() -> None:
    x = _tone(5_000, 100_000)
    y = apply(x, FS, BW, ChannelModel(clock_ppm=100.0), None)
    assert len(y) == pytest.approx(100_000 / (1 + 100e-6), abs=2)
    # A fast transmitter clock raises a tone's frequency by the same ppm.
    k = np.arange(1000, 90_000)
    phase = np.unwrap(np.angle(y[k].astype(np.complex128)))
    freq = (phase[-1] - phase[0]) / ((k[-1] - k[0]) / FS) / (2 * np.pi)
    assert freq == pytest.approx(5_000 * (1 + 100e-6), abs=0.05)


def test_echo_adds_a_delayed_copy() -> None:
    x = np.zeros(100, np.complex64)
    x[0] = 1
    y = apply(x, FS, BW, ChannelModel(echoes=((3 / FS, 0.5j),)), None)
    assert y[0] == 1 and y[3] == pytest.approx(0.5j)
