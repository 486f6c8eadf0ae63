"""What the AT-device tests share: a terminal typing at a virtual module over its real pty,
and the harness that starts the module on a loopback medium and stops it afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from firmware_bridge.errors import DeviceTimeout
from firmware_bridge.serial_at.transport import SerialLineTransport
from sim_radio.air import LoopbackAir


class Client:
    """A terminal program typing at the module."""

    def __init__(self, transport: SerialLineTransport) -> None:
        self.t = transport

    async def ask(self, line: str, n: int = 1) -> list[str]:
        await self.t.write_line(line)
        return [await self.t.read_line(1.0) for _ in range(n)]

    async def silent(self, timeout_s: float = 0.05) -> bool:
        try:
            await self.t.read_line(timeout_s)
        except DeviceTimeout:
            return True
        return False


def run_on_pty(
    make_device: Callable[[LoopbackAir], Any],
    baudrate: int,
    body: Callable[[LoopbackAir, Any, Client], Awaitable[None]],
    air: LoopbackAir,
) -> None:
    """Start the device on `air`, open its pty at `baudrate`, run `body` (≤ 10 s), clean up."""

    async def main() -> None:
        device = make_device(air)
        task = asyncio.create_task(device.run())
        transport = SerialLineTransport(device.path, baudrate)
        await transport.open()
        try:
            await asyncio.wait_for(body(air, device, Client(transport)), 10)
        finally:
            await transport.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
