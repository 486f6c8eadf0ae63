"""Importing a file of wire reports with their receive times (`pocnet-oracle import`): backfill,
replay of a recorded day, and the proving ground's simulated epochs.

The file is JSON Lines, one record a line:
`{"received_ms": <Unix ms>, "kind": "entropy"|"beacon"|"witness"|"coverage", "report": <base64
of the wire message>}`. Reports go through the ingest path itself (`Ingestor.prepare`: key,
network, size and signature), with the oracle's clock set to the record's receive time, so an
imported report is stored exactly as one received then would have been; the verifier, which
times everything by the oracle's receive time (PROTOCOL §5), then judges it as it would have.
Entropy is the oracle's own signed output: an entropy record is stored only when it is signed
by a key this oracle trusts (its own key or one named on the command line), since a beacon's
validity rests on it.

Who must have signed: each report, its hotspot (checked here); each entropy record, a trusted
oracle key. A record refused for its content is counted with its reason and nothing of it is
stored; the other records are stored (ingest answers each report on its own). A line that is
not a record at all ends the import with its line number; what came before is stored, and
importing the file again stores nothing twice (a report's id is the hash of its content).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError as ProtobufDecodeError

from oracle.errors import BadReport, BadSignature, OracleError
from oracle.ingest import Ingestor, decode_report
from oracle.storage.group_commit import GroupCommitter
from oracle.storage.repository import EntropyRecord, NewReport, Repository
from pocnet import signing
from pocnet.errors import DecodeError, SignatureError
from pocnet.keys import Network, PublicKey
from pocnet.wire import entropy_pb2

KINDS = ("entropy", "beacon", "witness", "coverage")
BATCH = 2000  # reports per transaction: the ingest group commit's batch size
MAX_LINE_BYTES = 64 * 1024  # a 16 KiB report in base64 plus the record's keys


class ImportFormatError(OracleError):
    """A line that is not an import record; the import stops there."""


@dataclass
class ImportResult:
    stored: int = 0
    duplicates: int = 0
    entropy: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    first_rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    last_received_ms: int | None = None

    def reject(self, line: int, reason: str) -> None:
        self.rejected[reason.split(":")[0]] += 1
        if len(self.first_rejected) < 10:
            self.first_rejected.append((line, reason))


def parse_line(line: bytes, number: int) -> tuple[int, str, bytes]:
    """(received_ms, kind, wire bytes) or ImportFormatError naming the line."""
    if len(line) > MAX_LINE_BYTES:
        raise ImportFormatError(f"line {number}: longer than {MAX_LINE_BYTES} bytes")
    try:
        record = json.loads(line)
        received_ms, kind = record["received_ms"], record["kind"]
        raw = base64.b64decode(record["report"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ImportFormatError(f"line {number}: not an import record ({exc})") from None
    if not isinstance(received_ms, int) or isinstance(received_ms, bool) or received_ms < 0:
        raise ImportFormatError(f"line {number}: received_ms must be Unix milliseconds")
    if kind not in KINDS:
        raise ImportFormatError(f"line {number}: kind must be one of {', '.join(KINDS)}")
    return received_ms, kind, raw


def record_line(received_ms: int, kind: str, raw: bytes) -> str:
    """One line of the import format (the simulator and replay tools write these)."""
    return json.dumps({"received_ms": received_ms, "kind": kind,
                       "report": base64.b64encode(raw).decode()}) + "\n"


class Importer:
    """Stores records through the ingest checks with the file's receive times."""

    def __init__(
        self, repo: Repository, network: Network, trusted_entropy_keys: Iterable[PublicKey]
    ) -> None:
        self._repo = repo
        self._now_ms = 0
        # No rate limit (the operator imports), no signature helper process (one thread
        # checks in order), and the group commit is not used: prepared rows are inserted in
        # batches here, each batch one transaction.
        self._ingestor = Ingestor(repo, GroupCommitter(repo), network, lambda: self._now_ms)
        self._trusted = {k.to_bytes() for k in trusted_entropy_keys}
        self._pending: list[NewReport] = []

    def run(
        self, lines: Iterable[bytes], progress: Callable[[int], object] | None = None
    ) -> ImportResult:
        result = ImportResult()
        try:
            for number, line in _numbered(lines):
                received_ms, kind, raw = parse_line(line, number)
                try:
                    self._one(received_ms, kind, raw, result)
                except (BadReport, BadSignature) as exc:
                    result.reject(number, str(exc))
                if progress is not None:
                    progress(1)
        finally:
            self._flush(result)
        return result

    def _one(self, received_ms: int, kind: str, raw: bytes, result: ImportResult) -> None:
        if kind == "entropy":
            self._flush(result)  # beacons after it must find it stored
            self._entropy(raw)
            result.entropy += 1
            return
        msg = decode_report(kind, raw)
        self._now_ms = received_ms
        self._pending.append(self._ingestor.prepare(kind, msg, raw=raw))
        if result.last_received_ms is None or received_ms > result.last_received_ms:
            result.last_received_ms = received_ms
        if len(self._pending) >= BATCH:
            self._flush(result)

    def _entropy(self, raw: bytes) -> None:
        try:
            entropy = entropy_pb2.Entropy.FromString(raw)
        except (ProtobufDecodeError, RuntimeError, ValueError):
            raise BadReport("cannot decode entropy record") from None
        if bytes(entropy.oracle_key) not in self._trusted:
            raise BadSignature("entropy: not signed by a trusted oracle key")
        try:
            signing.verify(entropy, PublicKey.from_bytes(bytes(entropy.oracle_key)))
        except (SignatureError, DecodeError) as exc:
            raise BadSignature(f"entropy: {exc}") from None
        self._repo.insert_entropy(EntropyRecord(
            bytes(entropy.data), entropy.timestamp, entropy.version, bytes(entropy.oracle_key),
            raw,
        ))
        self._ingestor.remember_entropy(bytes(entropy.data), entropy.timestamp)

    def _flush(self, result: ImportResult) -> None:
        if not self._pending:
            return
        outcomes = self._repo.insert_reports(self._pending)
        self._pending = []
        duplicates = sum(1 for o in outcomes if o.duplicate)
        result.duplicates += duplicates
        result.stored += len(outcomes) - duplicates


def _numbered(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield number, line


def summary(result: ImportResult) -> dict[str, Any]:
    return {
        "stored": result.stored,
        "duplicates": result.duplicates,
        "entropy": result.entropy,
        "rejected": dict(sorted(result.rejected.items())),
        "first_rejected": [{"line": n, "reason": r} for n, r in result.first_rejected],
        "last_received_ms": result.last_received_ms,
    }
