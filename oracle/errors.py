"""Errors of the oracle. Servicers map each to one gRPC status in `servicers/_status.py`.

Every class is named for what failed, so the status table reads like the protocol's list of
rejections (docs/protocol.md §5 "at ingest") and a CLI can print the message as one line.
"""

from __future__ import annotations

from pocnet.wire import STREAM_RETRY_AFTER_KEY


class OracleError(Exception):
    """Base of every error the oracle raises on purpose."""


class SettingsError(OracleError):
    """Settings that fail validation; the message holds one line per mistake."""


class StorageError(OracleError):
    """The database refused or could not be reached."""


class DatabaseUnreachable(StorageError):
    """The database server cannot be reached (down, restarting, connection lost): every row of
    a batch would fail alike, so the group commit does not retry them one by one."""


class MigrationError(StorageError):
    """A schema migration that cannot be applied (unknown dialect, gap in numbering)."""


class BadReport(OracleError):
    """A report that cannot be decoded or is malformed (bad key length, wrong network)."""


class ReportTooLarge(BadReport):
    """A report over the size limit (16 KiB): refused like grpc's own limit, RESOURCE_EXHAUSTED,
    whether it came alone or inside a stream message."""


class BadSignature(OracleError):
    """A signature that does not verify with the key it names."""


class RateLimited(OracleError):
    """A key that sent more than its token bucket allows."""


class StrangersLimited(RateLimited):
    """Keys not onboarded together sent more than their shared budget allows."""


class SessionError(OracleError):
    """A report stream whose session init is missing, wrong or expired."""


class SessionTimeout(SessionError):
    """No session init arrived within the allowed time."""


class StreamRefused(OracleError):
    """A report stream refused at open or at session init: too many from this peer, or every
    stream slot busy (the rest are kept for unary calls). Retry later or use unary calls.
    The refusal tells the client when to try a stream again (`trailing_metadata`)."""

    retry_after_s = 300

    @property
    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        return ((STREAM_RETRY_AFTER_KEY, str(self.retry_after_s)),)


class StreamIdle(OracleError):
    """A session that sent no report for the idle timeout; the server ended its stream."""


class SessionReplaced(OracleError):
    """A session ended because a newer one of the same device key replaced it."""


class CommitTimeout(StorageError):
    """The group commit did not finish within the deadline; the report may still be stored."""


class SignatureCheckerDied(OracleError):
    """The signature helper process is gone; resubmit (checks fall back to inline)."""


class BadQuery(OracleError):
    """A query the Query service cannot answer as asked (a range backwards, a page too large,
    a cursor of the wrong shape)."""


class QueryBusy(OracleError):
    """Every place for a long read (a verdict stream) is taken, this address's or the
    listener's: retry when one of the caller's own ends."""


class QueryTooSlow(OracleError):
    """A long read's client took its answers more slowly than the call may last; it resumes
    from the last page it holds."""


class Overloaded(OracleError):
    """The ingest queue is full; the client should back off and retry."""


class RegistryError(OracleError):
    """A location assertion or denylist update that is malformed."""


class StaleNonce(RegistryError):
    """An assertion whose nonce is not above the stored one (a replay or reordering)."""


class StaleVersion(RegistryError):
    """A denylist update whose version is not above the current one."""


class UntrustedOperator(RegistryError):
    """A denylist update signed by a key the oracle is not configured to trust."""


class NotOwner(RegistryError):
    """A change to a hotspot not signed by its current owner (moving it, or taking it over)."""


class UnknownMaker(RegistryError):
    """An onboarding signed by no maker, or by one not on the operator's allowlist."""


class MakerQuotaExhausted(RegistryError):
    """An onboarding by a maker that has already onboarded its quota of hotspots."""


class TaskFailed(OracleError):
    """A background task of `serve` (entropy, verification) crashed; the process stops so
    its supervisor restarts it instead of acknowledging reports nobody verifies."""


class NotFound(OracleError):
    """A hotspot, report or beacon the oracle does not know."""
