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
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import grpc
import grpc.aio
from google.protobuf.message import Message

from hotspot.client.backoff import SESSION_INIT_TIMEOUT_S, SESSION_RENEW_S
from hotspot.client.connection import OracleConnection, classify
from hotspot.clock import NS_PER_S, Clock
from hotspot.errors import OracleUnavailable, ReportRejected
from hotspot.keystore import KeyStore
from pocnet import signing
from pocnet.keys import Keypair
from pocnet.wire import STREAM_RETRY_AFTER_KEY, ingest_pb2, service_pb2_grpc

log = logging.getLogger(__name__)

MAX_STREAM_COOLDOWN_S = 3600  # whatever the oracle asks, streams are tried again by then
UNREADABLE_COOLDOWN_S = 300  # the key present but not a number


class _StreamsOff(Exception):
    """The oracle refused streams a moment ago; this report has not left: send it unary."""


@dataclass
class _Session:
    call: grpc.aio.StreamStreamCall
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

    def _refused(self, metadata: object, reason: str) -> None:
        """If the oracle's stream limits refused the stream (its trailing metadata says for how
        long), send by unary calls until then."""
        value = next((v for k, v in (metadata or ()) if k == STREAM_RETRY_AFTER_KEY), None)
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
        stub = service_pb2_grpc.IngestServiceStub(channel)
        method = {
            "beacon": stub.SubmitBeacon,
            "witness": stub.SubmitWitness,
            "coverage": stub.SubmitCoverage,
        }[kind]
        try:
            ack = await method(signed, timeout=self._conn.timeout_s)
        except grpc.aio.AioRpcError as exc:
            self.connected = False
            if exc.code() == grpc.StatusCode.ALREADY_EXISTS:
                return ingest_pb2.ReportAck(id=signing.report_id(report), duplicate=True)
            error = classify(exc, f"Submit{kind.title()}")
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
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
            # Ended between our check and the write: the report never left, so no unary
            # call is needed to find out whose fault it was; one new stream takes it, unless
            # the oracle just refused streams for a while.
            await self._close_session()
            session = await self._ensure_session()
            try:
                await self._write(session, kind, report)
            except grpc.aio.AioRpcError as exc:
                raise classify(exc, "ReportStream") from None
            except asyncio.InvalidStateError as exc:
                raise OracleUnavailable(f"ReportStream: {type(exc).__name__}") from None
        try:
            reply = await asyncio.wait_for(session.call.read(), self._conn.timeout_s)
        except grpc.aio.AioRpcError as exc:
            raise classify(exc, "ReportStream") from None
        except (TimeoutError, asyncio.InvalidStateError) as exc:
            raise OracleUnavailable(f"ReportStream: {type(exc).__name__}") from None
        if reply is grpc.aio.EOF or not reply.HasField("ack"):
            raise OracleUnavailable("ReportStream: closed by the oracle without an ack")
        _check_ack(reply.ack, report)
        return reply.ack

    async def _write(self, session: _Session, kind: str, report: Message) -> None:
        """Sign with the session key and send; raises as grpc does when the call has ended."""
        signed = _copy(report)
        signing.sign(signed, session.key)
        request = ingest_pb2.StreamRequest(**{kind: signed})
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
        stub = service_pb2_grpc.IngestServiceStub(channel)
        call = stub.ReportStream()
        try:
            offer = await asyncio.wait_for(call.read(), SESSION_INIT_TIMEOUT_S)
            if offer is grpc.aio.EOF or not offer.HasField("offer"):
                raise OracleUnavailable("ReportStream: no session offer")
            key = Keypair.generate(self._keys.keypair.network)
            init = signing.session_init(self._keys.keypair, offer.offer.nonce, key)
            await asyncio.wait_for(
                call.write(ingest_pb2.StreamRequest(session_init=init)), SESSION_INIT_TIMEOUT_S
            )
        except grpc.aio.AioRpcError as exc:
            call.cancel()
            self.connected = False
            if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                # It answered: keep the endpoint; maybe no streams for a while.
                self._refused(exc.trailing_metadata(), exc.details() or "")
            else:
                await self._conn.rotate(channel)
            raise OracleUnavailable(str(classify(exc, "ReportStream"))) from None
        except (TimeoutError, asyncio.InvalidStateError, OracleUnavailable) as exc:
            call.cancel()
            self.connected = False
            raise OracleUnavailable(f"ReportStream: session not established: {exc!r}") from None
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
        if not call.done() or call.cancelled():
            call.cancel()
            return False
        code, reason = await call.code(), await call.details()
        log.info("report stream ended by the oracle: %s: %s; the next report opens a new one",
                 code.name, reason, extra={"event": "stream_ended", "code": code.name,
                                           "reason": reason, "endpoint": self._conn.endpoint})
        self._refused(await call.trailing_metadata(), reason)  # refused at its session init
        return True


def _copy(report: Message) -> Message:
    copy = type(report)()
    copy.CopyFrom(report)
    return copy


def _check_ack(ack: ingest_pb2.ReportAck, report: Message) -> None:
    """An ack for some other report means the stream is out of step: never ack on it."""
    expected = signing.report_id(report)
    if ack.id != expected:
        raise OracleUnavailable(
            f"ack for {ack.id.hex()[:16]} while waiting for {expected.hex()[:16]}"
        )
