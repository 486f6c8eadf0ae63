"""The one interface every IQ source and sink implements, and the device string that picks one.

`radio.device` for `radio.kind = "sdr"` reads like a URL: the backend, its target, then the
tuning as query parameters, e.g.

    rtlsdr:0?center_hz=867800000&rate_hz=2000000&gain_db=40
    pluto:ip:192.168.2.1?center_hz=867800000&rate_hz=2000000&tx_gain_db=-10
    file:capture.sigmf-meta                 (replay; transmissions are written beside it)

so the hotspot's settings need no SDR-specific keys. Every backend imports its driver library
(pyrtlsdr, pyadi-iio) only when opened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

import numpy as np

# The band the default tuning covers: EU868's eight channels with a margin.
DEFAULT_CENTER_HZ = 867_800_000
DEFAULT_RATE_HZ = 2_000_000
SCHEMES = ("rtlsdr", "pluto", "file")


class IqFrontEnd(Protocol):
    """Blocking I/O, called from a worker thread by the radio."""

    sample_rate_hz: float
    center_freq_hz: float
    full_scale_dbm: float          # dBm of a stream whose mean |x|² is 1
    can_transmit: bool

    def open(self) -> None: ...

    def close(self) -> None: ...

    def read(self, count: int) -> np.ndarray:
        """Up to `count` complex64 samples; an empty array once a recording has ended."""
        ...

    def write(self, samples: np.ndarray, power_dbm: int) -> int:
        """Send `samples` (complex64 within ±1, already placed at the channel's offset from
        the centre frequency) and return the power really used, in dBm."""
        ...


@dataclass(frozen=True)
class DeviceSpec:
    scheme: str
    target: str
    options: dict[str, float] = field(default_factory=dict)

    def get(self, name: str, default: float) -> float:
        return self.options.get(name, default)


class TunedFrontEnd:
    """What the hardware backends share: tuning read from the device string, and the driver
    object (a pyrtlsdr or pyadi-iio device, or a stand-in fed from a recording in tests)."""

    def __init__(self, spec: DeviceSpec, device: Any = None):
        self.spec = spec
        self.sample_rate_hz = spec.get("rate_hz", DEFAULT_RATE_HZ)
        self.center_freq_hz = spec.get("center_hz", DEFAULT_CENTER_HZ)
        self.full_scale_dbm = spec.get("full_scale_dbm", 0.0)
        self._device = device


def parse_device(device: str) -> DeviceSpec:
    """"rtlsdr:0?center_hz=868e6" -> DeviceSpec("rtlsdr", "0", {"center_hz": 868e6})."""
    scheme, sep, rest = device.partition(":")
    if not sep or scheme not in SCHEMES:
        raise ValueError(
            f"SDR device {device!r}: want one of {', '.join(s + ':…' for s in SCHEMES)}"
        )
    target, _, query = rest.partition("?")
    options = {}
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)):
        try:
            options[key] = float(value)
        except ValueError:
            raise ValueError(f"SDR device option {key}={value!r} is not a number") from None
    return DeviceSpec(scheme, target, options)


def open_front_end(device: str) -> IqFrontEnd:
    spec = parse_device(device)
    match spec.scheme:
        case "rtlsdr":
            from firmware_bridge.sdr.rtlsdr import RtlSdrFrontEnd

            return RtlSdrFrontEnd(spec)
        case "pluto":
            from firmware_bridge.sdr.pluto import PlutoFrontEnd

            return PlutoFrontEnd(spec)
        case _:
            from firmware_bridge.sdr.replay import FileFrontEnd

            return FileFrontEnd(spec.target)
