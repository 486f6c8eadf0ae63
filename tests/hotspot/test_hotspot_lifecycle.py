"""Shutdown is bounded, logs are one JSON object per line, channels behave."""

from __future__ import annotations

import asyncio
import io
import json
import logging

from hotspot.app import _bounded_stop
from hotspot.channels import Inbox, Watch, until
from pocnet import logs


def test_a_task_that_ignores_shutdown_is_cancelled_after_the_grace() -> None:
    async def go():
        shutdown = asyncio.Event()

        async def polite() -> str:
            await shutdown.wait()
            return "done"

        async def stubborn() -> None:
            await asyncio.Event().wait()

        tasks = [asyncio.create_task(polite()), asyncio.create_task(stubborn())]
        stopper = asyncio.create_task(_bounded_stop(shutdown, tasks, grace_s=0.05))
        shutdown.set()
        await stopper
        await asyncio.gather(*tasks, return_exceptions=True)
        return tasks

    polite, stubborn = asyncio.run(go())
    assert polite.result() == "done"
    assert stubborn.cancelled()


def test_json_log_lines_carry_event_fields() -> None:
    stream = io.StringIO()
    logs.configure("info", stream)
    try:
        log = logging.getLogger("hotspot.test")
        log.info("beacon sent on %.1f MHz", 868.1, extra={"event": "beacon_sent", "n": 3})
        log.debug("hidden")
    finally:
        logging.getLogger().handlers[:] = []
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["msg"] == "beacon sent on 868.1 MHz"
    assert record["event"] == "beacon_sent" and record["n"] == 3
    assert record["level"] == "info" and record["ts"].endswith("Z")


def test_channels() -> None:
    async def go():
        inbox: Inbox[int] = Inbox(2)
        assert inbox.offer(1) and inbox.offer(2) and not inbox.offer(3)
        assert inbox.dropped == 1
        w: Watch[str] = Watch("a")
        v = w.version
        waiter = asyncio.create_task(w.changed(v))
        await asyncio.sleep(0)
        w.set("b")
        assert await waiter == "b"
        shutdown = asyncio.Event()
        shutdown.set()
        ok, value = await until(shutdown, asyncio.Event().wait())
        assert (ok, value) == (False, None)
        ok, value = await until(asyncio.Event(), inbox.get())
        assert (ok, value) == (True, 1)
    asyncio.run(go())
