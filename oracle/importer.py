"""Importing a file of wire reports with their receive times (`pocnet-oracle import`): backfill,
replay of a recorded day, and the proving ground's simulated epochs.

The file is pocnet's report file (pocnet.report_file: JSON Lines of receive time, kind and wire
message). Reports go through the ingest path itself (`Ingestor.prepare`: key,
network, size and signature), with the oracle's clock set to the record's receive time, so an
imported report is stored exactly as one received then would have been; the verifier, which
times everything by the oracle's receive time (docs/protocol.md §5), then judges it as it would
have. Entropy is the oracle's own signed output: an entropy record is stored only when it is signed
by a key this oracle trusts (its own key or one named on the command line), since a beacon's
validity rests on it. An assertion goes through the registry's own checks (both signatures),
stamped with its record's time: a whole network's history fits in one file.

Who must have signed: each report, its hotspot (checked here); each entropy record, a trusted
oracle key; each assertion, what the registry requires of one. A record refused for its
content is counted with its reason and nothing of it is stored; the other records are stored
(ingest answers each report on its own). A line that is
not a record at all ends the import with its line number; what came before is stored, and
importing the file again stores nothing twice (a report's id is the hash of its content).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError as ProtobufDecodeError

from oracle.errors import BadReport, BadSignature, RegistryError
from oracle.ingest import Ingestor, decode_report
from oracle.registry import Registry
from oracle.storage.group_commit import GroupCommitter
from oracle.storage.repository import EntropyRecord, NewReport, Repository
from pocnet import signing
from pocnet.errors import DecodeError, SignatureError
from pocnet.keys import Network, PublicKey
from pocnet.report_file import parse_line
from pocnet.wire import entropy_pb2, registry_pb2

BATCH = 2000  # reports per transaction: the ingest group commit's batch size


@dataclass
class ImportResult:
    stored: int = 0
    duplicates: int = 0
    entropy: int = 0
    assertions: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    first_rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    last_received_ms: int | None = None

    def reject(self, line: int, reason: str) -> None:
        self.rejected[reason.split(":")[0]] += 1
        if len(self.first_rejected) < 10:
            self.first_rejected.append((line, reason))


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
        self._registry = Registry(repo, self._ingestor.public_key, lambda: self._now_ms)
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
                except (BadReport, BadSignature, RegistryError) as exc:
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
        self._now_ms = received_ms
        if kind == "assertion":
            self._flush(result)  # reports are stored in file order around it
            self._assertion(raw)
            result.assertions += 1
            return
        msg = decode_report(kind, raw)
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

    def _assertion(self, raw: bytes) -> None:
        try:
            msg = registry_pb2.LocationAssertion.FromString(raw)
        except (ProtobufDecodeError, RuntimeError, ValueError):
            raise BadReport("cannot decode location assertion") from None
        self._registry.assert_location(msg)

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
        "assertions": result.assertions,
        "rejected": dict(sorted(result.rejected.items())),
        "first_rejected": [{"line": n, "reason": r} for n, r in result.first_rejected],
        "last_received_ms": result.last_received_ms,
    }
