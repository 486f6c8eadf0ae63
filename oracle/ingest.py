"""Report ingest (docs/protocol.md §1, §5 "at ingest"): check the key and the signature, stamp the
oracle's own receive time, derive the content-hash id, and hand the row to the group commit.

The caller acknowledges only after `submit` returns, i.e. after the commit. A resubmitted
report has the same id (the id ignores the signature) and stores nothing new. Rejections raise
typed errors that the servicer maps to explicit gRPC statuses; nothing rejected is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Container, Sequence
from typing import Any

from google.protobuf.message import DecodeError as ProtobufDecodeError

from oracle.envelope import check_envelope
from oracle.errors import (
    BadReport,
    BadSignature,
    OracleError,
    ReportTooLarge,
    SessionError,
    StorageError,
)
from oracle.ratelimit import RateLimiter, SharedBudget
from oracle.signature_pool import Answers, SignaturePool, verify_signature
from oracle.storage.group_commit import GroupCommitter
from oracle.storage.repository import EntropyRecord, InsertResult, NewReport, Repository
from pocnet import signing
from pocnet.beacon import ENTROPY_LIFETIME_S
from pocnet.errors import DecodeError, ProtoError
from pocnet.keys import Network, PublicKey
from pocnet.wire import reports_pb2

MAX_REPORT_BYTES = 16 * 1024  # docs/protocol.md §5: oversized messages are refused at ingest
# docs/protocol.md §5 witness rule 4: witnesses may trail the beacon by 4 s.
WITNESS_GRACE_MS = 4_000
MAX_USABLE_H_ACC_MM = 50_000  # pocnet.gnss.MAX_USABLE_H_ACC_M, in the wire's unit
KEY_CACHE_SIZE = 100_000
ENTROPY_LEN = 32  # docs/protocol.md §4

MESSAGES: dict[str, type[Any]] = {
    "beacon": reports_pb2.BeaconReport,
    "witness": reports_pb2.WitnessReport,
    "coverage": reports_pb2.CoverageReport,
}


def decode_report(kind: str, raw: bytes) -> Any:
    """Parse one report; any malformed input is a BadReport, never another exception."""
    _check_size(kind, raw, MAX_REPORT_BYTES)
    try:
        return MESSAGES[kind].FromString(raw)
    except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
        raise BadReport(f"cannot decode {kind} report: {exc}") from None


def _check_size(kind: str, raw: bytes, limit: int) -> None:
    if len(raw) > limit:
        raise ReportTooLarge(f"{kind} report is {len(raw)} bytes, the limit is {limit}")


def _usable_fix(msg: Any) -> tuple[int | None, int | None]:
    if not msg.HasField("gps_fix"):
        return None, None
    fix = msg.gps_fix
    if fix.fix_type != reports_pb2.FIX_3D or fix.h_acc_mm > MAX_USABLE_H_ACC_MM:
        return None, None
    return fix.lat_e7, fix.lon_e7


class Ingestor:
    """Validates reports and stores them through the group commit."""

    def __init__(
        self,
        repo: Repository,
        committer: GroupCommitter,
        network: Network,
        clock_ms: Callable[[], int],
        limiter: RateLimiter | None = None,
        witness_grace_ms: int = WITNESS_GRACE_MS,
        pool: SignaturePool | None = None,
        max_report_bytes: int = MAX_REPORT_BYTES,
        strangers: SharedBudget | None = None,
        onboarded: Container[bytes] = frozenset(),
    ) -> None:
        """`strangers`: the budget keys not in `onboarded` share (issue 10 item 4); None
        leaves them only the per-key limit."""
        self._repo = repo
        self._strangers = strangers
        self._onboarded = onboarded
        self._max_report_bytes = max_report_bytes
        self._committer = committer
        self._network = network
        self._clock_ms = clock_ms
        self._limiter = limiter
        self._witness_grace_ms = witness_grace_ms
        self._pool = pool
        self._keys: dict[bytes, PublicKey] = {}
        self._entropy_ts: dict[bytes, int | None] = {}

    def public_key(self, key: bytes) -> PublicKey:
        """Decode and cache a wire key; a malformed key or another network is a BadReport."""
        cached = self._keys.get(key)
        if cached is not None:
            return cached
        try:
            public = PublicKey.from_bytes(key)
        except DecodeError as exc:
            raise BadReport(f"malformed key: {exc}") from None
        if public.network != self._network:
            raise BadReport(f"key {public.address} is for {public.network.name}, not "
                            f"{self._network.name}")
        if len(self._keys) >= KEY_CACHE_SIZE:
            self._keys.clear()
        self._keys[key] = public
        return public

    def remember_entropy(self, data: bytes, timestamp_s: int) -> None:
        """Entropy this oracle issued: beacons naming it need no database lookup."""
        self._entropy_ts[data] = timestamp_s

    def _entropy_known(self, data: bytes) -> bool:
        """Whether a beacon's ready time needs no database read (cached, or not ours)."""
        return len(data) != ENTROPY_LEN or data in self._entropy_ts

    def _cache_entropy(self, data: bytes, stored: EntropyRecord | None) -> None:
        if len(self._entropy_ts) >= KEY_CACHE_SIZE:
            self._entropy_ts.clear()
        self._entropy_ts[data] = stored.timestamp_s if stored else None

    def _ready_ms(self, data: bytes, received_ms: int) -> int:
        """When a beacon may be verified: its entropy window closed and witnesses are in.
        Reads the database when the entropy is not cached (never on the event loop: `begin`
        looks it up in a thread first)."""
        if len(data) != ENTROPY_LEN:
            ts = None  # not a value we issue; never cached (it could be 16 KiB long)
        else:
            if data not in self._entropy_ts:
                self._cache_entropy(data, self._repo.entropy(data))
            ts = self._entropy_ts.get(data)
        return self._ready_after(ts, received_ms)

    def _ready_after(self, timestamp_s: int | None, received_ms: int) -> int:
        """A beacon's ready time given its entropy's issue time (None: not ours)."""
        window_end_ms = received_ms if timestamp_s is None else (
            (timestamp_s + ENTROPY_LIFETIME_S) * 1000)
        return max(received_ms, window_end_ms) + self._witness_grace_ms

    def check(
        self,
        kind: str,
        msg: Any,
        session: tuple[PublicKey, PublicKey] | None = None,
        raw: bytes | None = None,
        lookup: bool = True,
        received_ms: int | None = None,
    ) -> tuple[NewReport, PublicKey, bytes]:
        """Everything but the signature and the per-key rate (the budget keys not onboarded
        share is checked and spent here): (row stamped with our receive time, the key that
        must have signed, the canonical bytes it signed).

        `session` = (device key, session key) of a report stream: the report must name the
        device key and be signed by the session key (docs/protocol.md §1). `raw` = the bytes as
        received (stored verbatim; re-serialised when absent). `lookup=False` (the event loop):
        a beacon whose entropy is not cached gets ready_ms 0 here; `begin` sets it after
        reading the database in a thread. `received_ms`: when the message carrying it arrived
        (one clock read for a whole batch); None reads the clock.
        """
        key = msg.pub_key
        if session is not None:
            if key != session[0].to_bytes():
                raise SessionError("report names another key than the session's device key")
            signer = session[1]
        else:
            signer = self.public_key(key)
        if raw is None:
            raw = msg.SerializeToString()
        _check_size(kind, raw, self._max_report_bytes)
        check_envelope(kind, msg, len(raw))
        if self._strangers is not None and key not in self._onboarded:
            # Spent before the signature is checked, forged or not: keys cost nothing, so a
            # forgery takes nothing from strangers that a fresh key of the forger's could not,
            # and the budget then also bounds the Ed25519 checks strangers can make us do.
            self._strangers.take(len(raw))
        canonical = signing.canonical_bytes(msg)
        if received_ms is None:
            received_ms = self._clock_ms()
        lat, lon = _usable_fix(msg)
        is_beacon = kind == "beacon"
        row = NewReport(  # positional: the hot path (NewReport's fields, in order)
            signing.id_of_canonical(canonical),  # == signing.report_id(msg), one serialisation
            kind,
            key,
            received_ms,
            raw,
            msg.data if kind != "coverage" else None,
            msg.remote_entropy if is_beacon else None,
            self._ready_ms(msg.remote_entropy, received_ms)
            if is_beacon and (lookup or self._entropy_known(msg.remote_entropy)) else 0,
            lat,
            lon,
        )
        return row, signer, canonical

    def prepare(
        self,
        kind: str,
        msg: Any,
        session: tuple[PublicKey, PublicKey] | None = None,
        raw: bytes | None = None,
        lookup: bool = True,
    ) -> NewReport:
        """Check key, signature and rate inline; return the row to store."""
        row, signer, canonical = self.check(kind, msg, session, raw, lookup)
        if not verify_signature(signer.raw, canonical, bytes(msg.signature)):
            raise BadSignature(f"bad signature for {signer.address}")
        self._admit(row)
        return row

    def _admit(self, row: NewReport) -> None:
        """The per-key rate limit, after the signature: only a key's holder spends its budget
        (the budget strangers share is spent in `check`)."""
        if self._limiter is not None:
            self._limiter.take(row.hotspot_key)

    def begin(
        self,
        kind: str,
        msg: Any,
        session: tuple[PublicKey, PublicKey] | None = None,
        raw: bytes | None = None,
        gate: StreamGate | None = None,
    ) -> asyncio.Future[InsertResult]:
        """Start ingesting without waiting: the future resolves after the commit.

        Nothing here waits on the database or on a helper: with a signature pool the check
        runs in a helper process (batched with the other streams' checks) while the caller
        reads the next report, and a beacon's entropy, when not cached, is read in a thread.
        `gate` keeps a stream's order: once one of its reports is refused, the later ones are
        refused too and never stored (the stream is about to close).
        """
        outer: asyncio.Future[InsertResult] = asyncio.get_running_loop().create_future()
        if self._pool is None or not self._pool.alive:
            self._store(self.prepare(kind, msg, session, raw, lookup=False), outer, gate)
            return outer
        row, signer, canonical = self.check(kind, msg, session, raw, lookup=False)
        self._pool.submit(
            signer.raw, canonical, bytes(msg.signature),
            lambda outcome: self._after_check(outcome, row, signer, outer, gate),
        )
        return outer

    def _after_check(
        self,
        outcome: bool | OracleError,
        row: NewReport,
        signer: PublicKey,
        outer: asyncio.Future[InsertResult],
        gate: StreamGate | None,
    ) -> None:
        error: OracleError | None = None
        if outer.done():
            error = SessionError("cancelled")
        elif gate is not None and gate.closed:
            error = SessionError("stream closed after an earlier rejection")
        elif isinstance(outcome, OracleError):
            error = outcome
        elif not outcome:
            error = BadSignature(f"bad signature for {signer.address}")
        else:
            try:
                self._admit(row)
            except OracleError as exc:
                error = exc
        if error is not None:
            _refuse(outer, gate, error)
            return
        self._store(row, outer, gate)

    def _store(
        self, row: NewReport, outer: asyncio.Future[InsertResult], gate: StreamGate | None
    ) -> None:
        """Queue `row` for the group commit, which resolves `outer`; a beacon whose entropy
        is not cached first has it read in a thread (the loop never waits on the database)."""
        data = row.remote_entropy
        if data is not None and not self._entropy_known(data):
            lookup = asyncio.get_running_loop().run_in_executor(None, self._repo.entropy, data)
            lookup.add_done_callback(lambda f: self._after_lookup(f, row, outer, gate))
            return
        try:
            self._committer.store_into(row, outer)
        except OracleError as exc:
            _refuse(outer, gate, exc)

    def _after_lookup(
        self,
        lookup: asyncio.Future[EntropyRecord | None],
        row: NewReport,
        outer: asyncio.Future[InsertResult],
        gate: StreamGate | None,
    ) -> None:
        error = lookup.exception()
        if error is not None:
            if not isinstance(error, OracleError):
                error = StorageError(f"entropy lookup failed: {error}")
            _refuse(outer, gate, error)
            return
        assert row.remote_entropy is not None
        self._cache_entropy(row.remote_entropy, lookup.result())
        self._store(row._replace(
            ready_ms=self._ready_ms(row.remote_entropy, row.received_ms)), outer, gate)

    def begin_batch(
        self,
        reports: Sequence[tuple[str | None, Any]],
        session: tuple[PublicKey, PublicKey],
    ) -> asyncio.Future[list[InsertResult | OracleError]]:
        """Start ingesting a stream's report batch (docs/protocol.md §2) without waiting.

        `reports`: (kind, message) pairs, kind None for an empty entry. The future resolves,
        after the commit, to each report's outcome in order: its InsertResult or the error that
        refused it. Each report is checked, rate-limited and stored on its own exactly as
        `begin` would (one refusal stops no other); what the batch shares is the cost: one
        hand-off to the signature helpers, one queue entry and one commit callback, not a
        future and a callback per report.
        """
        loop = asyncio.get_running_loop()
        outer: asyncio.Future[list[InsertResult | OracleError]] = loop.create_future()
        outcomes: list[Any] = [None] * len(reports)
        checked: list[tuple[int, NewReport, PublicKey]] = []
        triples: list[tuple[bytes, bytes, bytes]] = []
        received_ms = self._clock_ms()  # the batch's reports arrived together
        for i, (kind, msg) in enumerate(reports):
            try:
                if kind is None:
                    raise BadReport("batched report is empty")
                row, signer, canonical = self.check(kind, msg, session, lookup=False,
                                                    received_ms=received_ms)
            except (OracleError, ProtoError) as exc:
                outcomes[i] = exc
                continue
            checked.append((i, row, signer))
            triples.append((signer.raw, canonical, bytes(msg.signature)))

        def after_check(answers: Answers) -> None:
            self._after_batch_check(answers, checked, outcomes, outer, loop)

        if self._pool is None or not self._pool.alive:
            after_check(bytes([verify_signature(*triple) for triple in triples]))
        else:
            self._pool.submit_many(triples, after_check)
        return outer

    def _after_batch_check(
        self,
        answers: Answers,
        checked: list[tuple[int, NewReport, PublicKey]],
        outcomes: list[Any],
        outer: asyncio.Future[list[InsertResult | OracleError]],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        """The signatures' answers are in: rate-limit the valid ones in order, then store."""
        if outer.done():  # the stream went away: store nothing more of it
            return
        kept: list[tuple[int, NewReport]] = []
        for n, (i, row, signer) in enumerate(checked):
            if isinstance(answers, OracleError):
                outcomes[i] = answers
            elif answers[n] != 1:
                outcomes[i] = BadSignature(f"bad signature for {signer.address}")
            else:
                try:
                    self._admit(row)
                except OracleError as exc:
                    outcomes[i] = exc
                    continue
                kept.append((i, row))
        unknown = {row.remote_entropy for _, row in kept if row.remote_entropy is not None
                   and not self._entropy_known(row.remote_entropy)}
        if not unknown:
            self._store_batch(kept, outcomes, outer, loop)
            return
        lookup = loop.run_in_executor(None, self._entropies, unknown)
        lookup.add_done_callback(
            lambda f: self._after_batch_lookup(f, kept, outcomes, outer, loop))

    def _entropies(self, values: set[bytes]) -> dict[bytes, EntropyRecord | None]:
        """Database reads for beacons' entropy (in a thread, never on the event loop)."""
        return {data: self._repo.entropy(data) for data in values}

    def _after_batch_lookup(
        self,
        lookup: asyncio.Future[dict[bytes, EntropyRecord | None]],
        kept: list[tuple[int, NewReport]],
        outcomes: list[Any],
        outer: asyncio.Future[list[InsertResult | OracleError]],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        error = lookup.exception()
        if error is not None:
            if not isinstance(error, OracleError):
                error = StorageError(f"entropy lookup failed: {error}")
            for i, _ in kept:
                outcomes[i] = error
            kept = []
        else:
            found = lookup.result()
            for data, stored in found.items():
                self._cache_entropy(data, stored)
            for n, (i, row) in enumerate(kept):
                if row.remote_entropy in found:
                    stored = found[row.remote_entropy]
                    kept[n] = (i, row._replace(ready_ms=self._ready_after(
                        stored.timestamp_s if stored else None, row.received_ms)))
        self._store_batch(kept, outcomes, outer, loop)

    def _store_batch(
        self,
        kept: list[tuple[int, NewReport]],
        outcomes: list[Any],
        outer: asyncio.Future[list[InsertResult | OracleError]],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        """Queue the admitted rows as one group-commit entry; `outer` resolves after it."""
        if not kept:
            if not outer.done():
                outer.set_result(outcomes)
            return

        def committed(results: list[Any]) -> None:
            for (i, _), result in zip(kept, results, strict=True):
                outcomes[i] = result
            if not outer.done():
                outer.set_result(outcomes)

        try:
            self._committer.store_many([row for _, row in kept], committed, loop)
        except OracleError as exc:
            committed([exc] * len(kept))

    async def submit(
        self,
        kind: str,
        msg: Any,
        session: tuple[PublicKey, PublicKey] | None = None,
        raw: bytes | None = None,
    ) -> InsertResult:
        return await self.begin(kind, msg, session, raw)


def _refuse(
    outer: asyncio.Future[InsertResult], gate: StreamGate | None, error: BaseException
) -> None:
    if gate is not None:
        gate.closed = True
    if not outer.done():
        outer.set_exception(error)


class StreamGate:
    """Per-stream flag: set once a report is refused, so later ones are not stored."""

    __slots__ = ("closed",)

    def __init__(self) -> None:
        self.closed = False
