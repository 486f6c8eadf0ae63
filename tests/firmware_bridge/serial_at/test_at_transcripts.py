"""Both drivers replayed against transcripts of whole sessions written from the manuals.

A scripted module on a real pty checks that each command the driver sends is the next one in
the transcript and answers with exactly the transcript's lines (echo, blank lines, boot banner
and events included), so the drivers are held to the modules' documented byte stream rather
than to our own virtual modules.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from firmware_bridge.serial_at.rak3172 import Rak3172Radio
from firmware_bridge.serial_at.rn2483 import Rn2483Radio
from firmware_bridge.types import TxPacket
from sim_radio.pty_device import PtyLineDevice

DATA = Path(__file__).parent / "data"


class ScriptedModule(PtyLineDevice):
    def __init__(self, transcript: Path) -> None:
        super().__init__()
        self.steps: list[tuple[str, list[str]]] = []
        for raw in transcript.read_text().splitlines():
            if raw.startswith("> "):
                self.steps.append((raw[2:], []))
            elif raw.startswith("<"):
                self.steps[-1][1].append(raw[2:])
        self.mismatches: list[tuple[str, str]] = []

    def handle_line(self, line: str) -> None:
        if not self.steps:
            self.mismatches.append(("<end of transcript>", line))
            return
        expected, replies = self.steps.pop(0)
        if line != expected:
            self.mismatches.append((expected, line))
            return
        for reply in replies:
            self.write(reply.encode() + b"\r\n")


def test_rui3_session() -> None:
    async def main() -> None:
        module = ScriptedModule(DATA / "rui3_p2p_session.txt")
        task = asyncio.create_task(module.run())
        radio = Rak3172Radio(module.path, command_timeout_s=1.0, tx_timeout_s=1.0)
        try:
            await asyncio.wait_for(radio.start(), 5)
            frames = radio.received().__aiter__()
            first = await asyncio.wait_for(frames.__anext__(), 2)
            second = await asyncio.wait_for(frames.__anext__(), 2)
            assert (first.payload, first.rssi_dbm, first.snr_db) == (b"0134", -54.0, 12.0)
            assert (second.payload, second.rssi_dbm, second.snr_db) == (b"\xe0AB", -101.0, -7.0)
            receipt = await asyncio.wait_for(
                radio.transmit(TxPacket(b"\xe0\xff", 868_100_000, "SF12BW125", 14)), 5
            )
            assert receipt.power_dbm == 14
            assert radio.resets_seen == 0
        finally:
            await radio.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert module.mismatches == []
        assert module.steps == []

    asyncio.run(main())


def test_rn2483_session() -> None:
    async def main() -> None:
        module = ScriptedModule(DATA / "rn2483_radio_session.txt")
        task = asyncio.create_task(module.run())
        radio = Rn2483Radio(module.path, command_timeout_s=1.0, tx_timeout_s=1.0)
        try:
            await asyncio.wait_for(radio.start(), 5)
            frame = await asyncio.wait_for(radio.received().__aiter__().__anext__(), 2)
            assert (frame.payload, frame.snr_db, frame.rssi_dbm) == (b"Hello", -5.0, -109.0)
            assert frame.datarate == "SF12BW125" and frame.freq_hz == 868_100_000
            await asyncio.wait_for(
                radio.transmit(TxPacket(b"\xe0\xff", 868_100_000, "SF12BW125", 14)), 5
            )
        finally:
            await radio.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert module.mismatches == []
        assert module.steps == []

    asyncio.run(main())
