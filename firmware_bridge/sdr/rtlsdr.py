"""An RTL-SDR dongle through pyrtlsdr (librtlsdr from Debian): receive only.

Its 8-bit samples arrive from pyrtlsdr as complex values within ±1. The dongle has no
calibrated power: `full_scale_dbm` in the device string (measured once with a known signal
generator) makes RSSI meaningful; without it RSSI is relative to full scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from firmware_bridge.errors import DeviceUnavailable, TxRejected
from firmware_bridge.sdr.frontend import DeviceSpec, TunedFrontEnd

# R820T tuners: 2.4 MS/s is the highest rate without dropped samples on a Raspberry Pi.
MAX_RATE_HZ = 2_400_000


class RtlSdrFrontEnd(TunedFrontEnd):
    can_transmit = False

    def __init__(self, spec: DeviceSpec, device: Any = None):
        super().__init__(spec, device)
        if self.sample_rate_hz > MAX_RATE_HZ:
            raise ValueError(f"RTL-SDR rate {self.sample_rate_hz:g} above {MAX_RATE_HZ}")

    def open(self) -> None:
        if self._device is None:
            try:
                from rtlsdr import RtlSdr
            except ImportError as exc:
                raise DeviceUnavailable(
                    f"RTL-SDR support needs pip install 'pocnet[rtlsdr]' and librtlsdr ({exc})"
                ) from None
            try:
                target = self.spec.target
                self._device = (RtlSdr(device_index=int(target)) if target.isdigit()
                                else RtlSdr(serial_number=target) if target else RtlSdr())
            except Exception as exc:  # librtlsdr raises LibUSBError, IOError...
                raise DeviceUnavailable(
                    f"cannot open RTL-SDR {self.spec.target!r}: {exc}"
                ) from None
        self._device.sample_rate = self.sample_rate_hz
        self._device.center_freq = self.center_freq_hz
        gain = self.spec.options.get("gain_db")
        self._device.gain = "auto" if gain is None else gain

    def close(self) -> None:
        if self._device is not None:
            self._device.close()

    def read(self, count: int) -> np.ndarray:
        return np.asarray(self._device.read_samples(count), dtype=np.complex64)

    def write(self, samples: np.ndarray, power_dbm: int) -> int:
        raise TxRejected("an RTL-SDR cannot transmit: beacons need a transceiver (pluto)")
