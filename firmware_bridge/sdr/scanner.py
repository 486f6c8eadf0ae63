"""Every LoRa frame in a wideband capture: each channel of the plan the capture covers, at
every spreading factor, the way a concentrator listens to eight channels at once.

RSSI is the channel's power over the preamble (signal plus noise, as a concentrator reports
it) in dBm through the receiver's calibration; the timestamp is the start of the sync word.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from firmware_bridge.sdr import receiver
from firmware_bridge.sdr.channelizer import Channelizer
from firmware_bridge.sdr.iq_files import Capture
from firmware_bridge.sdr.phy.params import SPREADING_FACTORS

# Samples per chip of each extracted channel, the first the capture's rate allows: at 4,
# symbols are read within 1/8 chip of their start; at 2 the quarter chip left over costs up
# to 3 dB where a chirp folds (docs/benchmarks.md).
CHANNEL_OVERSAMPLING = (4, 2, 1)


@dataclass(frozen=True, slots=True)
class Heard:
    frame: receiver.Frame
    freq_hz: int
    rssi_dbm: float
    received_ns: int


def covered(center_hz: float, sample_rate_hz: float, channels_hz: Iterable[int],
            bw_hz: int) -> list[int]:
    """The channels wholly inside the captured band."""
    half = sample_rate_hz / 2
    return [f for f in channels_hz if abs(f - center_hz) + bw_hz / 2 <= half]


def oversampling(sample_rate_hz: float, bw_hz: int) -> int:
    """Samples per chip for the channels of a capture: any integer multiple of the bandwidth
    works, a multiple of four times it best."""
    ratio = sample_rate_hz / bw_hz
    for os in CHANNEL_OVERSAMPLING:
        if ratio >= os and float(ratio / os).is_integer():
            return os
    raise ValueError(f"sample rate {sample_rate_hz:g} Hz is not a multiple of {bw_hz} Hz")


def scan(
    capture: Capture, channels_hz: Sequence[int], bw_hz: int = 125_000,
    sfs: Iterable[int] = SPREADING_FACTORS, soft: bool = True,
    on_channel: Callable[[], object] | None = None,
) -> list[Heard]:
    """Frames with a good CRC and bad ones alike, in time order (the caller filters);
    `on_channel` is called after each channel (a progress bar's update)."""
    os = oversampling(capture.sample_rate_hz, bw_hz)
    # A corrupt recording or driver may hand over NaN or infinity: silence instead.
    samples = np.nan_to_num(capture.samples, nan=0.0, posinf=0.0, neginf=0.0)
    chz = Channelizer(samples, capture.sample_rate_hz, bw_hz, os)
    heard = []
    sfs = tuple(sfs)
    for freq_hz in covered(capture.center_freq_hz, capture.sample_rate_hz, channels_hz, bw_hz):
        offset = freq_hz - capture.center_freq_hz
        x = chz.channel(offset)

        def retune(cfo_hz: float, offset: float = offset) -> np.ndarray:
            return chz.channel(offset + cfo_hz)

        for sf in sfs:
            for frame in receiver.decode_all(
                x, sf, bw_hz, os, soft, carrier_hz=freq_hz, retune=retune
            ):
                heard.append(Heard(
                    frame=frame,
                    freq_hz=freq_hz,
                    rssi_dbm=10 * np.log10(max(frame.power, 1e-30)) + capture.full_scale_dbm,
                    received_ns=capture.start_ns + round(frame.start_sample / bw_hz * 1e9),
                ))
        if on_channel is not None:
            on_channel()
    return sorted(heard, key=lambda h: h.received_ns)
