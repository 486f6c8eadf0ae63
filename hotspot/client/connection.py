"""The gRPC channel to the oracle: endpoint rotation, TLS, and the error classification.

Every wrapper in this package turns gRPC failures into two hotspot errors only: retry later
(`OracleUnavailable`) or never (`ReportRejected`), so the tasks above need no gRPC knowledge.

The client is grpclib (pure Python on asyncio and h2): grpcio's C core cost a small board
15-17 MB of its 40 MB (issue 15, docs/benchmarks.md). grpclib reports a failed call in several
shapes (a status from the oracle, a reset stream, a socket error, a deadline); `status_of`
folds them into one gRPC status so the classification below stays the one rule it was.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field

from grpclib.client import Channel
from grpclib.config import Configuration
from grpclib.const import Status
from grpclib.encoding.proto import ProtoCodec
from grpclib.exceptions import GRPCError, StreamTerminatedError
from h2.exceptions import H2Error

from hotspot.errors import OracleUnavailable, ReportRejected
from hotspot.settings import OracleSettings
from pocnet.keepalive import KEEPALIVE, KeepalivePolicy

log = logging.getLogger(__name__)

# Codes after which resending the same bytes can succeed later. Not UNIMPLEMENTED: an oracle
# without a method keeps refusing it, and a report retried at the head of the outbox holds up
# every report behind it (the report stream falls back to unary calls on any failure anyway).
TRANSIENT = frozenset({
    Status.UNAVAILABLE,
    Status.DEADLINE_EXCEEDED,
    Status.RESOURCE_EXHAUSTED,
    Status.ABORTED,
    Status.INTERNAL,
    Status.UNKNOWN,
    Status.CANCELLED,
})

# What a call on a grpclib channel raises when it fails: the oracle's status (GRPCError), a
# stream reset or a connection lost or closed by GOAWAY (StreamTerminatedError), a write on a
# stream h2 already closed (H2Error), and socket, TLS and deadline errors (OSError; asyncio's
# TimeoutError is one).
CALL_ERRORS = (GRPCError, StreamTerminatedError, H2Error, OSError)

# Keep messages small: beacon/witness reports are a few hundred bytes (docs/protocol.md §5 ingest).
MAX_RECEIVE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class CallStatus:
    """How a call ended, as gRPC says it: the code, its details and the trailing metadata."""

    code: Status
    details: str = ""
    trailers: Mapping[str, str] = field(default_factory=dict)


def status_of(exc: BaseException) -> CallStatus:
    """The gRPC status of a failed call, named as grpcio's client named it (a lost or reset
    connection is UNAVAILABLE, a deadline DEADLINE_EXCEEDED), so every caller keeps one set of
    codes to reason about."""
    if isinstance(exc, GRPCError):
        return CallStatus(exc.status, exc.message or "")
    if isinstance(exc, TimeoutError):
        return CallStatus(Status.DEADLINE_EXCEEDED, "Deadline Exceeded")
    return CallStatus(Status.UNAVAILABLE, f"{type(exc).__name__}: {exc}".rstrip(": "))


def rejection_reason(code: Status, details: str) -> str:
    """A short counted reason: `entropy_expired` when the oracle says the window is over."""
    text = (details or "").lower()
    if "entropy" in text and ("expired" in text or "window" in text or "unknown" in text):
        return "entropy_expired"
    return f"rejected_{code.name.lower()}"


def classify(status: CallStatus, what: str) -> OracleUnavailable | ReportRejected:
    code, details = status.code, status.details
    if code in TRANSIENT:
        return OracleUnavailable(f"{what}: {code.name}: {details}".rstrip(": "))
    return ReportRejected(rejection_reason(code, details), f"{what}: {code.name}: {details}")


class _LimitedCodec(ProtoCodec):
    """Protobuf, refusing replies over MAX_RECEIVE_BYTES as grpcio's max receive length did
    (grpclib has no such limit): RESOURCE_EXHAUSTED, so a huge reply is a retry-later, never a
    message the daemon goes on to parse. grpclib has buffered it by then; the oracle is ours."""

    def decode(self, data: bytes, message_type: type) -> object:
        if len(data) > MAX_RECEIVE_BYTES:
            raise GRPCError(Status.RESOURCE_EXHAUSTED, "received message larger than max "
                                                       f"({len(data)} vs. {MAX_RECEIVE_BYTES})")
        return super().decode(data, message_type)


def _split(endpoint: str) -> tuple[str, int]:
    """host:port as settings validated it; an IPv6 host may come in brackets."""
    host, _, port = endpoint.rpartition(":")
    return host.strip("[]"), int(port)


class OracleConnection:
    """A lazily opened channel to the first working endpoint; `rotate()` moves to the next.

    Each channel is a connection of its own, opened on its first call: after a failure the
    next call on a new channel tries the endpoint at once, and our own Backoff paces retries
    (grpcio kept a reconnect backoff growing to 120 s that outlived dropped channels; grpclib
    has none). Pings follow the keepalive agreement with the oracle (pocnet.keepalive)."""

    def __init__(self, settings: OracleSettings, keepalive: KeepalivePolicy = KEEPALIVE) -> None:
        self.settings = settings
        self.timeout_s = settings.timeout_s
        self._config = Configuration(**keepalive.grpclib_client_config())
        self._index = 0
        self._channel: Channel | None = None

    @property
    def endpoint(self) -> str:
        return self.settings.endpoints[self._index]

    def channel(self) -> Channel:
        if self._channel is None:
            self._channel = self._open(self.endpoint)
        return self._channel

    def _open(self, endpoint: str) -> Channel:
        host, port = _split(endpoint)
        return Channel(host, port, ssl=self._tls(), config=self._config, codec=_LimitedCodec())

    def _tls(self) -> ssl.SSLContext | None:
        """The system's roots, or only the configured CA file's; HTTP/2 by ALPN as gRPC needs."""
        if not self.settings.tls:
            return None
        context = ssl.create_default_context(cafile=self.settings.ca_file or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["h2"])
        return context

    async def rotate(self, failed: Channel | None = None) -> None:
        """After a call on `failed` failed: drop that channel and use the next endpoint on the
        next call. Tasks share this connection, so when the oracle goes away their calls fail
        together; only the first failure on a channel rotates, the later ones find it already
        replaced (and must not skip an endpoint or close the channel now in use)."""
        if failed is not None and failed is not self._channel:
            return
        await self.close()
        if len(self.settings.endpoints) > 1:
            self._index = (self._index + 1) % len(self.settings.endpoints)
            log.info("switching to oracle endpoint %s", self.endpoint)

    async def close(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None:
            channel.close()
