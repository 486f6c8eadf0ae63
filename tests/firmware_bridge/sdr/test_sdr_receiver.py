"""IQ in, frames out: modulate -> channel -> demodulate, with and without offsets.

The channel is the simulator's (`sim_radio.iq_channel`); offsets are those a real link has:
±20 ppm carrier and clock error at 868 MHz, timing offsets of any fraction of a sample.
"""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.sdr import modem, receiver, sync
from firmware_bridge.sdr.channelizer import Channelizer
from firmware_bridge.sdr.phy.params import LoraParams
from sim_radio.iq_channel import ChannelModel, apply
from tests.firmware_bridge.sdr.lora_phy_reference import load
from tests.fp_env import default_fp_env  # noqa: F401  (autouse)

CARRIER_HZ = 868_100_000
PPM20_HZ = 20e-6 * CARRIER_HZ


def _frames(x, p: LoraParams, os: int, **kw) -> list[receiver.Frame]:
    return receiver.decode_all(x, p.sf, p.bw_hz, oversampling=os, **kw)


@pytest.mark.parametrize("sf", range(7, 13))
def test_round_trip_without_offsets(sf: int) -> None:
    p = LoraParams(sf, cr=1 + sf % 4)
    x = np.concatenate([np.zeros(1000, np.complex64), modem.modulate(b"pocnet sdr", p)])
    [frame] = _frames(np.concatenate([x, np.zeros(p.n, np.complex64)]), p, 1)
    assert frame.payload == b"pocnet sdr" and frame.crc_ok
    assert (frame.sf, frame.bw_hz, frame.cr, frame.sync_word) == (sf, 125_000, p.cr, 0x12)
    assert frame.datarate == f"SF{sf}BW125"
    assert frame.snr_db > 30


@pytest.mark.parametrize(
    ("sf", "bw_hz", "cr", "cfo_hz", "delay_s", "ppm"),
    [
        (7, 125_000, 1, PPM20_HZ, 0.0123457, 20.0),
        (8, 250_000, 2, -PPM20_HZ, 0.0031234, -20.0),
        (9, 500_000, 3, PPM20_HZ / 2, 0.0011111, 10.0),
        (10, 125_000, 4, -PPM20_HZ, 0.0200003, -20.0),
        (11, 125_000, 1, PPM20_HZ, 0.0300000, 20.0),     # LDRO
        (12, 250_000, 2, -PPM20_HZ, 0.0500000, -20.0),   # LDRO at 250 kHz too
    ],
)
def test_round_trip_with_offsets(sf, bw_hz, cr, cfo_hz, delay_s, ppm) -> None:
    p = LoraParams(sf, bw_hz, cr, sync_word=0x34)
    os_tx, os_rx = 2, 2
    frame = modem.modulate(bytes(range(16)), p, os_tx)
    model = ChannelModel(snr_db=0.0, cfo_hz=cfo_hz, delay_s=delay_s, clock_ppm=ppm,
                         tail_s=0.005)
    y = apply(frame, os_tx * bw_hz, bw_hz, model, np.random.default_rng(sf))
    ch = Channelizer(y, os_tx * bw_hz, bw_hz, os_rx)
    [got] = _frames(ch.channel(0), p, os_rx, carrier_hz=CARRIER_HZ, retune=ch.channel)
    assert got.payload == bytes(range(16)) and got.crc_ok and got.sync_word == 0x34
    assert got.cfo_hz == pytest.approx(cfo_hz, abs=bw_hz / p.n / 2)
    assert got.snr_db == pytest.approx(0.0, abs=1.5)
    sync_word_s = delay_s + p.preamble_symbols * p.n / bw_hz * (1 - ppm * 1e-6)
    assert got.start_sample == pytest.approx(sync_word_s * bw_hz, abs=1)


def test_two_frames_and_sync_words() -> None:
    a = modem.modulate(b"first", LoraParams(7, sync_word=0x12))
    b = modem.modulate(b"second", LoraParams(7, sync_word=0x34))
    gap = np.zeros(700, np.complex64)
    x = np.concatenate([gap, a, gap, b, gap])
    frames = _frames(x, LoraParams(7), 1)
    assert [(f.payload, f.sync_word) for f in frames] == [(b"first", 0x12), (b"second", 0x34)]
    assert _frames(x, LoraParams(7), 1, sync_words=(0x34,))[0].payload == b"second"


def test_noise_alone_gives_nothing() -> None:
    rng = np.random.default_rng(7)
    noise = (rng.standard_normal(200_000) + 1j * rng.standard_normal(200_000)) / np.sqrt(2)
    assert _frames(noise.astype(np.complex64), LoraParams(7), 1) == []


def test_frame_cut_short_is_dropped() -> None:
    x = modem.modulate(b"cut short", LoraParams(7))
    assert _frames(x[: len(x) * 2 // 3], LoraParams(7), 1) == []


@pytest.mark.parametrize("sf", [7, 9])
def test_decodes_lora_phy_transmission(sf: int) -> None:
    """A frame modulated by LoRaPHY (6-symbol preamble, sync word 0x34, 2 samples a chip)."""
    tx = load("tx").LoRaTransmitter(sf, 125e3, 250e3, coding_rate=1 + sf % 4)
    payload = np.frombuffer(b"independent!", dtype=np.uint8)
    iq = tx.modulate(tx.encode(payload), cfo=1500.0)
    pad = np.zeros(3000, np.complex64)
    x = np.concatenate([pad, iq.astype(np.complex64), pad])
    [frame] = _frames(x, LoraParams(sf), 2)
    assert frame.payload == b"independent!" and frame.crc_ok and frame.sync_word == 0x34
    assert frame.cfo_hz == pytest.approx(1500.0, abs=20)


def test_clock_drift_is_followed_only_with_the_carrier() -> None:
    """At SF12 a 20 ppm clock slips ≈ 5 samples over the frame: without the carrier frequency
    (to turn the CFO into ppm) the last symbols are read off their windows."""
    p = LoraParams(12, cr=2)
    frame = modem.modulate(bytes(range(16)), p, 2)
    model = ChannelModel(snr_db=0.0, cfo_hz=-PPM20_HZ, delay_s=0.05, clock_ppm=-20.0,
                         tail_s=0.005)
    ch = Channelizer(apply(frame, 250e3, 125e3, model, np.random.default_rng(12)), 250e3,
                     125_000, 2)
    [lost] = _frames(ch.channel(0), p, 2, retune=ch.channel)
    assert not lost.crc_ok
    [kept] = _frames(ch.channel(0), p, 2, carrier_hz=CARRIER_HZ, retune=ch.channel)
    assert kept.crc_ok


def test_any_capture_is_decoded_or_ignored_never_raises() -> None:
    """Truncated frames at every cut, frames at the very start, and pure noise."""
    p = LoraParams(7)
    x = modem.modulate(b"edge", p, 2)
    rng = np.random.default_rng(11)
    noise = 0.1 * (rng.standard_normal(len(x)) + 1j * rng.standard_normal(len(x)))
    for cut in range(0, len(x), 97):
        for piece in (x[cut:], x[:cut], x[cut:] + noise[cut:]):
            for os in (1, 2):
                frames = _frames(piece.astype(np.complex64), p, os)
                assert all(f.payload == b"edge" for f in frames if f.crc_ok)
    # A frame measured again on another sampling phase can be placed a sample past either
    # end of the capture: the measurement gives up instead of indexing outside it.
    x1 = modem.modulate(b"edge", p)
    delimiter = (p.preamble_symbols + 2) * p.n
    assert sync.refine(x1, 7, delimiter, (0x12,)) is not None
    assert sync.refine(x1[: delimiter + 2 * p.n], 7, delimiter, (0x12,)) is None
    assert sync.refine(x1, 7, 6 * p.n, (0x12,)) is None
