"""The storage contract: records and the Repository Protocol both backends implement.

The verifier, the rewards engine and the servicers depend on this Protocol only, so SQLite (one
machine) and PostgreSQL (replicas sharing one database) are interchangeable (docs/storage.md).
The Repository is synchronous and thread-safe; async callers use `asyncio.to_thread`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

from pocnet.wire import reports_pb2

KINDS: tuple[str, ...] = ("beacon", "witness", "coverage")  # index = verdict_pb2.ReportKind
STATUS_PENDING = "pending"
STATUS_CLAIMED = "claimed"
STATUS_VERIFIED = "verified"
STATUS_STALE = "stale"
STATUS_STORED = "stored"  # coverage reports: kept, never PoC-verified
STATUSES = (STATUS_PENDING, STATUS_CLAIMED, STATUS_VERIFIED, STATUS_STALE, STATUS_STORED)
REASON_STALE = 16  # verdict_pb2.InvalidReason.stale

_MESSAGES = {
    "beacon": reports_pb2.BeaconReport,
    "witness": reports_pb2.WitnessReport,
    "coverage": reports_pb2.CoverageReport,
}


def kind_code(kind: str) -> int:
    return KINDS.index(kind)


@dataclass(frozen=True)
class ReportFilter:
    """Which stored reports an operator lists (`report list`); None = any."""

    hotspot_key: bytes | None = None
    kind: str | None = None
    status: str | None = None
    from_ms: int | None = None  # received at or after
    to_ms: int | None = None  # received before


class NewReport(NamedTuple):
    """A verified report ready to store; `ready_ms` gates beacon verification. A named tuple,
    not a frozen dataclass: ingest builds one per report on the event loop, and a tuple is made
    in a fifth of the time (`_replace` gives a changed copy)."""

    id: bytes
    kind: str
    hotspot_key: bytes
    received_ms: int
    raw: bytes
    data: bytes | None = None
    remote_entropy: bytes | None = None
    ready_ms: int = 0
    fix_lat_e7: int | None = None
    fix_lon_e7: int | None = None


class StoredReport(NamedTuple):
    """A stored report as the verifier and the services read it. A named tuple, not a frozen
    dataclass: `verify` reads every pending witness into one (2.7 million a week at 2,000
    hotspots), and a tuple is made in a third of the time."""

    id: bytes
    kind: str
    hotspot_key: bytes
    received_ms: int
    raw: bytes
    data: bytes | None
    remote_entropy: bytes | None
    status: str

    def message(self) -> Any:
        """The stored wire message, parsed on demand (the raw bytes are the record)."""
        return _MESSAGES[self.kind].FromString(self.raw)


class InsertResult(NamedTuple):
    """The stored copy's id and receive time; `duplicate` = it was already there. A named
    tuple for the same reason as NewReport: one per stored report on the ingest path."""

    id: bytes
    received_ms: int
    duplicate: bool


@dataclass(frozen=True)
class EntropyRecord:
    data: bytes
    timestamp_s: int
    version: int
    oracle_key: bytes
    raw: bytes


@dataclass(frozen=True)
class Registration:
    hotspot_key: bytes
    owner_wallet: bytes
    location: int | None
    gain_dbi_x10: int
    elevation_m: int
    capability: str
    region: str | None
    nonce: int
    asserted_at_ms: int
    maker_key: bytes | None = None  # None for hotspots onboarded before makers were required


@dataclass(frozen=True)
class Maker:
    """A maker on the operator's allowlist; `onboarded` counts against `quota`."""

    key: bytes
    name: str
    quota: int
    added_ms: int
    onboarded: int


@dataclass(frozen=True)
class Denial:
    """Why a hotspot is denied, as the signed denylist version `version` said."""

    hotspot_key: bytes
    version: int
    reason: str
    evidence: str
    expires_ms: int  # 0 = never
    since_ms: int


@dataclass(frozen=True)
class EdgeDenial:
    """Why two hotspots may not witness each other (a < b), as version `version` said."""

    a: bytes
    b: bytes
    version: int
    reason: str
    evidence: str
    expires_ms: int  # 0 = never
    since_ms: int


class StoredVerdict(NamedTuple):
    """A report's verdict row. A named tuple for the reason of StoredReport: one is made
    per report verified."""

    report_id: bytes
    kind: str
    hotspot_key: bytes
    beacon_id: bytes | None
    received_ms: int
    valid: bool
    reason: int | None
    selected: bool
    location_trust: Decimal
    passed_regular: bool
    witnesses: int
    detail: str
    verified_at_ms: int


# A verdict as the public read-back pages it (`Repository.verdict_rows`): report id, receive
# time, kind code (KINDS), hotspot key, beacon id (None for a beacon), valid (0/1), reason
# (None when valid). A plain row, not a StoredVerdict: millions are read at once.
VerdictRow = tuple[bytes, int, int, bytes, bytes | None, int, int | None]


class Tx(Protocol):
    """A cursor inside a transaction, "?" placeholders in both dialects."""

    rowcount: int

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Repository(Protocol):
    dialect: str

    def close(self) -> None: ...

    def migrate(self) -> int: ...

    def transaction(self) -> AbstractContextManager[Tx]: ...

    def exclusive(self, name: str) -> AbstractContextManager[bool]:
        """Hold the lock `name` across every replica of the database while the block runs;
        the block gets False (and should skip its work) when another replica holds it."""
        ...

    # ingest
    def insert_reports(self, rows: Sequence[NewReport]) -> list[InsertResult]: ...

    def report(self, report_id: bytes) -> StoredReport | None: ...

    def reports_by_id(self, ids: Sequence[bytes]) -> dict[bytes, StoredReport]: ...

    def reports_for_hotspot(self, key: bytes, limit: int = 50) -> list[StoredReport]: ...

    def count_reports(self) -> int: ...

    # retention
    def finished_reports(self, before_ms: int, limit: int) -> list[StoredReport]: ...

    def delete_reports(self, ids: Sequence[bytes]) -> int: ...
    def find_reports(self, where: ReportFilter, limit: int, offset: int) -> list[StoredReport]:
        """Newest first (then by id, so pages never overlap)."""
        ...

    def verification_backlog(self, now_ms: int) -> tuple[int, int | None]:
        """(beacons ready for verification but not verified, the oldest one's ready time)."""
        ...

    def stored_epochs(self) -> tuple[int, int | None]:
        """(epochs with a stored manifest, the latest of them)."""
        ...

    # entropy
    def insert_entropy(self, entropy: EntropyRecord) -> None: ...

    def insert_entropies(self, records: Sequence[EntropyRecord]) -> None: ...

    def checkpoint(self) -> bool:
        """Copy the write-ahead log into the database now (SQLite; a no-op elsewhere)."""
        ...

    def entropy(self, data: bytes) -> EntropyRecord | None: ...

    def latest_entropy(self) -> EntropyRecord | None: ...

    # registry
    def hotspot(self, key: bytes) -> Registration | None: ...

    def apply_assertion(self, reg: Registration, raw: bytes, received_ms: int,
                        previous: Registration | None = None,
                        kind: str = "assertion") -> None: ...

    def hotspots_asserted_since(self, since_ms: int | None) -> list[tuple[bytes, int]]: ...

    def replace_denylist(
        self,
        version: int,
        operator_key: bytes,
        hotspots: Sequence[bytes],
        edges: Sequence[tuple[bytes, bytes]],
        raw: bytes,
        received_ms: int,
        denials: Sequence[tuple[bytes, str, str, int]] = (),
        edge_denials: Sequence[tuple[bytes, bytes, str, str, int]] = (),
    ) -> None: ...

    def denylist_version(self) -> int: ...

    def is_denied(self, key: bytes, at_ms: int | None = None) -> bool:
        """On the denylist; with `at_ms`, only by an entry not expired at that time."""
        ...

    def is_edge_denied(self, a: bytes, b: bytes, at_ms: int | None = None) -> bool:
        """The pair is on the denylist; with `at_ms`, only by an entry not expired then."""
        ...

    def denied_hotspots(self) -> list[bytes]: ...

    def denied_edges(self) -> list[tuple[bytes, bytes]]: ...

    def denial(self, key: bytes) -> Denial | None: ...

    def edge_denials(self, key: bytes | None = None) -> list[EdgeDenial]:
        """Every denied edge, or those naming `key`, with why and until when."""
        ...

    def put_maker(self, key: bytes, name: str, quota: int, now_ms: int) -> None: ...

    def remove_maker(self, key: bytes) -> bool: ...

    def makers(self) -> list[Maker]: ...

    def list_hotspots(self, *, owner: bytes | None = None, maker: bytes | None = None,
                      region: str | None = None, denied: bool | None = None,
                      after: bytes | None = None, limit: int = 100) -> list[Registration]: ...

    # verification
    def claim_beacons(
        self, worker: str, now_ms: int, lease_ms: int, limit: int
    ) -> list[StoredReport]: ...

    def pending_witnesses(self, data: bytes) -> list[StoredReport]: ...

    def store_verdicts(
        self, worker: str, beacon_id: bytes, verdicts: Sequence[StoredVerdict]
    ) -> bool: ...

    def release_claim(self, worker: str, beacon_id: bytes) -> None: ...

    def store_verdict_batch(
        self, worker: str, pocs: Sequence[tuple[bytes, Sequence[StoredVerdict]]]
    ) -> list[bool]: ...

    def other_unverified_beacon(
        self, data: bytes, exclude_id: bytes, decided: Sequence[bytes] = ()
    ) -> bool: ...

    def mark_stale(self, now_ms: int, stale_after_ms: int) -> int: ...

    def reset_verification(self, from_ms: int, to_ms: int) -> int: ...

    # verdict reads
    def verdict(self, report_id: bytes) -> StoredVerdict | None: ...

    def verdicts_for_beacon(self, beacon_id: bytes) -> list[StoredVerdict]: ...

    def verdicts_for_beacons(self, beacon_ids: Sequence[bytes]) -> list[StoredVerdict]: ...

    def verdicts_received_between(
        self, from_ms: int, to_ms: int, kind: str | None = None
    ) -> Iterator[StoredVerdict]: ...

    def verdict_rows(
        self, from_ms: int, to_ms: int, after: tuple[int, bytes] | None, limit: int
    ) -> list[VerdictRow]: ...

    def beacon_in_window(
        self, key: bytes, window_start_ms: int, window_end_ms: int, exclude_id: bytes,
        exclude_received_ms: int | None = None,
    ) -> bool: ...

    def last_valid_witness_ms(self, key: bytes, before_ms: int | None = None) -> int | None: ...

    def last_valid_beacon_ms(self, key: bytes, before_ms: int | None = None) -> int | None: ...

    def last_fix(self, key: bytes, before_ms: int) -> tuple[float, float, int] | None: ...

    # the same reads for a batch of beacons, set-based (oracle/verifier/storage_context.py)
    def pending_witness_times(self, datas: Sequence[bytes]) -> list[tuple[bytes, int]]: ...

    def pending_witnesses_of(self, datas: Sequence[bytes]) -> dict[bytes, list[StoredReport]]: ...

    def registrations(self, keys: Iterable[bytes]) -> dict[bytes, Registration]: ...

    def denial_expiries(self) -> dict[bytes, int]: ...

    def edge_expiries(self) -> dict[tuple[bytes, bytes], int]: ...

    def regular_verdict_times(
        self, keys: Iterable[bytes], kind: str, from_ms: int, to_ms: int
    ) -> dict[bytes, list[int]]: ...

    def fixes_between(
        self, keys: Iterable[bytes], from_ms: int, to_ms: int
    ) -> dict[bytes, list[tuple[int, float, float]]]: ...
