"""A shared band of IQ samples: simulated SDR hotspots that hear each other as samples.

Each node has a front end (the `IqFrontEnd` of `firmware_bridge.sdr`) whose receive stream
is thermal noise plus every other node's transmissions, each sent through `iq_channel` with
that link's path loss and offsets. Streams advance with the wall clock (a read returns once
its samples have "arrived"), so a transmission lands in each receiver's stream at the moment
it was sent, and a `SdrRadio` on one node delivers another node's beacon as an RxPacket, from
which the hotspot's witnesser builds its report.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from sim_radio.iq_channel import ChannelModel, apply

# Thermal noise −174 dBm/Hz plus a 6 dB receiver noise figure (an RTL-SDR or Pluto front end).
THERMAL_DBM_PER_HZ = -174.0
NOISE_FIGURE_DB = 6.0
# dBm of a stream whose mean |x|² is 1: puts the noise floor about 45 dB below full scale.
FULL_SCALE_DBM = -60.0
LORA_BW_HZ = 125_000


@dataclass
class Link:
    path_loss_db: float = 110.0
    model: ChannelModel = field(default_factory=ChannelModel)


class IqAir:
    def __init__(self, sample_rate_hz: float, center_freq_hz: float, seed: int = 0,
                 clock: Callable[[], float] = time.monotonic):
        self.sample_rate_hz = sample_rate_hz
        self.center_freq_hz = center_freq_hz
        self._rng = np.random.default_rng(seed)
        self._clock = clock
        self._epoch = clock()
        self._lock = threading.Lock()
        self._nodes: dict[str, IqAirFrontEnd] = {}
        self.links: dict[tuple[str, str], Link] = {}

    def front_end(self, name: str) -> IqAirFrontEnd:
        node = IqAirFrontEnd(self, name)
        self._nodes[name] = node
        return node

    def now_sample(self) -> int:
        return int((self._clock() - self._epoch) * self.sample_rate_hz)

    def noise_power(self) -> float:
        """Mean |x|² of the receiver noise over the whole sampled band."""
        dbm = THERMAL_DBM_PER_HZ + NOISE_FIGURE_DB + 10 * math.log10(self.sample_rate_hz)
        return 10 ** ((dbm - FULL_SCALE_DBM) / 10)

    def send(self, sender: str, samples: np.ndarray, power_dbm: int) -> None:
        """Place a transmission into every other node's stream from now on."""
        at = self.now_sample()
        with self._lock:
            for name, node in self._nodes.items():
                if name == sender:
                    continue
                link = self.links.get((sender, name), Link())
                gain_db = power_dbm - link.path_loss_db - FULL_SCALE_DBM
                model = replace(link.model, snr_db=None, gain_db=gain_db)
                rx = apply(samples, self.sample_rate_hz, LORA_BW_HZ, model, self._rng)
                node.pending.append((at, rx))

    def noise(self, count: int) -> np.ndarray:
        scale = math.sqrt(self.noise_power() / 2)
        with self._lock:
            re, im = self._rng.standard_normal((2, count))
        return (scale * (re + 1j * im)).astype(np.complex64)


class IqAirFrontEnd:
    can_transmit = True
    full_scale_dbm = FULL_SCALE_DBM

    def __init__(self, air: IqAir, name: str):
        self.air, self.name = air, name
        self.sample_rate_hz = air.sample_rate_hz
        self.center_freq_hz = air.center_freq_hz
        self.start_ns = 0
        self.pending: list[tuple[int, np.ndarray]] = []
        self._position = 0
        self._open = False

    def open(self) -> None:
        self._position = self.air.now_sample()
        self.start_ns = time.time_ns()
        self._open = True

    def close(self) -> None:
        self._open = False

    def read(self, count: int) -> np.ndarray:
        if not self._open:
            return np.zeros(0, np.complex64)
        wait_s = (self._position + count - self.air.now_sample()) / self.sample_rate_hz
        if wait_s > 0:
            time.sleep(wait_s)
        out = self.air.noise(count)
        lo, hi = self._position, self._position + count
        with self.air._lock:
            for start, rx in self.pending:
                a, b = max(lo, start), min(hi, start + len(rx))
                if a < b:
                    out[a - lo:b - lo] += rx[a - start:b - start]
            self.pending = [(s, rx) for s, rx in self.pending if s + len(rx) > hi]
        self._position = hi
        return out

    def write(self, samples: np.ndarray, power_dbm: int) -> int:
        self.air.send(self.name, samples, power_dbm)
        time.sleep(len(samples) / self.sample_rate_hz)     # on air for as long as it lasts
        return power_dbm
