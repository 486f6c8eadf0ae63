"""Shared harness of the RAK3172 and RN2483 driver tests: a virtual module on a real
pseudo-terminal, a driver started against it, and a polling wait (no fixed sleeps)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar


class _Module(Protocol):
    path: str

    async def run(self) -> None: ...


class _Radio(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


D = TypeVar("D", bound=_Module)
R = TypeVar("R", bound=_Radio)

# Short timeouts keep the fault tests (silence, hangs) fast.
RADIO_TIMEOUTS: dict[str, Any] = {
    "command_timeout_s": 0.3,
    "tx_timeout_s": 0.5,
    "reconnect_attempts": 1,
}


async def until(cond: Callable[[], bool], timeout_s: float = 2.0) -> None:
    """Poll `cond` until it holds; fail the test after `timeout_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not cond():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


def run_module(
    make_device: Callable[[], D],
    make_radio: Callable[[str], R],
    body: Callable[[D, R], Awaitable[None]],
) -> None:
    """Start the module and the driver, run `body`, and tear both down whatever happens."""

    async def main() -> None:
        device = make_device()
        task = asyncio.create_task(device.run())
        radio = make_radio(device.path)
        await radio.start()
        try:
            await asyncio.wait_for(body(device, radio), 10)
        finally:
            await radio.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
