"""The one place that knows every backend: a configured kind and device name -> a driver.

Each backend is imported inside its match arm, so a hotspot with a RAK3172 never imports the
UDP server, and a backend another module owns can be missing without breaking the rest.
The simulated radio ("sim") lives in `sim_radio`, which `firmware_bridge` must not import;
the hotspot wires it itself and this registry says so if asked.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from firmware_bridge.interfaces import CellModem, Gps, Radio

RADIO_KINDS: tuple[str, ...] = ("semtech-udp", "rak3172", "rn2483", "sim", "sdr")
MODEM_KINDS: tuple[str, ...] = ("quectel",)
REPLAY_PREFIX = "replay:"


class UnknownDeviceKind(ValueError):
    """A configured device kind that no backend implements."""


def _host_port(device: str) -> dict[str, Any]:
    """"127.0.0.1:1680", ":1680", "127.0.0.1" or "" -> SemtechUdpRadio keyword arguments."""
    if not device:
        return {}
    host, sep, port = device.rpartition(":")
    if not sep:
        return {"host": device}
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"bad UDP endpoint {device!r}: want HOST:PORT")
    return {"host": host or "127.0.0.1", "port": int(port)}


def open_radio(kind: str, device: str, **opts: Any) -> Radio:
    """A radio driver, not yet started: `await radio.start()` opens the device."""
    match kind:
        case "semtech-udp":
            from firmware_bridge.semtech_udp.radio import SemtechUdpRadio

            return SemtechUdpRadio(**_host_port(device), **opts)
        case "rak3172":
            from firmware_bridge.serial_at.rak3172 import Rak3172Radio

            return Rak3172Radio(device, **opts)
        case "rn2483":
            from firmware_bridge.serial_at.rn2483 import Rn2483Radio

            return Rn2483Radio(device, **opts)
        case "sdr":
            from firmware_bridge.sdr.radio import open_sdr_radio

            return open_sdr_radio(device or "rtlsdr:0", **opts)
        case "sim":
            raise UnknownDeviceKind(
                "radio kind 'sim' is built by the hotspot from sim_radio.radio.SimRadio, "
                "not by firmware_bridge"
            )
        case _:
            raise UnknownDeviceKind(
                f"unknown radio kind {kind!r}; choose one of {', '.join(RADIO_KINDS)}"
            )


def open_gps(device: str, **opts: Any) -> Gps:
    """A u-blox receiver on a serial device, or a replay of a capture.

    A capture is named `replay:PATH`, or is simply a regular file (a serial device node is a
    character device), so `--gps ./capture.ubx` does what it says. A live receiver is asked
    for NAV-PVT once a second unless `configure=None` is passed.
    """
    from firmware_bridge.ublox_gps.gnss import UbloxGps

    if device.startswith(REPLAY_PREFIX):
        return UbloxGps(replay=device.removeprefix(REPLAY_PREFIX), **opts)
    try:
        is_file = stat.S_ISREG(Path(device).stat().st_mode)
    except OSError:
        is_file = False
    if is_file:
        return UbloxGps(replay=device, **opts)
    # Ask a live receiver for NAV-PVT at 1 Hz (RAM only, so again at every start).
    opts.setdefault("configure", "auto")
    return UbloxGps(port=device, **opts)


def open_modem(device: str, kind: str = "quectel", **opts: Any) -> CellModem:
    match kind:
        case "quectel":
            from firmware_bridge.modem_5g.modem import QuectelModem

            return QuectelModem(device, **opts)
        case _:
            raise UnknownDeviceKind(
                f"unknown modem kind {kind!r}; choose one of {', '.join(MODEM_KINDS)}"
            )
