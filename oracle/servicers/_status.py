"""The single table from domain errors to gRPC status codes.

Servicers never pick a code themselves: every rejection goes through `status_for`, so the
same failure looks the same on every RPC and each code has a reason string.
"""

from __future__ import annotations

import logging

import grpc

from oracle import errors
from pocnet.errors import ProtoError

# First match wins: subclasses before their bases.
STATUS_TABLE: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (errors.ReportTooLarge, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.BadReport, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.BadSignature, grpc.StatusCode.UNAUTHENTICATED),
    (errors.SessionTimeout, grpc.StatusCode.DEADLINE_EXCEEDED),
    (errors.StreamRefused, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.StreamIdle, grpc.StatusCode.UNAVAILABLE),
    (errors.SessionReplaced, grpc.StatusCode.ABORTED),
    (errors.SessionError, grpc.StatusCode.UNAUTHENTICATED),
    (errors.RateLimited, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Overloaded, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.BadQuery, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.QueryBusy, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.QueryTooSlow, grpc.StatusCode.DEADLINE_EXCEEDED),
    (errors.CommitTimeout, grpc.StatusCode.UNAVAILABLE),
    (errors.SignatureCheckerDied, grpc.StatusCode.UNAVAILABLE),
    (errors.StorageError, grpc.StatusCode.UNAVAILABLE),
    (errors.StaleNonce, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.StaleVersion, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.UntrustedOperator, grpc.StatusCode.PERMISSION_DENIED),
    (errors.NotOwner, grpc.StatusCode.PERMISSION_DENIED),
    (errors.UnknownMaker, grpc.StatusCode.PERMISSION_DENIED),
    (errors.MakerQuotaExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.RegistryError, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (ProtoError, grpc.StatusCode.INVALID_ARGUMENT),
)

log = logging.getLogger(__name__)

MAPPED: tuple[type[BaseException], ...] = (errors.OracleError, ProtoError)


def status_for(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    for kind, code in STATUS_TABLE:
        if isinstance(exc, kind):
            return code, str(exc) or kind.__name__
    return grpc.StatusCode.INTERNAL, f"{type(exc).__name__}: {exc}"


async def abort(context: grpc.aio.ServicerContext, exc: BaseException) -> None:
    """End the call with the status the table gives for `exc` (raises, as grpc does)."""
    code, message = status_for(exc)
    log.debug("refused %s: %s", code.name, message)  # DEBUG: a flood must not flood the log
    await context.abort(code, message, trailing_metadata=getattr(exc, "trailing_metadata", ()))
