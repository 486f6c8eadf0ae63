"""Ed25519 verification in a helper process, batched over a pipe.

On the oracle's hot path a signature check costs about as much CPU as all the gRPC work around
it, and OpenSSL's verify holds the GIL, so threads cannot share it. A helper process does the
checks on another core: the event loop queues (key, message, signature) triples, sends them in
small batches (at most a few in flight, so a pipe write never blocks the loop) and resolves
each future when the batch's answers come back, in order. If the helper dies, waiting callers
get an error and the pool falls back to checking inline.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import threading
from collections import deque
from multiprocessing.connection import Connection
from typing import Any

from oracle.errors import OracleError, Overloaded, SignatureCheckerDied

MAX_BATCH = 96  # ~8 ms of checks: short enough that a pipe write never waits long
MAX_IN_FLIGHT = 2  # batches the helper holds; the pipe buffer (64 KiB) fits both
# Checks waiting for the helper, across all calls and streams: beyond this the caller is told
# to back off. Per-stream windows alone allow streams × 4096 reports of up to 16 KiB each.
MAX_PENDING = 32_768


def _check(keys: dict[bytes, Any], key32: bytes, message: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if len(signature) != 64:
        return False
    key = keys.get(key32)
    if key is None:
        try:
            key = Ed25519PublicKey.from_public_bytes(key32)
        except ValueError:
            return False
        if len(keys) > 100_000:
            keys.clear()
        keys[key32] = key
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _helper(conn: Connection) -> None:
    """The helper process: answer each batch with one bool per triple, until told to stop."""
    keys: dict[bytes, Any] = {}
    while True:
        try:
            batch = conn.recv()
        except EOFError:
            return
        if batch is None:
            return
        conn.send([_check(keys, *triple) for triple in batch])


class SignaturePool:
    def __init__(self) -> None:
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[tuple[bytes, bytes, bytes], asyncio.Future[bool]]] = []
        self._in_flight: deque[list[asyncio.Future[bool]]] = deque()
        self._flush_scheduled = False
        self.alive = False

    def start(self) -> None:
        """Spawn the helper (never fork: grpc's threads must not be copied into a child)."""
        self._loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(target=_helper, args=(child,), daemon=True,
                                        name="pocnet-sigcheck")
        # Ctrl-C in a terminal signals the whole process group. The helper leaves it to the
        # server, which finishes its calls and then closes the pipe; otherwise it would die
        # printing a traceback. An ignored signal stays ignored across spawn's exec, so the
        # helper is born ignoring it (only the main thread may change a signal's handler).
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            self._process.start()
        finally:
            if main:  # None: a handler not set from Python; the default is the nearest
                signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
        child.close()
        self._conn = parent
        self._loop.add_reader(parent.fileno(), self._on_answer)
        self.alive = True

    def stop(self) -> None:
        if self._conn is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._conn.fileno())
        try:
            self._conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self._conn.close()
        self._conn = None
        if self._process is not None:
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()
        self._fail_all(SignatureCheckerDied("oracle shutting down; resubmit"))
        self.alive = False

    def verify(self, key32: bytes, message: bytes, signature: bytes) -> asyncio.Future[bool]:
        """A future resolving to whether `signature` is key32's Ed25519 signature of message."""
        assert self._loop is not None
        future: asyncio.Future[bool] = self._loop.create_future()
        if not self.alive:
            future.set_exception(SignatureCheckerDied("signature checker unavailable"))
            return future
        if len(self._pending) >= MAX_PENDING:
            future.set_exception(Overloaded("signature checks backlogged; retry later"))
            return future
        self._pending.append(((key32, message, signature), future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._flush_scheduled = False
        while self._pending and len(self._in_flight) < MAX_IN_FLIGHT and self._conn is not None:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                self._conn.send([triple for triple, _ in batch])
            except (BrokenPipeError, OSError):
                self._died()
                for _, future in batch:
                    if not future.done():
                        future.set_exception(SignatureCheckerDied("signature checker died"))
                return
            self._in_flight.append([future for _, future in batch])

    def _on_answer(self) -> None:
        assert self._conn is not None
        try:
            answers = self._conn.recv()
        except (EOFError, OSError):
            self._died()
            return
        for future, ok in zip(self._in_flight.popleft(), answers, strict=True):
            if not future.done():
                future.set_result(ok)
        self._flush()

    def _died(self) -> None:
        self.alive = False
        if self._conn is not None and self._loop is not None:
            self._loop.remove_reader(self._conn.fileno())
        self._fail_all(SignatureCheckerDied("signature checker died; resubmit"))

    def _fail_all(self, error: OracleError) -> None:
        for futures in self._in_flight:
            for future in futures:
                if not future.done():
                    future.set_exception(error)
        self._in_flight.clear()
        for _, future in self._pending:
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
