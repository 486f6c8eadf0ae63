"""The SDR as a `Radio`: transmit a frame as IQ, receive every channel the band covers.

Reception reads the front end in a worker thread, keeps a window of `window_s` seconds
overlapping the next by `overlap_s` (longer than the longest frame expected: a 52-byte SF12
beacon lasts 2.6 s), and scans each window on every channel and spreading factor. A frame
heard in two overlapping windows is delivered once. Channels default to every channel of
every region plan that lies inside the tuned band, so the radio hears whichever plan the
hotspot is in without being told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence

import numpy as np

from firmware_bridge.errors import DeviceUnavailable, TxRejected
from firmware_bridge.sdr import modem, scanner
from firmware_bridge.sdr.frontend import IqFrontEnd, open_front_end, parse_device
from firmware_bridge.sdr.iq_files import Capture
from firmware_bridge.sdr.phy.params import (
    SPREADING_FACTORS,
    LoraParams,
    ParamError,
    parse_code_rate,
    parse_datarate,
)
from firmware_bridge.types import RxPacket, TxPacket, TxReceipt
from pocnet.regions import PLAN_NAMES, get_plan

log = logging.getLogger(__name__)

# LoRaWAN public networks' sync word, which beacons are sent with (frames of 0x12, private
# networks, are received too).
DEFAULT_SYNC_WORD = 0x34
READ_BLOCK_S = 0.25
DUPLICATE_WINDOW_NS = 5_000_000
TMST_WRAP = 1 << 32


def plan_channels(center_hz: float, sample_rate_hz: float, bw_hz: int = 125_000) -> list[int]:
    """Every channel of every region plan inside the band, once each, in order."""
    every = {f for name in PLAN_NAMES for f in get_plan(name).channels_hz}
    return sorted(scanner.covered(center_hz, sample_rate_hz, every, bw_hz))


class SdrRadio:
    def __init__(
        self, front_end: IqFrontEnd, channels_hz: Sequence[int] | None = None,
        bw_hz: int = 125_000, sfs: Sequence[int] = SPREADING_FACTORS,
        sync_word: int = DEFAULT_SYNC_WORD, window_s: float = 8.0, overlap_s: float = 3.0,
        now_ns: Callable[[], int] = time.time_ns,
    ):
        if overlap_s >= window_s:
            raise ValueError("overlap_s must be shorter than window_s")
        self.front_end = front_end
        self.bw_hz = bw_hz
        self.sfs = tuple(sfs)
        self.sync_word = sync_word
        self.window_s, self.overlap_s = window_s, overlap_s
        self._channels = list(channels_hz) if channels_hz else None
        self._now_ns = now_ns
        self._queue: asyncio.Queue[RxPacket | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._recent: dict[tuple[int, str, bytes], int] = {}
        # Set once a recording has been read to its end and every window of it scanned.
        self.ended = asyncio.Event()
        self._failure: BaseException | None = None

    @property
    def channels_hz(self) -> list[int]:
        return list(self._channels or [])

    async def start(self) -> None:
        await asyncio.to_thread(self.front_end.open)
        fe = self.front_end
        if self._channels is None:
            self._channels = plan_channels(fe.center_freq_hz, fe.sample_rate_hz, self.bw_hz)
        self._task = asyncio.create_task(self._receive_loop(), name="sdr-receive")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self.front_end.close)
        self._queue.put_nowait(None)

    async def received(self) -> AsyncIterator[RxPacket]:
        """Frames until stop(); raises DeviceUnavailable if the front end fails, so the
        transceiver reopens it. A recording that ends just stops delivering."""
        while (packet := await self._queue.get()) is not None:
            yield packet
        if self._failure is not None:
            raise DeviceUnavailable(f"SDR front end failed: {self._failure}")

    async def transmit(self, packet: TxPacket) -> TxReceipt:
        fe = self.front_end
        if not fe.can_transmit:
            raise TxRejected(f"{type(fe).__name__} cannot transmit")
        try:
            sf, bw_hz = parse_datarate(packet.datarate)
            params = LoraParams(sf, bw_hz, parse_code_rate(packet.code_rate), True,
                                packet.preamble_symbols, self.sync_word)
        except ParamError as exc:
            raise TxRejected(str(exc)) from None
        offset_hz = packet.freq_hz - fe.center_freq_hz
        if abs(offset_hz) + bw_hz / 2 > fe.sample_rate_hz / 2:
            raise TxRejected(f"{packet.freq_hz} Hz is outside the tuned band")
        oversampling = fe.sample_rate_hz / bw_hz
        if not float(oversampling).is_integer():
            raise TxRejected(f"sample rate {fe.sample_rate_hz:g} is not a multiple of {bw_hz}")
        iq = modem.modulate(packet.payload, params, int(oversampling))
        iq = iq * np.exp(2j * np.pi * offset_hz * np.arange(len(iq)) / fe.sample_rate_hz)
        power = await asyncio.to_thread(fe.write, iq.astype(np.complex64), packet.power_dbm)
        return TxReceipt(power_dbm=power, sent_ns=self._now_ns())

    async def _receive_loop(self) -> None:
        fe = self.front_end
        rate = fe.sample_rate_hz
        block = int(READ_BLOCK_S * rate)
        window, overlap = int(self.window_s * rate), int(self.overlap_s * rate)
        start_ns = getattr(fe, "start_ns", 0) or self._now_ns()
        buffer, buffer_start, ended = np.zeros(0, np.complex64), 0, False
        while not ended:
            try:
                chunk = await asyncio.to_thread(fe.read, block)
            except Exception as exc:   # USB unplugged, libiio timeout, ...
                log.error("SDR front end read failed: %s", exc)
                self._failure = exc
                self._queue.put_nowait(None)
                return
            ended = len(chunk) == 0
            buffer = np.concatenate([buffer, chunk])
            if len(buffer) < window and not ended:
                continue
            capture = Capture(buffer, rate, fe.center_freq_hz,
                              start_ns + round(buffer_start / rate * 1e9), fe.full_scale_dbm)
            try:
                heard = await asyncio.to_thread(
                    scanner.scan, capture, self._channels or [], self.bw_hz, self.sfs
                )
            except Exception:   # no input from the air may end the daemon
                log.exception("SDR window of %d samples not decoded", len(buffer))
                heard = []
            for h in heard:
                self._deliver(h, start_ns, rate)
            keep = min(overlap, len(buffer))
            buffer_start += len(buffer) - keep
            buffer = buffer[len(buffer) - keep:]
        log.info("SDR recording ended; no more frames")
        self.ended.set()

    def _deliver(self, h: scanner.Heard, start_ns: int, rate: float) -> None:
        f = h.frame
        if not f.crc_ok:          # either sync word is heard, as a concentrator would
            return
        key = (h.freq_hz, f.datarate, f.payload)
        last = self._recent.get(key)
        if last is not None and abs(h.received_ns - last) < DUPLICATE_WINDOW_NS:
            return
        self._recent = {k: t for k, t in self._recent.items()
                        if h.received_ns - t < 60_000_000_000}
        self._recent[key] = h.received_ns
        tmst_us = (h.received_ns - start_ns) // 1000 % TMST_WRAP
        self._queue.put_nowait(RxPacket(
            payload=f.payload, freq_hz=h.freq_hz, datarate=f.datarate,
            rssi_dbm=round(h.rssi_dbm, 1), snr_db=round(f.snr_db, 1),
            received_ns=h.received_ns, tmst_us=tmst_us,
        ))


def open_sdr_radio(device: str, **opts: object) -> SdrRadio:
    """The registry's entry: a device string (see `frontend.py`) -> a radio, not started.

    `sf=N` in the device string listens at that spreading factor only (a region's beacons
    use one), which saves CPU on a small board.
    """
    sf = parse_device(device).options.get("sf")
    if sf is not None:
        if int(sf) not in SPREADING_FACTORS:
            raise ValueError(f"SDR device option sf={sf:g} not in 7..12")
        opts.setdefault("sfs", (int(sf),))
    return SdrRadio(open_front_end(device), **opts)  # type: ignore[arg-type]
