"""Two simulated SDR hotspots: a beacon goes from one to the other as IQ samples and comes out
as a witness report with the link's RSSI and SNR."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from firmware_bridge.sdr.radio import SdrRadio
from firmware_bridge.types import TxPacket
from hotspot.witnesser import build_witness
from pocnet.beacon import beacon_data, derive_beacon
from pocnet.regions import get_plan
from sim_radio.iq_air import IqAir, Link
from sim_radio.iq_channel import ChannelModel
from tests.fp_env import default_fp_env  # noqa: F401  (autouse)

RATE_HZ = 1_500_000
CENTER_HZ = 904_600_000          # US915 sub-band 2: 903.9–905.3 MHz
TIMEOUT_S = 60


async def _beacon_across(air: IqAir, beacon, power_dbm: int):
    a = SdrRadio(air.front_end("a"), sfs=(9,), window_s=1.0, overlap_s=0.5)
    b = SdrRadio(air.front_end("b"), sfs=(9,), window_s=1.0, overlap_s=0.5)
    await a.start()
    await b.start()
    try:
        await asyncio.sleep(0.2)
        receipt = await a.transmit(TxPacket(beacon.frame, beacon.frequency_hz,
                                            beacon.datarate, power_dbm))
        frame = await asyncio.wait_for(anext(b.received()), TIMEOUT_S)
    finally:
        await a.stop()
        await b.stop()
    return receipt, frame


def test_beacon_between_two_sdr_hotspots_becomes_a_witness() -> None:
    plan = get_plan("US915")
    beacon = derive_beacon(bytes(range(32)), 1_796_342_400, b"\x01\x02\x03\x04", plan)
    assert beacon.datarate == "SF9BW125" and abs(beacon.frequency_hz - CENTER_HZ) < 700_000
    air = IqAir(RATE_HZ, CENTER_HZ, seed=4)
    # 27 dBm − 140 dB = −113 dBm against a −117 dBm noise floor over 125 kHz: SNR ≈ +4 dB.
    air.links[("a", "b")] = Link(140.0, ChannelModel(cfo_hz=9_000.0, clock_ppm=10.0))
    receipt, frame = asyncio.run(_beacon_across(air, beacon, 27))
    assert receipt.power_dbm == 27
    assert frame.payload == beacon.frame and frame.freq_hz == beacon.frequency_hz
    noise_dbm = -174 + 6 + 10 * math.log10(125_000)
    assert frame.snr_db == pytest.approx(-113 - noise_dbm, abs=1.5)
    total = 10 * math.log10(10 ** (-11.3) + 10 ** (noise_dbm / 10))
    assert frame.rssi_dbm == pytest.approx(total, abs=1.5)
    report = build_witness(frame, b"\x00" * 33, None)
    assert report.data == beacon_data(beacon.frame) == beacon.data
    assert report.frequency == beacon.frequency_hz
    assert report.signal == round(frame.rssi_dbm * 10)
    assert np.isclose(report.snr / 10, frame.snr_db, atol=0.1)
