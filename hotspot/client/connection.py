"""The gRPC channel to the oracle: endpoint rotation, TLS, and the error classification.

Every wrapper in this package turns gRPC failures into two hotspot errors only: retry later
(`OracleUnavailable`) or never (`ReportRejected`), so the tasks above need no gRPC knowledge.
"""

from __future__ import annotations

import logging
from pathlib import Path

import grpc
import grpc.aio

from hotspot.errors import OracleUnavailable, ReportRejected
from hotspot.settings import OracleSettings
from pocnet.keepalive import KEEPALIVE

log = logging.getLogger(__name__)

# Codes after which resending the same bytes can succeed later. Not UNIMPLEMENTED: an oracle
# without a method keeps refusing it, and a report retried at the head of the outbox holds up
# every report behind it (the report stream falls back to unary calls on any failure anyway).
TRANSIENT = frozenset({
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.CANCELLED,
})

# Keep messages small: beacon/witness reports are a few hundred bytes (docs/protocol.md §5 ingest).
# A channel of its own subchannels: gRPC's reconnect backoff (growing to 120 s) lives on the
# subchannel, and the process-wide pool would carry it into the channel `rotate()` opens, so
# the first retry after an oracle outage failed without trying; our own Backoff paces retries.
# Pings follow the keepalive agreement with the oracle (pocnet.keepalive): the oracle allows
# them at half this interval, so an idle open stream no longer ends with "Too many pings".
_OPTIONS = (
    ("grpc.use_local_subchannel_pool", 1),
    *KEEPALIVE.client_options(),
    ("grpc.max_receive_message_length", 4 * 1024 * 1024),
)


def rejection_reason(code: grpc.StatusCode, details: str) -> str:
    """A short counted reason: `entropy_expired` when the oracle says the window is over."""
    text = (details or "").lower()
    if "entropy" in text and ("expired" in text or "window" in text or "unknown" in text):
        return "entropy_expired"
    return f"rejected_{code.name.lower()}"


def classify(exc: grpc.aio.AioRpcError, what: str) -> OracleUnavailable | ReportRejected:
    code = exc.code()
    details = exc.details() or ""
    if code in TRANSIENT:
        return OracleUnavailable(f"{what}: {code.name}: {details}".rstrip(": "))
    return ReportRejected(rejection_reason(code, details), f"{what}: {code.name}: {details}")


class OracleConnection:
    """A lazily opened channel to the first working endpoint; `rotate()` moves to the next."""

    def __init__(self, settings: OracleSettings) -> None:
        self.settings = settings
        self.timeout_s = settings.timeout_s
        self._index = 0
        self._channel: grpc.aio.Channel | None = None

    @property
    def endpoint(self) -> str:
        return self.settings.endpoints[self._index]

    def channel(self) -> grpc.aio.Channel:
        if self._channel is None:
            self._channel = self._open(self.endpoint)
        return self._channel

    def _open(self, endpoint: str) -> grpc.aio.Channel:
        if not self.settings.tls:
            return grpc.aio.insecure_channel(endpoint, options=_OPTIONS)
        roots = Path(self.settings.ca_file).read_bytes() if self.settings.ca_file else None
        creds = grpc.ssl_channel_credentials(root_certificates=roots)
        return grpc.aio.secure_channel(endpoint, creds, options=_OPTIONS)

    async def rotate(self, failed: grpc.aio.Channel | None = None) -> None:
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
            await channel.close(grace=None)
