"""SimRadio: the Radio interface over a medium, as the hotspot's tests and sim kind use it."""

from __future__ import annotations

import asyncio

import pytest

from firmware_bridge.errors import DeviceUnavailable
from firmware_bridge.types import TxPacket
from sim_radio.air import LoopbackAir
from sim_radio.radio import SimRadio

FRAME = TxPacket(b"\xe0" + bytes(51), 868_100_000, "SF12BW125", 20)


def test_transmit_reaches_the_peer_with_the_capped_power_and_the_injected_time() -> None:
    async def main() -> None:
        air = LoopbackAir()
        a = SimRadio(air, "a", lambda: 42, max_power_dbm=14)
        b = SimRadio(air, "b", lambda: 43)
        with pytest.raises(DeviceUnavailable):
            await a.transmit(FRAME)
        await a.start()
        await b.start()
        receipt = await a.transmit(FRAME)
        assert (receipt.power_dbm, receipt.sent_ns) == (14, 42)
        frames = b.received()
        frame = await asyncio.wait_for(anext(frames), 1)
        assert frame.payload == FRAME.payload and frame.received_ns == 42
        await b.stop()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(frames), 1)
        await a.stop()

    asyncio.run(main())


def test_a_full_queue_drops_and_counts() -> None:
    async def main() -> None:
        air = LoopbackAir()
        a = SimRadio(air, "a", lambda: 1)
        b = SimRadio(air, "b", lambda: 1, queue_size=2)
        await a.start()
        await b.start()
        for _ in range(5):
            await a.transmit(FRAME)
        assert b.dropped == 3

    asyncio.run(main())
