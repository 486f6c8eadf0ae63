"""The SDR `Radio`: a recorded beacon comes out as an RxPacket on its channel; a transmitted
frame goes out as IQ that decodes back; RTL-SDR and Pluto code paths run on recorded IQ."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.errors import DeviceUnavailable, TxRejected
from firmware_bridge.registry import open_radio
from firmware_bridge.sdr import iq_files, scanner
from firmware_bridge.sdr.frontend import parse_device
from firmware_bridge.sdr.pluto import PlutoFrontEnd
from firmware_bridge.sdr.radio import SdrRadio, plan_channels
from firmware_bridge.sdr.replay import FileFrontEnd
from firmware_bridge.sdr.rtlsdr import RtlSdrFrontEnd
from firmware_bridge.types import TxPacket
from pocnet.regions import get_plan
from sim_radio.devices.sdr import record_beacon
from tests.fp_env import default_fp_env  # noqa: F401  (autouse)

TIMEOUT_S = 60


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory):
    rec = record_beacon("US915", 5.0, np.random.default_rng(3), rssi_dbm=-105.0)
    path = tmp_path_factory.mktemp("sdr") / "beacon"
    return iq_files.write_sigmf(path, rec.capture), rec


async def _first_packet(radio: SdrRadio):
    await radio.start()
    try:
        return await asyncio.wait_for(anext(radio.received()), TIMEOUT_S)
    finally:
        await radio.stop()


def _check(packet, rec) -> None:
    assert packet.payload == rec.beacon.frame
    assert packet.freq_hz == rec.beacon.frequency_hz and packet.datarate == "SF9BW125"
    assert packet.snr_db == pytest.approx(5.0, abs=1.0)
    assert packet.rssi_dbm == pytest.approx(-105 + 10 * np.log10(1 + 10 ** -0.5), abs=1.0)
    assert packet.received_ns == pytest.approx(
        rec.capture.start_ns + (0.05 + 8 * 512 / 125e3) * 1e9, abs=20_000)


def test_replayed_beacon_is_received(recording) -> None:
    meta, rec = recording
    radio = open_radio("sdr", f"file:{meta}?sf=9", window_s=2.0, overlap_s=1.0)
    assert isinstance(radio, SdrRadio) and radio.sfs == (9,)
    with pytest.raises(ValueError, match="sf=13"):
        open_radio("sdr", f"file:{meta}?sf=13")
    _check(asyncio.run(_first_packet(radio)), rec)
    assert radio.channels_hz == list(get_plan("US915").channels_hz[:8]) or set(
        get_plan("US915").channels_hz[:8]) <= set(radio.channels_hz)


class _RecordedRtl:
    """pyrtlsdr's RtlSdr as far as the front end uses it, fed from a recording."""

    def __init__(self, capture: iq_files.Capture):
        self.samples, self.position = capture.samples, 0
        self.sample_rate = self.center_freq = self.gain = None
        self.closed = False

    def read_samples(self, count: int) -> np.ndarray:
        out = self.samples[self.position:self.position + count]
        self.position += count
        return out.astype(np.complex128)

    def close(self) -> None:
        self.closed = True


def _radio(front_end, rec) -> SdrRadio:
    """A radio on a hardware front end whose clock starts where the recording does."""
    front_end.start_ns = rec.capture.start_ns
    return SdrRadio(front_end, sfs=(9,), window_s=2.0, overlap_s=1.0)


def _tuning(rec) -> str:
    return (f"center_hz={rec.capture.center_freq_hz}&full_scale_dbm="
            f"{rec.capture.full_scale_dbm}")


def test_rtlsdr_path_on_recorded_iq(recording) -> None:
    _meta, rec = recording
    spec = parse_device(f"rtlsdr:0?{_tuning(rec)}&rate_hz=2000000&gain_db=30")
    device = _RecordedRtl(rec.capture)
    radio = _radio(RtlSdrFrontEnd(spec, device), rec)
    _check(asyncio.run(_first_packet(radio)), rec)
    assert (device.sample_rate, device.center_freq, device.gain) == (
        2_000_000, rec.capture.center_freq_hz, 30)
    assert device.closed
    with pytest.raises(TxRejected, match="cannot transmit"):
        asyncio.run(radio.transmit(TxPacket(b"x", 903_900_000, "SF9BW125", 14)))


class _RecordedPluto:
    """adi.Pluto as far as the front end uses it: rx from a recording, tx recorded."""

    def __init__(self, capture: iq_files.Capture):
        self.samples, self.position = capture.samples, 0
        self.rx_buffer_size = 1024
        self.sent: list[np.ndarray] = []

    def rx(self) -> np.ndarray:
        out = self.samples[self.position:self.position + self.rx_buffer_size]
        self.position += self.rx_buffer_size
        return out * 2048.0

    def tx(self, samples: np.ndarray) -> None:
        self.sent.append(samples)

    def tx_destroy_buffer(self) -> None:
        pass


def test_pluto_path_receives_and_transmits(recording) -> None:
    _meta, rec = recording
    spec = parse_device(f"pluto:ip:192.168.2.1?{_tuning(rec)}&tx_gain_db=-3")
    device = _RecordedPluto(rec.capture)
    radio = _radio(PlutoFrontEnd(spec, device), rec)
    _check(asyncio.run(_first_packet(radio)), rec)
    assert device.sample_rate == 2_000_000 and device.tx_hardwaregain_chan0 == -3
    receipt = asyncio.run(radio.transmit(TxPacket(rec.beacon.frame, 904_300_000, "SF9BW125",
                                                  20)))
    assert receipt.power_dbm == 4          # 7 dBm at 0 dB gain, −3 dB
    [iq] = device.sent
    assert np.abs(iq).max() <= 2 ** 14 * 1.0001
    capture = iq_files.Capture(np.concatenate([np.zeros(5000), iq / 2 ** 14,
                                               np.zeros(5000)]).astype(np.complex64),
                               2_000_000, rec.capture.center_freq_hz, 0)
    [heard] = scanner.scan(capture, [904_300_000], sfs=(9,))
    assert heard.frame.payload == rec.beacon.frame and heard.frame.sync_word == 0x34


def test_transmit_rejections(tmp_path: Path, recording) -> None:
    meta, _rec = recording
    radio = SdrRadio(FileFrontEnd(meta))
    radio.front_end.open()
    for packet, reason in [
        (TxPacket(b"x", 903_900_000, "SF13BW125", 14), "spreading factor"),
        (TxPacket(b"x", 903_900_000, "SF9BW125", 14, code_rate="4/9"), "code rate"),
        (TxPacket(b"x", 915_000_000, "SF9BW125", 14), "outside the tuned band"),
    ]:
        with pytest.raises(TxRejected, match=reason):
            asyncio.run(radio.transmit(packet))


def test_device_strings_and_missing_drivers() -> None:
    spec = parse_device("rtlsdr:00000001?center_hz=868e6&gain_db=40")
    assert (spec.scheme, spec.target, spec.options) == (
        "rtlsdr", "00000001", {"center_hz": 868e6, "gain_db": 40.0})
    for bad in ("usrp:0", "rtlsdr", "rtlsdr:0?gain_db=high"):
        with pytest.raises(ValueError):
            parse_device(bad)
    pytest.importorskip("numpy")
    try:
        import rtlsdr  # noqa: F401
    except ImportError:
        with pytest.raises(DeviceUnavailable, match=r"pocnet\[rtlsdr\]"):
            RtlSdrFrontEnd(parse_device("rtlsdr:0")).open()
    try:
        import adi  # noqa: F401
    except ImportError:
        with pytest.raises(DeviceUnavailable, match=r"pocnet\[pluto\]"):
            PlutoFrontEnd(parse_device("pluto:")).open()


def test_plan_channels_inside_the_band() -> None:
    eu = plan_channels(867_800_000, 2_000_000)
    assert set(get_plan("EU868").channels_hz) <= set(eu)
    assert all(abs(f - 867_800_000) + 62_500 <= 1_000_000 for f in eu)


def test_private_sync_word_heard_once_across_overlapping_windows(tmp_path: Path) -> None:
    from firmware_bridge.sdr import modem
    from firmware_bridge.sdr.phy.params import LoraParams

    frame = modem.modulate(b"private", LoraParams(7, sync_word=0x12), 4)
    good = np.concatenate([np.zeros(50_000), frame, np.zeros(150_000)])
    capture = iq_files.Capture(good.astype(np.complex64), 500_000, 868_100_000, 10**18)
    meta = iq_files.write_sigmf(tmp_path / "private", capture)

    async def run() -> list:
        radio = SdrRadio(FileFrontEnd(meta), channels_hz=[868_100_000], sfs=(7,),
                         window_s=0.2, overlap_s=0.15)
        await radio.start()
        await asyncio.wait_for(radio.ended.wait(), TIMEOUT_S)
        await radio.stop()
        return [p async for p in radio.received()]

    [packet] = asyncio.run(run())        # in four overlapping windows, delivered once
    assert packet.payload == b"private" and packet.freq_hz == 868_100_000
    assert packet.received_ns == pytest.approx(10**18 + (0.1 + 8 * 128 / 125e3) * 1e9,
                                               abs=20_000)


def test_a_failing_front_end_ends_reception_with_device_unavailable(recording) -> None:
    _meta, rec = recording

    class Unplugged(_RecordedRtl):
        def read_samples(self, count: int) -> np.ndarray:
            if self.position > 400_000:       # mid-recording
                raise OSError("LIBUSB_ERROR_NO_DEVICE")
            return super().read_samples(count)

    radio = _radio(RtlSdrFrontEnd(parse_device("rtlsdr:0"), Unplugged(rec.capture)), rec)

    async def run() -> list:
        await radio.start()
        try:
            return [p async for p in radio.received()]
        finally:
            await radio.stop()

    with pytest.raises(DeviceUnavailable, match="LIBUSB_ERROR_NO_DEVICE"):
        asyncio.run(asyncio.wait_for(run(), TIMEOUT_S))
