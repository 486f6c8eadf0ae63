"""The shared medium every simulated radio talks through.

Virtual devices (pseudo-terminal modules, the UDP packet forwarder) and `SimRadio` only know
this interface; what a transmission reaches, and with what RSSI/SNR, is the medium's business:
`LoopbackAir` here for device tests, the propagation-driven mesh for whole networks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from firmware_bridge.errors import TxRejected
from firmware_bridge.types import RxPacket, TxPacket

Deliver = Callable[[RxPacket], None]


def deliver_on_loop(
    loop: asyncio.AbstractEventLoop | None, handle: Deliver, frame: RxPacket
) -> None:
    """Hand `frame` to `handle` on `loop`, whatever thread the medium delivers from.

    Directly when already on that loop (the in-process mesh), thread-safely otherwise (a mesh
    driven from another thread); dropped when the receiver has no loop (not started).
    """
    if loop is None:
        return
    try:
        on_loop = asyncio.get_running_loop() is loop
    except RuntimeError:
        on_loop = False
    if on_loop:
        handle(frame)
    else:
        loop.call_soon_threadsafe(handle, frame)


class Air(Protocol):
    def attach(self, node_id: str, deliver: Deliver) -> None:
        """Start delivering frames heard by `node_id` to `deliver` (called synchronously)."""
        ...

    def detach(self, node_id: str) -> None: ...

    def transmit(self, node_id: str, packet: TxPacket, now_ns: int) -> None:
        """Put a frame on the air from `node_id` at `now_ns` (ns since the Unix epoch).

        Raises TxRejected when the medium refuses it (a transmitter's duty-cycle or dwell-time
        budget); the device answers its client as the real one would.
        """
        ...


class LoopbackAir:
    """Every attached node hears every other with the same RSSI and SNR: for device tests."""

    def __init__(self, rssi_dbm: float = -90.0, snr_db: float = 7.5) -> None:
        self._nodes: dict[str, Deliver] = {}
        self.rssi_dbm = rssi_dbm
        self.snr_db = snr_db
        self.sent: list[tuple[str, TxPacket]] = []
        # When set, every transmission is refused with this reason, as the mesh refuses one
        # that would break a duty-cycle or dwell-time budget.
        self.refusal: str | None = None

    def attach(self, node_id: str, deliver: Deliver) -> None:
        self._nodes[node_id] = deliver

    def detach(self, node_id: str) -> None:
        self._nodes.pop(node_id, None)

    def transmit(self, node_id: str, packet: TxPacket, now_ns: int) -> None:
        if self.refusal is not None:
            raise TxRejected(self.refusal)
        self.sent.append((node_id, packet))
        frame = RxPacket(
            payload=packet.payload,
            freq_hz=packet.freq_hz,
            datarate=packet.datarate,
            rssi_dbm=self.rssi_dbm,
            snr_db=self.snr_db,
            received_ns=now_ns,
        )
        for other, deliver in list(self._nodes.items()):
            if other != node_id:
                deliver(frame)
