"""IngestService: the report stream with session keys, and unary submission as fallback.

docs/protocol.md §1: on a stream the oracle first offers a 32-byte nonce; we answer with a
SessionInit signed by the device key carrying a fresh session key, then sign each report with
the session key (pub_key stays the device key). Sessions are renewed before their 30 minutes run
out. Reports go one at a time and wait for their ack, so an error is always attributable to the
report in flight. A stream failure falls back to a unary call signed by the device key.

The oracle may end a stream between reports with a status (UNAVAILABLE when idle for 600 s,
ABORTED when a newer session of the same key replaced it, RESOURCE_EXHAUSTED over its caps).
That status is logged once (event "stream_ended", code, reason) and the next report opens a
new stream; only a stream that cannot be opened sends it unary. A report the oracle never saw
(the stream had ended before it was written) is simply sent on the new stream; one in flight
when the stream ended still goes unary, which tells whether it was that report's fault.

A stream the oracle refuses by its stream limits (too many streams from this address, or keys
not onboarded at their share) carries the trailing metadata `STREAM_RETRY_AFTER_KEY`: no
stream is tried for that many seconds (at most MAX_STREAM_COOLDOWN_S) and the reports go by
unary call meanwhile, instead of each opening a stream the oracle refuses. Other
RESOURCE_EXHAUSTED endings (a rate limit, an overloaded oracle) carry no such key and change
nothing about streams.

A backlog (the outbox after an outage) goes as `ReportBatch`es on the stream (`submit_batch`,
docs/protocol.md §2): one message carries up to MAX_BATCH_REPORTS reports and the oracle answers
each report on its own, an ack or the status that refused it. A batch that gets no answer as a
whole (the stream broke, no stream can be opened) tells nothing of its reports: the caller sends
them one at a time, as above, and the oracle deduplicates any it had stored. An oracle too old to
know batches ends the stream at the first one (not with a transient status): batches are then
off for BATCHES_OFF_S and reports go one at a time.

On a GOAWAY (an oracle shutting down or restarting) grpclib drops the whole connection at once,
calls in flight with it, where grpcio let them finish: the report in flight fails as
UNAVAILABLE and is sent again (unary now, or on a later stream). The oracle deduplicates by
report id, so one it had already stored comes back as a duplicate (ALREADY_EXISTS or an ack
marked duplicate); nothing acknowledged is lost, and the outbox deletes a report only on an ack.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.message import Message
from grpclib.client import StreamStreamMethod
from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError
from grpclib.metadata import decode_metadata

from hotspot.client.backoff import SESSION_INIT_TIMEOUT_S, SESSION_RENEW_S
from hotspot.client.connection import (
    CALL_ERRORS,
    TRANSIENT,
    CallStatus,
    OracleConnection,
    classify,
    status_of,
)
from hotspot.clock import NS_PER_S, Clock
from hotspot.errors import OracleUnavailable, ReportRejected
from hotspot.keystore import KeyStore
from pocnet import signing
from pocnet.keys import Keypair
from pocnet.wire import (
    MAX_BATCH_BYTES,
    MAX_BATCH_REPORTS,
    STREAM_RETRY_AFTER_KEY,
    ingest_pb2,
    service_grpc,
)

log = logging.getLogger(__name__)

MAX_STREAM_COOLDOWN_S = 3600  # whatever the oracle asks, streams are tried again by then
UNREADABLE_COOLDOWN_S = 300  # the key present but not a number
# For a stream's reader to record how it ended (see _ReportCall.write): spent only when a
# write fails, and the reader, woken by the same end, is normally done at once; generous so a
# busy board still reads the oracle's refusal rather than taking it for a broken connection.
READER_GRACE_S = 5.0
BATCHES_OFF_S = 3600  # an oracle that refused a batch (one too old for them) gets single reports
# A report's room in a batch beyond its own bytes (its oneof tag and length in BatchedReport,
# BatchedReport's in ReportBatch: 2 × (1 tag + up to 2 length bytes)), and the StreamRequest's
# own tag and length around the batch: sizes are counted, never serialised twice.
ITEM_OVERHEAD_BYTES = 6
REQUEST_OVERHEAD_BYTES = 4

# What `submit_batch` says of each report: its ack, or what that report alone met.
Outcome = ingest_pb2.ReportAck | OracleUnavailable | ReportRejected


class _StreamsOff(Exception):
    """The oracle refused streams a moment ago; this report has not left: send it unary."""


class _Ended(StreamTerminatedError):
    """The oracle closed its side of the stream; its status is in the trailers."""


class _ReportCall:
    """One report stream as the session uses it: write a request, read the next reply, see at
    once that the oracle ended the stream (`done()`, even while it sits idle between reports)
    and how (`status`).

    A reader task owns the grpclib stream from its opening to its end, so the end is noticed
    without a read in progress (grpclib reports it only to a read). gRPC's C servers reset the
    stream right after its status trailers unless the client half-closed it: grpclib raises
    StreamTerminatedError and turns the trailers into a GRPCError as the stream's context
    ends, but keeps their metadata (the oracle's retry-after key) only on its h2 stream, which
    `_trailing_metadata` reads (grpclib is pinned; the uploader's refusal tests cover it)."""

    def __init__(self, method: StreamStreamMethod) -> None:
        self._stream = method.open()
        self._replies: asyncio.Queue[ingest_pb2.StreamResponse | None] = asyncio.Queue()
        self.status: CallStatus | None = None  # how the oracle ended it; None: open or ours
        self._reader = asyncio.create_task(self._read_all())

    async def _read_all(self) -> None:
        stream = self._stream
        try:
            async with stream:
                await stream.send_request()
                while (reply := await stream.recv_message()) is not None:
                    self._replies.put_nowait(reply)
                raise _Ended("the oracle ended the stream")
        except _Ended:
            self.status = CallStatus(Status.OK, trailers=_trailing_metadata(stream))
        except CALL_ERRORS as exc:
            status = status_of(exc)
            self.status = CallStatus(status.code, status.details, _trailing_metadata(stream))
        finally:
            self._replies.put_nowait(None)  # wakes a read waiting for a reply that won't come

    def done(self) -> bool:
        return self._reader.done()

    async def write(self, request: ingest_pb2.StreamRequest) -> None:
        """Send one request; one of CALL_ERRORS when the stream has ended. The reader, woken by
        the same end, gets a moment to record the oracle's status first, which decides what
        the caller does next (a refusal with a retry-after is not a broken stream)."""
        if self.done():
            raise StreamTerminatedError("the report stream has ended")
        try:
            await self._stream.send_message(request)
        except CALL_ERRORS:
            await asyncio.wait([self._reader], timeout=READER_GRACE_S)
            raise

    async def read(self) -> ingest_pb2.StreamResponse | None:
        """The next reply, or None once the stream has ended (then on every later read)."""
        reply = await self._replies.get()
        if reply is None:
            self._replies.put_nowait(None)
        return reply

    async def cancel(self) -> None:
        """End the stream from our side (RST_STREAM) and wait until grpclib has let it go."""
        if not self.done():
            self._reader.cancel()
        await asyncio.wait([self._reader])


def _trailing_metadata(stream: object) -> dict[str, str]:
    """The metadata with the status of an ended stream: in a trailers-only reply (the headers)
    or in the trailers; see `_ReportCall`."""
    public = getattr(stream, "trailing_metadata", None)
    if public is not None:
        return dict(public.items())
    h2_stream = getattr(stream, "_stream", None)
    for block in (getattr(h2_stream, "trailers", None), getattr(h2_stream, "headers", None)):
        if block is not None and any(key == "grpc-status" for key, _ in block):
            return dict(decode_metadata(block).items())
    return {}


@dataclass
class _Session:
    call: _ReportCall
    key: Keypair
    started_ns: int


class IngestClient:
    """Submits reports; returns the oracle's ReportAck only once it durably stored them."""

    def __init__(self, conn: OracleConnection, keystore: KeyStore, clock: Clock,
                 use_stream: bool = True) -> None:
        self._conn = conn
        self._keys = keystore
        self._clock = clock
        self._use_stream = use_stream
        self._session: _Session | None = None
        self._streams_after_ns: int | None = None  # refused: unary calls until then
        self._batches_after_ns: int | None = None  # a batch refused: single reports until then
        self.connected = False

    @property
    def streaming(self) -> bool:
        """A stream session is open and the oracle has not ended it."""
        return self._session is not None and not self._session.call.done()

    async def submit(self, kind: str, report: Message) -> ingest_pb2.ReportAck:
        """Deliver one report. OracleUnavailable: retry later. ReportRejected: never."""
        if self._use_stream and not self._cooling_down():
            try:
                return await self._submit_stream(kind, report)
            except _StreamsOff:
                pass  # one unary call below, outside this try
            except (OracleUnavailable, ReportRejected) as exc:
                # Whatever broke the stream, unary tells us whether it is this report's fault.
                if not await self._close_session():
                    log.info("report stream failed (%s); trying a unary call", exc)
        return await self._submit_unary(kind, report)

    @property
    def batching(self) -> bool:
        """Whether `submit_batch` is worth a try now: streams are on and the oracle has not
        refused a batch lately."""
        if not self._use_stream or self._cooling_down():
            return False
        after = self._batches_after_ns
        if after is not None:
            now = self._clock.now_ns()
            if now < after and after - now <= BATCHES_OFF_S * NS_PER_S:
                return False
            self._batches_after_ns = None
        return True

    async def submit_batch(self, items: Sequence[tuple[str, Message]]) -> list[Outcome]:
        """Deliver the first reports of `items` that fit one batch (at least one): one outcome
        per report sent, in order, each an ack or the error that report alone met
        (OracleUnavailable: retry later; ReportRejected: never). Raises OracleUnavailable when
        the batch got no answer as a whole: nothing is known of its reports."""
        try:
            session = await self._ensure_session()
        except _StreamsOff:
            raise OracleUnavailable("ReportStream: streams refused; send reports one at a "
                                    "time") from None
        try:
            return await self._batch_on(session, items)
        except OracleUnavailable:
            await self._close_session()  # whatever is left of it is out of step
            raise

    async def _batch_on(self, session: _Session, items: Sequence[tuple[str, Message]]
                        ) -> list[Outcome]:
        sent, request = self._batch(session, items)
        try:
            await self._send(session, request)
        except CALL_ERRORS:
            # Ended between our check and the write (idle, replaced): one new stream takes it.
            await self._close_session()
            try:
                session = await self._ensure_session()
            except _StreamsOff:
                raise OracleUnavailable("ReportStream: streams refused") from None
            sent, request = self._batch(session, items)
            try:
                await self._send(session, request)
            except CALL_ERRORS as exc:
                raise OracleUnavailable(str(classify(status_of(exc), "ReportStream"))) from None
        try:
            reply = await asyncio.wait_for(session.call.read(), self._conn.timeout_s)
        except TimeoutError:
            raise OracleUnavailable("ReportStream: no answer to a report batch") from None
        if reply is None:
            status = session.call.status
            await self._close_session()
            if status is not None and status.code not in TRANSIENT | {Status.OK}:
                self._batches_after_ns = self._clock.now_ns() + BATCHES_OFF_S * NS_PER_S
                log.info("the oracle refused a report batch (%s: %s); sending reports one at a "
                         "time for %d s", status.code.name, status.details, BATCHES_OFF_S,
                         extra={"event": "batches_refused", "code": status.code.name,
                                "reason": status.details})
            raise OracleUnavailable("ReportStream: stream ended before the batch's answer")
        outcomes = reply.batch_ack.outcomes if reply.HasField("batch_ack") else ()
        if len(outcomes) != len(sent):
            raise OracleUnavailable(f"ReportStream: {len(outcomes)} outcomes for a batch of "
                                    f"{len(sent)}")
        results: list[Outcome] = []
        for (_, report), outcome in zip(sent, outcomes, strict=True):
            if outcome.HasField("ack"):
                _check_ack(outcome.ack, report)  # out of step: never ack on this stream
                results.append(outcome.ack)
            else:
                results.append(_refusal(outcome.refused))
        return results

    def _batch(self, session: _Session, items: Sequence[tuple[str, Message]]
               ) -> tuple[list[tuple[str, Message]], ingest_pb2.StreamRequest]:
        """The first `items` that fit MAX_BATCH_REPORTS and MAX_BATCH_BYTES, signed by the
        session key, and the request carrying them."""
        batch = ingest_pb2.ReportBatch()
        sent: list[tuple[str, Message]] = []
        size = REQUEST_OVERHEAD_BYTES
        for kind, report in items[:MAX_BATCH_REPORTS]:
            signed = _copy(report)
            signing.sign(signed, session.key)
            size += signed.ByteSize() + ITEM_OVERHEAD_BYTES
            if sent and size > MAX_BATCH_BYTES:
                break
            batch.reports.add(**{kind: signed})
            sent.append((kind, report))
        return sent, ingest_pb2.StreamRequest(batch=batch)

    async def close(self) -> None:
        await self._close_session()

    def _cooling_down(self) -> bool:
        after = self._streams_after_ns
        if after is None:
            return False
        # A clock stepped back by more than the cooldown must not keep streams off for good.
        now = self._clock.now_ns()
        if now >= after or after - now > MAX_STREAM_COOLDOWN_S * NS_PER_S:
            self._streams_after_ns = None
            return False
        return True

    def _refused(self, status: CallStatus) -> None:
        """If the oracle's stream limits refused the stream (its trailing metadata says for how
        long), send by unary calls until then."""
        value, reason = status.trailers.get(STREAM_RETRY_AFTER_KEY), status.details
        if value is None:
            return
        try:
            seconds = min(max(int(value), 1), MAX_STREAM_COOLDOWN_S)
        except (TypeError, ValueError):
            seconds = UNREADABLE_COOLDOWN_S
        self._streams_after_ns = self._clock.now_ns() + seconds * NS_PER_S
        log.info("the oracle refuses report streams (%s); sending by unary calls for %d s",
                 reason, seconds, extra={"event": "stream_refused", "reason": reason,
                                         "retry_after_s": seconds,
                                         "endpoint": self._conn.endpoint})

    async def _submit_unary(self, kind: str, report: Message) -> ingest_pb2.ReportAck:
        signed = _copy(report)
        self._keys.sign(signed)
        channel = self._conn.channel()
        stub = service_grpc.IngestServiceStub(channel)
        method = {
            "beacon": stub.SubmitBeacon,
            "witness": stub.SubmitWitness,
            "coverage": stub.SubmitCoverage,
        }[kind]
        try:
            ack = await method(signed, timeout=self._conn.timeout_s)
        except CALL_ERRORS as exc:
            self.connected = False
            status = status_of(exc)
            if status.code is Status.ALREADY_EXISTS:
                return ingest_pb2.ReportAck(id=signing.report_id(report), duplicate=True)
            error = classify(status, f"Submit{kind.title()}")
            if isinstance(error, OracleUnavailable):
                await self._conn.rotate(channel)
            raise error from None
        self.connected = True
        _check_ack(ack, report)
        return ack

    async def _submit_stream(self, kind: str, report: Message) -> ingest_pb2.ReportAck:
        session = await self._ensure_session()
        try:
            await self._write(session, kind, report)
        except CALL_ERRORS:
            # Ended between our check and the write: the report never left, so no unary
            # call is needed to find out whose fault it was; one new stream takes it, unless
            # the oracle just refused streams for a while.
            await self._close_session()
            session = await self._ensure_session()
            try:
                await self._write(session, kind, report)
            except CALL_ERRORS as exc:
                raise classify(status_of(exc), "ReportStream") from None
        try:
            reply = await asyncio.wait_for(session.call.read(), self._conn.timeout_s)
        except TimeoutError as exc:
            raise OracleUnavailable(f"ReportStream: {type(exc).__name__}") from None
        if reply is None:
            status = session.call.status
            if status is not None and status.code is not Status.OK:
                raise classify(status, "ReportStream")
        if reply is None or not reply.HasField("ack"):
            raise OracleUnavailable("ReportStream: closed by the oracle without an ack")
        _check_ack(reply.ack, report)
        return reply.ack

    async def _write(self, session: _Session, kind: str, report: Message) -> None:
        """Sign with the session key and send; one of CALL_ERRORS when the call has ended."""
        signed = _copy(report)
        signing.sign(signed, session.key)
        await self._send(session, ingest_pb2.StreamRequest(**{kind: signed}))

    async def _send(self, session: _Session, request: ingest_pb2.StreamRequest) -> None:
        """One of CALL_ERRORS when the call has ended."""
        try:
            await asyncio.wait_for(session.call.write(request), self._conn.timeout_s)
        except TimeoutError:
            raise OracleUnavailable("ReportStream: TimeoutError") from None

    async def _ensure_session(self) -> _Session:
        now = self._clock.now_ns()
        session = self._session
        # A negative age means the clock was stepped back: the age is unknown, so renew.
        # A call the oracle ended (idle, replaced) is replaced now, not found out by a report.
        if (session is not None and not session.call.done()
                and 0 <= now - session.started_ns < SESSION_RENEW_S * NS_PER_S):
            return session
        await self._close_session()
        if self._cooling_down():  # the call just closed was a refusal that says so
            raise _StreamsOff
        channel = self._conn.channel()
        call = _ReportCall(service_grpc.IngestServiceStub(channel).ReportStream)
        try:
            offer = await asyncio.wait_for(call.read(), SESSION_INIT_TIMEOUT_S)
            if offer is None and call.status is not None and call.status.code is not Status.OK:
                raise GRPCError(call.status.code, call.status.details)
            if offer is None or not offer.HasField("offer"):
                raise OracleUnavailable("ReportStream: no session offer")
            key = Keypair.generate(self._keys.keypair.network)
            init = signing.session_init(self._keys.keypair, offer.offer.nonce, key)
            await asyncio.wait_for(
                call.write(ingest_pb2.StreamRequest(session_init=init)), SESSION_INIT_TIMEOUT_S
            )
        except (TimeoutError, OracleUnavailable) as exc:  # an answer that is not the protocol's
            await call.cancel()
            self.connected = False
            raise OracleUnavailable(f"ReportStream: session not established: {exc!r}") from None
        except CALL_ERRORS as exc:
            await call.cancel()
            self.connected = False
            status = call.status or status_of(exc)
            if status.code is Status.RESOURCE_EXHAUSTED:
                # It answered: keep the endpoint; maybe no streams for a while.
                self._refused(status)
            else:
                await self._conn.rotate(channel)
            raise OracleUnavailable(str(classify(status, "ReportStream"))) from None
        self._session = _Session(call, key, now)
        self.connected = True
        log.info("report stream session open", extra={"event": "session_open",
                                                      "endpoint": self._conn.endpoint})
        return self._session

    async def _close_session(self) -> bool:
        """Forget the session; True when the oracle had ended it (its status is logged)."""
        session, self._session = self._session, None
        if session is None:
            return False
        call = session.call
        if not call.done() or call.status is None:
            await call.cancel()
            return False
        status = call.status
        code, reason = status.code.name, status.details
        log.info("report stream ended by the oracle: %s: %s; the next report opens a new one",
                 code, reason, extra={"event": "stream_ended", "code": code,
                                      "reason": reason, "endpoint": self._conn.endpoint})
        self._refused(status)  # refused at its session init
        return True


def _copy(report: Message) -> Message:
    copy = type(report)()
    copy.CopyFrom(report)
    return copy


def _refusal(refused: ingest_pb2.ReportRefusal) -> OracleUnavailable | ReportRejected:
    """One batched report's refusal, classified as a whole call's status would be."""
    try:
        code = Status(refused.code)
    except ValueError:
        code = Status.UNKNOWN
    return classify(CallStatus(code, refused.reason), "ReportStream")


def _check_ack(ack: ingest_pb2.ReportAck, report: Message) -> None:
    """An ack for some other report means the stream is out of step: never ack on it."""
    expected = signing.report_id(report)
    if ack.id != expected:
        raise OracleUnavailable(
            f"ack for {ack.id.hex()[:16]} while waiting for {expected.hex()[:16]}"
        )
