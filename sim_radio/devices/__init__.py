"""Virtual devices that speak the real serial and UDP protocols, one module per kind.

Every module exposes `add_arguments(parser)` and `async def serve(args, air, ready)`, which runs
until cancelled and calls `ready(endpoint)` once: a pseudo-terminal path such as /dev/pts/7,
or "127.0.0.1:1680" for UDP. `pocnet-sim device KIND` is the command-line front end.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# kind -> module under sim_radio.devices (imported on demand: pyubx2 only for "ublox", ...)
DEVICE_MODULES: dict[str, str] = {
    "rak3172": "rak3172",
    "rn2483": "rn2483",
    "ublox": "ublox",
    "quectel": "quectel",
    "packet-forwarder": "packet_forwarder",
    "sdr": "sdr",
}
KINDS: tuple[str, ...] = tuple(DEVICE_MODULES)


def load(kind: str) -> ModuleType:
    """The module of one device kind; KeyError for an unknown kind."""
    return importlib.import_module(f"{__name__}.{DEVICE_MODULES[kind]}")
