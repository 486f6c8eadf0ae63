"""`open_radio` / `open_gps` / `open_modem`: one match per kind, clear errors for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_bridge.registry import UnknownDeviceKind, open_gps, open_modem, open_radio
from firmware_bridge.serial_at.rak3172 import Rak3172Radio
from firmware_bridge.serial_at.rn2483 import Rn2483Radio
from firmware_bridge.ublox_gps.gnss import UbloxGps

RADIO_METHODS = ("start", "stop", "transmit", "received")


def test_serial_radios() -> None:
    rak = open_radio("rak3172", "/dev/ttyAMA0", rx_freq_hz=867_100_000)
    assert isinstance(rak, Rak3172Radio) and rak.port == "/dev/ttyAMA0"
    assert rak.rx_params.freq_hz == 867_100_000
    rn = open_radio("rn2483", "/dev/ttyUSB0")
    assert isinstance(rn, Rn2483Radio) and rn.transport.baudrate == 57_600
    assert rak.transport.baudrate == 115_200
    for radio in (rak, rn):
        assert all(callable(getattr(radio, m)) for m in RADIO_METHODS)


def test_semtech_udp_radio() -> None:
    pytest.importorskip("firmware_bridge.semtech_udp.radio")
    from firmware_bridge.semtech_udp.radio import SemtechUdpRadio

    radio = open_radio("semtech-udp", "127.0.0.1:1700")
    assert isinstance(radio, SemtechUdpRadio)
    assert all(callable(getattr(radio, m)) for m in RADIO_METHODS)
    assert isinstance(open_radio("semtech-udp", ""), SemtechUdpRadio)
    with pytest.raises(ValueError, match="HOST:PORT"):
        open_radio("semtech-udp", "127.0.0.1:notaport")


def test_unknown_and_sim_kinds() -> None:
    with pytest.raises(UnknownDeviceKind, match="choose one of"):
        open_radio("sx1276-spi", "/dev/spidev0.0")
    with pytest.raises(UnknownDeviceKind, match="SimRadio"):
        open_radio("sim", "")
    with pytest.raises(UnknownDeviceKind):
        open_modem("/dev/ttyUSB2", kind="sierra")


def test_gps_device_or_replay(tmp_path: Path) -> None:
    capture = tmp_path / "capture.ubx"
    capture.write_bytes(b"")
    by_file = open_gps(str(capture))
    assert isinstance(by_file, UbloxGps) and by_file.replay == str(capture)
    by_prefix = open_gps(f"replay:{capture}")
    assert isinstance(by_prefix, UbloxGps) and by_prefix.replay == str(capture)
    live = open_gps("/dev/serial0", baudrate=38400)
    assert isinstance(live, UbloxGps) and live.port == "/dev/serial0" and live.baudrate == 38400
    assert live.configure == "auto" and by_file.configure is None
    assert open_gps("/dev/ttyACM0", configure=None).configure is None


def test_quectel_modem() -> None:
    module = pytest.importorskip("firmware_bridge.modem_5g.modem")
    modem = open_modem("/dev/ttyUSB2")
    assert isinstance(modem, module.QuectelModem)
