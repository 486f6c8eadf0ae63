"""The three device roles the hotspot uses. Every backend, real or simulated, implements these.

Async because the hotspot runs as one asyncio TaskGroup; blocking serial I/O stays inside the
driver (a reader thread or the event loop's fd reader), never in the caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from firmware_bridge.types import CellMeasurement, Fix, RxPacket, TxPacket, TxReceipt


class Radio(Protocol):
    """A LoRa transceiver: concentrator via Semtech UDP, a serial module, or the simulator."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def transmit(self, packet: TxPacket) -> TxReceipt:
        """Send now; return only once the radio confirms, else raise TxRejected/DeviceTimeout."""
        ...

    def received(self) -> AsyncIterator[RxPacket]:
        """Frames with a good CRC, in arrival order, until stop()."""
        ...


class Gps(Protocol):
    """A GNSS receiver yielding one Fix per navigation epoch (about 1 Hz)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def fixes(self) -> AsyncIterator[Fix]: ...


class CellModem(Protocol):
    """A cellular modem that can report its serving cell(s) and, optionally, its own GNSS fix."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def serving_cells(self) -> list[CellMeasurement]: ...

    async def gnss_fix(self) -> Fix | None:
        """The modem's GNSS position, or None while it has no fix yet."""
        ...
