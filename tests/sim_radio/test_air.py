"""The medium interface's loopback implementation and the loop hand-off every radio uses."""

from __future__ import annotations

import asyncio
import threading

import pytest

from firmware_bridge.errors import TxRejected
from firmware_bridge.types import RxPacket, TxPacket
from sim_radio.air import LoopbackAir, deliver_on_loop

FRAME = TxPacket(b"\xe0" + bytes(51), 868_100_000, "SF12BW125", 14)


def test_loopback_reaches_every_other_node_but_not_the_sender() -> None:
    air = LoopbackAir(rssi_dbm=-101.0, snr_db=2.5)
    heard: dict[str, list[RxPacket]] = {"a": [], "b": [], "c": []}
    for name, frames in heard.items():
        air.attach(name, frames.append)
    air.transmit("a", FRAME, 123)
    assert heard["a"] == []
    for name in ("b", "c"):
        (frame,) = heard[name]
        assert (frame.payload, frame.freq_hz, frame.rssi_dbm, frame.snr_db, frame.received_ns) == (
            FRAME.payload,
            868_100_000,
            -101.0,
            2.5,
            123,
        )
    air.detach("c")
    air.transmit("a", FRAME, 124)
    assert len(heard["b"]) == 2 and len(heard["c"]) == 1
    assert air.sent == [("a", FRAME), ("a", FRAME)]


def test_loopback_refusal_sends_nothing() -> None:
    air = LoopbackAir()
    heard: list[RxPacket] = []
    air.attach("b", heard.append)
    air.refusal = "duty cycle"
    with pytest.raises(TxRejected, match="duty cycle"):
        air.transmit("a", FRAME, 1)
    assert heard == [] and air.sent == []


def test_deliver_on_loop_runs_on_the_receivers_loop() -> None:
    frame = RxPacket(b"x", 868_100_000, "SF7BW125", -80.0, 5.0, 1)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        seen: list[tuple[RxPacket, int]] = []

        def handle(f: RxPacket) -> None:
            seen.append((f, threading.get_ident()))

        deliver_on_loop(loop, handle, frame)  # on the loop: at once
        assert seen == [(frame, threading.get_ident())]
        worker = threading.Thread(target=deliver_on_loop, args=(loop, handle, frame))
        worker.start()
        worker.join()
        assert len(seen) == 1  # queued, not run on the worker
        await asyncio.sleep(0)
        assert seen[1] == (frame, threading.get_ident())  # ran on the loop's thread
        deliver_on_loop(None, handle, frame)  # a receiver not started: dropped
        await asyncio.sleep(0)
        assert len(seen) == 2

    asyncio.run(main())
