"""A recording as a front end: receive replays a SigMF capture block by block, transmit writes
each frame as its own SigMF file beside it (tx-0001.sigmf-meta, ...), so a hotspot can run
end to end on recorded IQ, and the hardware backends' tests can feed them recordings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from firmware_bridge.sdr.iq_files import Capture, read, write_sigmf


class FileFrontEnd:
    can_transmit = True

    def __init__(self, path: str | Path, start_ns: int = 0):
        self.path = Path(path)
        self._capture: Capture | None = None
        self._position = 0
        self._sent = 0
        self.sample_rate_hz = 0.0
        self.center_freq_hz = 0.0
        self.full_scale_dbm = 0.0
        self.start_ns = start_ns

    def open(self) -> None:
        self._capture = read(self.path)
        self.sample_rate_hz = self._capture.sample_rate_hz
        self.center_freq_hz = self._capture.center_freq_hz
        self.full_scale_dbm = self._capture.full_scale_dbm
        self.start_ns = self._capture.start_ns

    def close(self) -> None:
        self._capture = None

    def read(self, count: int) -> np.ndarray:
        if self._capture is None:
            raise RuntimeError("front end not open")
        block = self._capture.samples[self._position:self._position + count]
        self._position += len(block)
        return block

    def write(self, samples: np.ndarray, power_dbm: int) -> int:
        self._sent += 1
        out = self.path.with_name(f"tx-{self._sent:04d}")
        write_sigmf(out, Capture(samples.astype(np.complex64), self.sample_rate_hz,
                                 self.center_freq_hz, 0, full_scale_dbm=float(power_dbm)))
        return power_dbm
