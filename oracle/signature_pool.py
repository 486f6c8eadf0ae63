"""Ed25519 verification for ingest: the one check (`verify_signature`) and a pool of helper
processes that runs it on every core.

On the oracle's hot path a signature check costs about as much CPU as all the gRPC work around
it, and a verify holds the GIL, so threads cannot share it. Helper processes do the checks on
the other cores: the event loop queues (key, message, signature) triples (a report batch's
with one callback), sends them in batches as plain bytes (at most a few in flight per helper,
so a pipe write never blocks the loop) and calls each callback when its checks' answers are
back. Answers are delivered in the order the checks were asked for, whichever helper finishes
first, so a stream's reports are admitted in its order (a refused one-report message still
ends its stream after the acks due before it; in a batch each report has its own outcome, as
`Ingestor.begin_batch` says). If a helper dies, waiting callers get an error and the pool
stops; the ingestor then checks inline.

The check is pocnet.keys' one rule (docs/protocol.md §1, "Signature rule"): byte-level
refusals of non-canonical and small-order keys and R, then ed25519-zebra's cofactored check,
about 1.4x libsodium's verify rate and 2.7x OpenSSL's (docs/benchmarks.md, "Ed25519 checks on
ed25519-zebra"). Every verifier (these helpers, the inline path, the import) calls the same
function, so replicas agree on every signature. tests/oracle/test_signature_check.py pins the
accepted and refused cases here; tests/proto/test_keys_signatures.py compares the rule with
libsodium's case by case.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import struct
import threading
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection

from oracle.errors import OracleError, Overloaded, SignatureCheckerDied
from pocnet.keys import is_valid_signature

MAX_BATCH = 128  # ~5 ms of checks: the helper answers soon
MAX_BATCH_BYTES = 24 * 1024  # a batch's payload, beyond one report (up to 16 KiB) ...
MAX_IN_FLIGHT = 2  # ... times the batches one helper holds fits the pipe buffer (64 KiB), so a
# pipe write never waits for a helper that the machine has not scheduled yet
# A check on the pipe: the three lengths, then key, signature and message. Plain bytes both
# ways (the answer is one byte a check): no pickling of objects on the event loop.
_HEAD = struct.Struct("<III")
TRIPLE_BYTES = _HEAD.size + 32  # with the key; the signature and message count as they are
# Checks waiting for a helper, across all calls and streams: beyond this the caller is told
# to back off. Per-stream windows alone allow streams × 4096 reports of up to 16 KiB each.
MAX_PENDING = 32_768

# What a check's callback receives: the answer, or why there is none.
Outcome = bool | OracleError
# What a batch's callback receives: one byte a check (1 = valid), or why there is none.
Answers = bytes | OracleError
Triple = tuple[bytes, bytes, bytes]


def verify_signature(key32: bytes, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is key32's Ed25519 signature of `message`: pocnet.keys' one check."""
    return is_valid_signature(key32, message, signature)


def resolve_processes(setting: int | str, cpus: int | None) -> int:
    """`ingest.signature_processes` as a count: "auto" = one helper per core."""
    if setting == "auto":
        return max(1, cpus or 1)
    return int(setting)


def encode_checks(triples: Sequence[Triple]) -> bytes:
    """The checks as one pipe message (what `check_encoded` reads)."""
    parts: list[bytes] = []
    pack = _HEAD.pack
    for key, message, signature in triples:
        parts += (pack(len(key), len(signature), len(message)), key, signature, message)
    return b"".join(parts)


def check_encoded(data: bytes) -> bytes:
    """One byte per check of `encode_checks(triples)`: 1 if its signature is valid."""
    answers = bytearray()
    unpack, head, pos, end = _HEAD.unpack_from, _HEAD.size, 0, len(data)
    while pos < end:
        k, s, m = unpack(data, pos)
        pos += head
        key, signature = data[pos:pos + k], data[pos + k:pos + k + s]
        pos += k + s
        answers.append(verify_signature(key, data[pos:pos + m], signature))
        pos += m
    return bytes(answers)


def _helper(conn: Connection) -> None:
    """A helper process: answer each batch with one byte per check, until told to stop (an
    empty message or the pipe closing)."""
    while True:
        try:
            batch = conn.recv_bytes()
        except EOFError:
            return
        if not batch:
            return
        conn.send_bytes(check_encoded(batch))


def _batch_size(pending: list[Triple], most: int) -> int:
    """How many of the first `most` pending checks fit MAX_BATCH_BYTES (at least one)."""
    total = 0
    for size, (_, message, signature) in enumerate(pending[:most]):
        total += len(message) + len(signature) + TRIPLE_BYTES
        if total > MAX_BATCH_BYTES:
            return max(1, size)
    return min(most, len(pending))


class _Batch:
    """How many checks one batch sent to a helper holds, and its answers once they are back."""

    __slots__ = ("answers", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.answers: bytes | None = None


class _Helper:
    __slots__ = ("conn", "in_flight", "process")

    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.in_flight: deque[_Batch] = deque()


class SignaturePool:
    def __init__(self, processes: int = 1) -> None:
        """`processes` helpers (>= 1), each a core's worth of checks."""
        if processes < 1:
            raise ValueError("a signature pool needs at least one process")
        self._size = processes
        self._helpers: list[_Helper] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[Triple] = []  # checks not yet sent, in submit order
        # Each submission's callback and its number of checks, in submit order; answers come
        # back batch by batch in that order and are handed out from `_ready`.
        self._waiters: deque[tuple[Callable[[Answers], None], int]] = deque()
        self._ready = b""
        self._order: deque[_Batch] = deque()  # every batch in flight, in the order sent
        self._flush_scheduled = False
        self.alive = False

    @property
    def processes(self) -> int:
        return self._size

    def start(self) -> None:
        """Spawn the helpers (never fork: grpc's threads must not be copied into a child)."""
        self._loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("spawn")
        # Ctrl-C in a terminal signals the whole process group. The helpers leave it to the
        # server, which finishes its calls and then closes their pipes; otherwise they would die
        # printing tracebacks. An ignored signal stays ignored across spawn's exec, so they are
        # born ignoring it (only the main thread may change a signal's handler).
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            for i in range(self._size):
                parent, child = context.Pipe()
                process = context.Process(target=_helper, args=(child,), daemon=True,
                                          name=f"pocnet-sigcheck-{i}")
                process.start()
                child.close()
                helper = _Helper(process, parent)
                self._helpers.append(helper)
                self._loop.add_reader(parent.fileno(), self._on_answer, helper)
        finally:
            if main:  # None: a handler not set from Python; the default is the nearest
                signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
        self.alive = True

    def stop(self) -> None:
        self._close_helpers()
        self._fail_all(SignatureCheckerDied("oracle shutting down; resubmit"))

    def _close_helpers(self) -> None:
        helpers, self._helpers = self._helpers, []
        self.alive = False
        for helper in helpers:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(helper.conn.fileno())
            try:
                helper.conn.send_bytes(b"")
            except (BrokenPipeError, OSError):
                pass
            helper.conn.close()
        for helper in helpers:
            helper.process.join(5)
            if helper.process.is_alive():
                helper.process.kill()
                helper.process.join(5)

    def verify(self, key32: bytes, message: bytes, signature: bytes) -> asyncio.Future[bool]:
        """A future resolving to whether `signature` is key32's Ed25519 signature of message."""
        assert self._loop is not None
        future: asyncio.Future[bool] = self._loop.create_future()

        def settle(outcome: Outcome) -> None:
            if future.done():
                return
            if isinstance(outcome, OracleError):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

        self.submit(key32, message, signature, settle)
        return future

    def submit(
        self, key32: bytes, message: bytes, signature: bytes,
        callback: Callable[[Outcome], None],
    ) -> None:
        """Check later; `callback(answer or error)` runs on the event loop, in submit order.
        Refusals (pool dead, backlog full) call back at once."""

        def one(answers: Answers) -> None:
            callback(answers if isinstance(answers, OracleError) else answers[0] == 1)

        self.submit_many([(key32, message, signature)], one)

    def submit_many(
        self, triples: Sequence[Triple], callback: Callable[[Answers], None]
    ) -> None:
        """Check (key, message, signature) triples later; `callback` gets one byte a check (1 =
        valid), or the error that stopped them all, on the event loop, in submit order: a
        report batch costs one callback, not one a report. Refusals (pool dead, backlog full)
        call back at once."""
        if not self.alive:
            callback(SignatureCheckerDied("signature checker unavailable"))
            return
        if len(self._pending) + len(triples) > MAX_PENDING:
            callback(Overloaded("signature checks backlogged; retry later"))
            return
        if not triples:
            callback(b"")
            return
        self._pending += triples
        self._waiters.append((callback, len(triples)))
        if not self._flush_scheduled:
            assert self._loop is not None
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Send what is pending to helpers with room, split evenly so that all cores work."""
        self._flush_scheduled = False
        while self._pending and self.alive:
            free = [h for h in self._helpers if len(h.in_flight) < MAX_IN_FLIGHT]
            if not free:
                return
            helper = min(free, key=lambda h: len(h.in_flight))
            idle = sum(1 for h in free if not h.in_flight) or 1
            size = _batch_size(self._pending, min(MAX_BATCH, -(-len(self._pending) // idle)))
            chunk, self._pending = self._pending[:size], self._pending[size:]
            batch = _Batch(size)
            try:
                helper.conn.send_bytes(encode_checks(chunk))
            except (BrokenPipeError, OSError):
                self._order.append(batch)  # failed with the others, in order
                self._died()
                return
            helper.in_flight.append(batch)
            self._order.append(batch)

    def _on_answer(self, helper: _Helper) -> None:
        try:
            answers = helper.conn.recv_bytes()
        except (EOFError, OSError):
            self._died()
            return
        batch = helper.in_flight.popleft()
        if len(answers) != batch.size:
            self._died()
            return
        batch.answers = answers
        ready = self._ready
        while self._order and self._order[0].answers is not None:
            ready += self._order.popleft().answers or b""
        self._ready = ready
        while self._waiters and self._waiters[0][1] <= len(ready):
            callback, n = self._waiters.popleft()
            head, ready = ready[:n], ready[n:]
            self._ready = ready  # before the callback, which may submit more or stop the pool
            callback(head)
        self._flush()

    def _died(self) -> None:
        """One helper is gone: stop them all, so that the ingestor checks inline."""
        self._close_helpers()
        self._fail_all(SignatureCheckerDied("signature checker died; resubmit"))

    def _fail_all(self, error: OracleError) -> None:
        """Every submission not yet answered hears `error`, in submit order."""
        waiters, self._waiters = self._waiters, deque()
        self._order, self._pending, self._ready = deque(), [], b""
        for callback, _ in waiters:
            callback(error)
