"""How tasks talk: `Inbox[T]` (bounded queue, with request/reply) and `Watch[T]` (latest value).

Tasks share no mutable objects; they hold each other's inboxes and watches instead, so every
hand-over is explicit and each device has exactly one owner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
Q = TypeVar("Q")
R = TypeVar("R")


@dataclass
class Request(Generic[Q, R]):
    """A message that wants an answer: the receiver resolves `reply`."""

    body: Q
    reply: asyncio.Future[R] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Inbox(Generic[T]):
    """A bounded FIFO owned by one task; others only put into it."""

    def __init__(self, maxsize: int = 256) -> None:
        self._queue: asyncio.Queue[T] = asyncio.Queue(maxsize)
        self.dropped = 0

    async def put(self, item: T) -> None:
        await self._queue.put(item)

    def offer(self, item: T) -> bool:
        """Put without waiting; a full inbox drops (and counts) the item rather than block."""
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1
            return False
        return True

    async def get(self) -> T:
        return await self._queue.get()

    def empty(self) -> bool:
        return self._queue.empty()

    async def request(self: Inbox[Request[Q, R]], body: Q) -> R:
        """Send `body` and wait for the owner's answer (or its exception)."""
        req: Request[Q, R] = Request(body)
        await self._queue.put(req)
        return await req.reply


class Watch(Generic[T]):
    """The latest value of something, plus a way to wait for the next change."""

    def __init__(self, initial: T) -> None:
        self._value = initial
        self._version = 0
        self._changed = asyncio.Event()

    def get(self) -> T:
        return self._value

    @property
    def version(self) -> int:
        return self._version

    def set(self, value: T) -> None:
        self._value = value
        self._version += 1
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def changed(self, since_version: int) -> T:
        """Wait until the version moves past `since_version`, then return the value."""
        while self._version == since_version:
            await self._changed.wait()
        return self._value


async def until(shutdown: asyncio.Event, awaitable: Awaitable[T]) -> tuple[bool, T | None]:
    """Await `awaitable` unless shutdown comes first: (True, result) or (False, None)."""
    task = asyncio.ensure_future(awaitable)
    if shutdown.is_set():
        task.cancel()
        return False, None
    stopper = asyncio.ensure_future(shutdown.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        stopper.cancel()
    if task.done():
        return True, task.result()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    return False, None
