"""IngestService: unary submissions signed by the device key, and the session stream of
docs/protocol.md §1 (offer a nonce, expect a signed session init within 5 s, then reports signed by
the session key, at most 30 min). Each ack is written only after its report's commit.

On a stream, reports are pipelined: the reader verifies and queues while the writer awaits
commits and sends acks in order, so one stream is not limited to one fsync per report. Any
rejection of a single-report message ends the stream with its status after the acks already due
are sent. A `ReportBatch` (docs/protocol.md §2) is answered by one `BatchAck` with an outcome per
report: each report is checked, rate-limited and stored on its own, a refused one gets its status
code and reason there and the others of its batch are unaffected, and the stream goes on. Only a
batch outside its envelope (oracle.envelope: count, size) ends the stream, INVALID_ARGUMENT.
The window of reports in flight counts every report of a batch.

Every stream passes the `StreamGuard` (per-peer, per-key and global caps, a share for keys not
onboarded, idle timeout): a refused stream ends RESOURCE_EXHAUSTED before its offer or at its
session init; a stream the guard ends (idle, replaced by a newer session of its key) has its
reader cancelled and ends with that status.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from oracle.envelope import check_batch
from oracle.errors import BadReport, CommitTimeout, SessionError, SessionTimeout, StrangersLimited
from oracle.ingest import Ingestor, StreamGate, decode_report
from oracle.ratelimit import HeldThroughResets, Tarpit
from oracle.servicers._status import MAPPED, abort, status_for
from oracle.servicers._wire import decode, service, stream, unary
from oracle.storage.repository import InsertResult
from oracle.stream_guard import StreamGuard, StreamTicket
from pocnet import signing
from pocnet.errors import DecodeError, SignatureError
from pocnet.keys import PublicKey
from pocnet.wire import ingest_pb2, reports_pb2

SERVICE = "pocnet.v1.IngestService"
NONCE_LEN = 32
MAX_IN_FLIGHT = 4096  # per stream: reports verified but not yet acknowledged
REPORT_KINDS = frozenset(("beacon", "witness", "coverage"))


@dataclass(frozen=True)
class StreamLimits:
    init_timeout_s: float = 5.0
    session_max_s: float = 1800.0
    commit_timeout_s: float = 10.0


def _ack(result: InsertResult) -> ingest_pb2.ReportAck:
    return ingest_pb2.ReportAck(
        id=result.id, received_ms=result.received_ms, duplicate=result.duplicate
    )


def _batch_ack(outcomes: list[Any]) -> ingest_pb2.StreamResponse:
    """What a batch's answer says of each report: its ack, or the status it was refused with.
    Filled in place (`add`), a third of the cost of building a message per outcome."""
    response = ingest_pb2.StreamResponse()
    add = response.batch_ack.outcomes.add
    for report in outcomes:
        if isinstance(report, InsertResult):
            ack = add().ack
            ack.id, ack.received_ms, ack.duplicate = report
        else:
            code, reason = status_for(report)
            refused = add().refused
            refused.code, refused.reason = code.value[0], reason
    return response


class _Window:
    """Reports a stream has in flight (read, not yet acknowledged), batches counted by their
    reports: the reader takes room, the writer gives it back once the acks are written."""

    __slots__ = ("_room", "free")

    def __init__(self, size: int) -> None:
        self.free = size
        self._room: asyncio.Future[None] | None = None

    async def take(self, n: int) -> None:
        """Wait until `n` reports fit, then take them (the hot path checks `free` inline)."""
        while self.free < n:
            self._room = asyncio.get_running_loop().create_future()
            await self._room
        self.free -= n

    def give(self, n: int) -> None:
        self.free += n
        if self._room is not None and not self._room.done():
            self._room.set_result(None)


class IngestServicer:
    def __init__(
        self,
        ingestor: Ingestor,
        limits: StreamLimits,
        nonce: Callable[[int], bytes] = os.urandom,
        guard: StreamGuard | None = None,
        onboarded: Callable[[bytes], bool] | None = None,
        tarpit: Tarpit | HeldThroughResets | None = None,
    ) -> None:
        """`onboarded(key)` says whether a device key has a registration (a database read, run
        off the event loop once per session init); None counts every key as onboarded.
        `tarpit` holds a unary call's refusal by the shared budget of keys not onboarded, and
        the answer to a batch that budget refused whole."""
        self._ingestor = ingestor
        self._limits = limits
        self._nonce = nonce
        self._guard = guard
        self._onboarded = onboarded
        self._tarpit = tarpit

    async def _commit(self, future: Any) -> InsertResult:
        try:
            async with asyncio.timeout(self._limits.commit_timeout_s):
                return await future
        except TimeoutError:
            raise CommitTimeout("report not committed in time; resubmit (same id)") from None

    def _unary(self, kind: str) -> grpc.RpcMethodHandler:
        async def behavior(msg: Any, raw: bytes, context: Any) -> ingest_pb2.ReportAck:
            try:
                return _ack(await self._commit(self._ingestor.begin(kind, msg, raw=raw)))
            except StrangersLimited:
                if self._tarpit is not None:
                    await self._tarpit.hold(context.peer())
                raise

        cls = {"beacon": reports_pb2.BeaconReport, "witness": reports_pb2.WitnessReport,
               "coverage": reports_pb2.CoverageReport}[kind]
        return unary(cls, behavior)

    async def report_stream(self, _requests: Any, context: grpc.aio.ServicerContext) -> None:
        if self._guard is None:
            return await self._report_stream(context, None)
        try:
            ticket = self._guard.open(context.peer())
        except MAPPED as exc:
            await abort(context, exc)
        try:
            await self._report_stream(context, ticket)
        finally:
            self._guard.close(ticket)

    async def _report_stream(
        self, context: grpc.aio.ServicerContext, ticket: StreamTicket | None
    ) -> None:
        nonce = self._nonce(NONCE_LEN)
        await context.write(ingest_pb2.StreamResponse(offer=ingest_pb2.SessionOffer(nonce=nonce)))
        acks: asyncio.Queue[Any] = asyncio.Queue()  # bounded by the window
        window = _Window(MAX_IN_FLIGHT)
        reader = asyncio.create_task(self._read(context, nonce, acks, window, ticket))
        if ticket is not None:
            ticket.task = reader  # the guard cancels it to end the stream (idle, replaced)
        writer = asyncio.create_task(self._write(context, acks, window))
        try:
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_EXCEPTION)
            error: BaseException | None = None
            if writer in done and writer.exception() is not None:
                reader.cancel()
                error = writer.exception()
            else:
                error = reader.exception()  # the writer drains the acks already due first
                try:
                    await writer
                except MAPPED as exc:
                    error = error or exc
        finally:  # the client went away: stop both halves
            reader.cancel()
            writer.cancel()
        if error is not None:
            if ticket is not None and self._guard is not None:
                self._guard.close(ticket)  # free the place before the client sees the status
            if isinstance(error, MAPPED):
                await abort(context, error)
            raise error

    async def _read(
        self, context: grpc.aio.ServicerContext, nonce: bytes, acks: asyncio.Queue[Any],
        window: _Window, ticket: StreamTicket | None,
    ) -> None:
        try:
            await self._read_reports(context, nonce, acks, window, ticket)
        except asyncio.CancelledError:
            if ticket is None or ticket.reason is None:
                raise
            await acks.put(None)  # ended by the guard: ack what is due, then its status
            raise ticket.reason from None
        except BaseException:
            await acks.put(None)
            raise
        await acks.put(None)

    @staticmethod
    async def _next(context: grpc.aio.ServicerContext) -> tuple[Any, int]:
        """The next request and its size on the wire; (None, 0) at the end of the stream."""
        raw = await context.read()
        if raw is grpc.aio.EOF:
            return None, 0
        return decode(ingest_pb2.StreamRequest, raw), len(raw)

    async def _read_reports(
        self, context: grpc.aio.ServicerContext, nonce: bytes, acks: asyncio.Queue[Any],
        window: _Window, ticket: StreamTicket | None,
    ) -> None:
        try:
            async with asyncio.timeout(self._limits.init_timeout_s):
                first, _ = await self._next(context)
        except TimeoutError:
            raise SessionTimeout(
                f"no session init within {self._limits.init_timeout_s:g} s"
            ) from None
        if first is None:
            return
        if first.WhichOneof("msg") != "session_init":
            raise SessionError("the first message of a report stream must be a session init")
        session = self._session(first.session_init, nonce)
        if ticket is not None and self._guard is not None:
            key = session[0].to_bytes()
            onboarded = (self._onboarded is None
                         or await asyncio.to_thread(self._onboarded, key))
            self._guard.initialised(ticket, key, onboarded)
        begin, gate = self._ingestor.begin, StreamGate()
        clock_s = self._guard.clock_s if self._guard is not None else None
        try:
            # One timer for the whole session, not one per message (the hot path); the idle
            # timeout is the guard's sweep over `active_s`, not a timer per report either.
            async with asyncio.timeout(self._limits.session_max_s):
                while True:
                    request, size = await self._next(context)
                    if request is None:
                        return
                    if clock_s is not None:
                        ticket.active_s = clock_s()  # type: ignore[union-attr]
                    kind = request.WhichOneof("msg")
                    if kind == "batch":
                        entry: Any = self._begin_batch(request.batch, size, session)
                        n = entry[1]
                    elif kind in REPORT_KINDS:
                        entry = begin(kind, getattr(request, kind), session=session, gate=gate)
                        n = 1
                    else:
                        raise SessionError("only reports may follow the session init")
                    if window.free >= n:  # the hot path: no coroutine per message
                        window.free -= n
                    else:  # the window is full: wait for the writer
                        await window.take(n)
                    acks.put_nowait(entry)
        except TimeoutError:
            raise SessionError(
                f"session expired after {self._limits.session_max_s:g} s; open a new stream"
            ) from None

    def _begin_batch(
        self, batch: ingest_pb2.ReportBatch, size: int, session: tuple[PublicKey, PublicKey]
    ) -> tuple[asyncio.Future[list[Any]], int]:
        """Start every report of `batch` on its own (no gate: one refusal stops no other):
        (the future of the reports' outcomes, in order, and how many there are)."""
        reports = batch.reports
        check_batch(len(reports), size)
        pairs = []
        for item in reports:
            kind = item.WhichOneof("report")
            pairs.append((kind, getattr(item, kind) if kind is not None else None))
        return self._ingestor.begin_batch(pairs, session), len(pairs)

    def _session(self, init: ingest_pb2.SessionInit, nonce: bytes) -> tuple[PublicKey, PublicKey]:
        try:
            device, session = signing.verify_session_init(init, nonce)
        except (SignatureError, DecodeError) as exc:
            raise SessionError(f"bad session init: {exc}") from None
        self._ingestor.public_key(device.to_bytes())  # network check: BadReport otherwise
        if session.network != device.network:
            raise BadReport("session key and device key are for different networks")
        return device, session

    async def _write(
        self, context: grpc.aio.ServicerContext, acks: asyncio.Queue[Any], window: _Window
    ) -> None:
        while True:
            entry = acks.get_nowait() if not acks.empty() else await acks.get()
            if entry is None:
                return
            # No per-report timer here: the session timeout bounds the stream, and the
            # committer answers every queued row (a result or a StorageError).
            if type(entry) is tuple:  # a batch: (its outcomes' future, its size)
                outcomes = await entry[0]
                if self._tarpit is not None and all(
                        isinstance(o, StrangersLimited) for o in outcomes):
                    # A stranger's batch the shared budget refused whole waits like a unary
                    # refusal: a stream must not be a way to make us refuse at full speed.
                    await self._tarpit.hold(context.peer())
                await context.write(_batch_ack(outcomes))
                window.give(entry[1])
                continue
            result = await entry
            await context.write(ingest_pb2.StreamResponse(ack=_ack(result)))
            window.give(1)

    def handler(self) -> grpc.GenericRpcHandler:
        return service(
            SERVICE,
            {
                "SubmitBeacon": self._unary("beacon"),
                "SubmitWitness": self._unary("witness"),
                "SubmitCoverage": self._unary("coverage"),
                "ReportStream": stream(self.report_stream),
            },
        )


__all__ = ["SERVICE", "IngestServicer", "StreamLimits", "decode_report"]
