"""One wideband capture, eight channels: simultaneous frames on different channels and SFs
are all heard, each on its own channel, and nothing is heard twice."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.sdr import modem, scanner
from firmware_bridge.sdr.channelizer import Channelizer
from firmware_bridge.sdr.iq_files import Capture
from firmware_bridge.sdr.phy.params import LoraParams
from pocnet.regions import get_plan
from sim_radio.iq_channel import ChannelModel, apply
from tests.fp_env import default_fp_env  # noqa: F401  (autouse)

RATE_HZ = 2_000_000
CENTER_HZ = 867_800_000


def test_simultaneous_frames_on_three_channels() -> None:
    channels = get_plan("EU868").channels_hz
    rng = np.random.default_rng(9)
    sends = [(channels[0], 7, b"on 867.1"), (channels[3], 8, b"on 867.7"),
             (channels[7], 7, b"on 868.5")]
    total = np.zeros(0, np.complex128)
    for freq, sf, payload in sends:
        x = modem.modulate(payload, LoraParams(sf, sync_word=0x34), RATE_HZ // 125_000)
        model = ChannelModel(cfo_hz=freq - CENTER_HZ, delay_s=0.01 + 0.003 * sf,
                             tail_s=0.02)
        y = apply(x, RATE_HZ, 125_000, model, None)
        total = np.pad(total, (0, max(0, len(y) - len(total))))
        total[: len(y)] += y
    noise = 0.05 * (rng.standard_normal(len(total)) + 1j * rng.standard_normal(len(total)))
    capture = Capture((total + noise).astype(np.complex64), RATE_HZ, CENTER_HZ, 0)
    heard = scanner.scan(capture, channels, sfs=(7, 8))
    got = sorted((h.freq_hz, h.frame.sf, h.frame.payload) for h in heard if h.frame.crc_ok)
    assert got == sorted(sends)


def test_channels_covered_by_the_band() -> None:
    eu = get_plan("EU868").channels_hz
    assert scanner.covered(CENTER_HZ, RATE_HZ, eu, 125_000) == list(eu)
    # 1 MS/s centred on 867.8 MHz: a channel counts only if all its 125 kHz fit in ±500 kHz.
    assert scanner.covered(CENTER_HZ, 1_000_000, eu, 125_000) == list(eu[2:6])


def test_channelizer_rate_must_be_a_multiple() -> None:
    with pytest.raises(ValueError, match="integer multiple"):
        Channelizer(np.zeros(100, np.complex64), 2_400_000, 125_000, 4)
    ch = Channelizer(np.zeros(1001, np.complex64), 2_000_000, 125_000, 4)
    assert ch.length == 251 and len(ch.channel(100_000)) == 251


@pytest.mark.parametrize(("rate_hz", "expected"),
                         [(2_000_000, 4), (500_000, 4), (250_000, 2), (375_000, 1),
                          (125_000, 1), (1_250_000, 2)])
def test_samples_per_chip_follow_the_rate(rate_hz: int, expected: int) -> None:
    assert scanner.oversampling(rate_hz, 125_000) == expected


def test_rate_not_a_multiple_of_the_bandwidth() -> None:
    with pytest.raises(ValueError, match="not a multiple"):
        scanner.oversampling(2_400_000, 125_000)


def test_a_capture_at_one_sample_per_chip() -> None:
    x = modem.modulate(b"critical", LoraParams(7, sync_word=0x34))
    capture = Capture(np.concatenate([np.zeros(900), x, np.zeros(900)]).astype(np.complex64),
                      125_000, 868_100_000, 0)
    [heard] = scanner.scan(capture, [868_100_000], sfs=(7,))
    assert heard.frame.payload == b"critical" and heard.freq_hz == 868_100_000


def test_non_finite_samples_are_silence() -> None:
    x = modem.modulate(b"finite", LoraParams(7, sync_word=0x34))
    samples = np.concatenate([np.full(900, np.nan), x, np.full(900, np.inf)])
    capture = Capture(samples.astype(np.complex64), 125_000, 868_100_000, 0)
    [heard] = scanner.scan(capture, [868_100_000], sfs=(7,))
    assert heard.frame.payload == b"finite"
