"""`SimRadio`: the `Radio` interface over a simulated medium, for in-process networks and tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from firmware_bridge.errors import DeviceUnavailable
from firmware_bridge.types import RxPacket, TxPacket, TxReceipt
from sim_radio.air import Air, deliver_on_loop


class SimRadio:
    """A radio whose transmissions go to `air` and whose receptions come from it.

    `now_ns` is injected so a test's fake clock stamps transmissions; frames arrive on the
    event loop that called `start()`, whatever thread the medium delivers from.
    """

    def __init__(
        self,
        air: Air,
        node_id: str,
        now_ns: Callable[[], int],
        max_power_dbm: int | None = None,
        queue_size: int = 256,
    ) -> None:
        self._air = air
        self._node_id = node_id
        self._now_ns = now_ns
        self._max_power_dbm = max_power_dbm
        self._queue: asyncio.Queue[RxPacket | None] = asyncio.Queue(queue_size)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.dropped = 0

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._air.attach(self._node_id, self._deliver)

    async def stop(self) -> None:
        self._air.detach(self._node_id)
        if self._loop is not None:
            self._queue.put_nowait(None)
            self._loop = None

    async def transmit(self, packet: TxPacket) -> TxReceipt:
        if self._loop is None:
            raise DeviceUnavailable("simulated radio not started")
        power = packet.power_dbm
        if self._max_power_dbm is not None:
            power = min(power, self._max_power_dbm)
        sent_ns = self._now_ns()
        self._air.transmit(self._node_id, packet, sent_ns)
        return TxReceipt(power_dbm=power, sent_ns=sent_ns)

    async def received(self) -> AsyncIterator[RxPacket]:
        while (frame := await self._queue.get()) is not None:
            yield frame

    def _deliver(self, frame: RxPacket) -> None:
        deliver_on_loop(self._loop, self._put, frame)

    def _put(self, frame: RxPacket) -> None:
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.dropped += 1
