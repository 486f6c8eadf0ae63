"""An ADALM-Pluto (AD9363) through pyadi-iio: transmit and receive.

pyadi-iio hands 12-bit samples as complex values within ±2^11 and takes transmit samples
within ±2^14 (its DAC scaling); both are converted to and from ±1 here. Transmit power is the
hardware gain (`tx_gain_db`, −89.75 to 0 dB) plus the board's output at 0 dB, about +7 dBm at
868 MHz (ADALM-Pluto user guide); the receipt reports that power, not the requested one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from firmware_bridge.errors import DeviceUnavailable
from firmware_bridge.sdr.frontend import DeviceSpec, TunedFrontEnd

RX_FULL_SCALE = 2.0 ** 11
TX_FULL_SCALE = 2.0 ** 14
OUTPUT_AT_0DB_DBM = 7.0
TX_GAIN_RANGE_DB = (-89.75, 0.0)
DEFAULT_URI = "ip:192.168.2.1"


class PlutoFrontEnd(TunedFrontEnd):
    can_transmit = True

    def __init__(self, spec: DeviceSpec, device: Any = None):
        super().__init__(spec, device)
        self.tx_gain_db = spec.get("tx_gain_db", -10.0)
        if not TX_GAIN_RANGE_DB[0] <= self.tx_gain_db <= TX_GAIN_RANGE_DB[1]:
            raise ValueError(f"tx_gain_db {self.tx_gain_db:g} outside {TX_GAIN_RANGE_DB}")

    def open(self) -> None:
        if self._device is None:
            try:
                import adi
            except ImportError as exc:
                raise DeviceUnavailable(
                    f"ADALM-Pluto support needs pip install 'pocnet[pluto]' ({exc})"
                ) from None
            try:
                self._device = adi.Pluto(self.spec.target or DEFAULT_URI)
            except Exception as exc:  # libiio raises OSError, ValueError...
                raise DeviceUnavailable(
                    f"cannot open ADALM-Pluto {self.spec.target!r}: {exc}"
                ) from None
        d = self._device
        d.sample_rate = int(self.sample_rate_hz)
        d.rx_lo = int(self.center_freq_hz)
        d.tx_lo = int(self.center_freq_hz)
        d.rx_rf_bandwidth = int(self.sample_rate_hz)
        gain = self.spec.options.get("gain_db")
        d.gain_control_mode_chan0 = "slow_attack" if gain is None else "manual"
        if gain is not None:
            d.rx_hardwaregain_chan0 = gain
        d.tx_hardwaregain_chan0 = self.tx_gain_db
        d.tx_cyclic_buffer = False

    def close(self) -> None:
        if self._device is not None:
            self._device.tx_destroy_buffer()

    def read(self, count: int) -> np.ndarray:
        if self._device.rx_buffer_size != count:
            self._device.rx_buffer_size = count
        return (np.asarray(self._device.rx(), dtype=np.complex64) / RX_FULL_SCALE).astype(
            np.complex64
        )

    def write(self, samples: np.ndarray, power_dbm: int) -> int:
        self._device.tx((samples * TX_FULL_SCALE).astype(np.complex64))
        return round(OUTPUT_AT_0DB_DBM + self.tx_gain_db)
