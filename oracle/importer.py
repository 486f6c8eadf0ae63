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

Where the time goes (a 400-hotspot city file, 2026-12-05): Ed25519 verification is ~60 % of
an import's CPU (62 µs a report), the SQLite insert ~20 % (21 µs), ingest's other checks 7 µs
and parsing the line 5 µs; each report's check is independent of every other. So `workers`
processes verify each batch's signatures while this one parses and checks the next batch and
inserts the previous ones; a batch is stored only once all its signatures are answered, in
file order, several batches a transaction (BATCH), and a report whose signature a worker
refuses is checked again here by `Ingestor.prepare` itself, so its rejection is ingest's own,
word for word. Entropy records (one a simulated minute) are stored with the transaction after
them, in one transaction, not one each. At a week's scale (docs/benchmarks.md, "The import's
own CPU") the insert grows to ~30 µs as the indexes outgrow the page cache, and the garbage
collector's full passes, one a batch, cost 6 µs a report until the import froze the objects
made before it; writing the random id index's pages, ~1 a report at 10,000 reports a
transaction, is what larger transactions cut. The input is read a thread ahead, so a
simulator writing into the pipe is not held while a batch is stored.
"""

from __future__ import annotations

import gc
import io
import multiprocessing
import queue
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from google.protobuf.message import DecodeError as ProtobufDecodeError

from oracle.errors import BadReport, BadSignature, RegistryError
from oracle.ingest import Ingestor, decode_report
from oracle.registry import Registry
from oracle.signature_pool import verify_signature
from oracle.storage.group_commit import GroupCommitter
from oracle.storage.repository import EntropyRecord, NewReport, Repository
from pocnet import signing
from pocnet.errors import DecodeError, SignatureError
from pocnet.keys import Network, PublicKey
from pocnet.report_file import parse_line
from pocnet.wire import entropy_pb2, registry_pb2

# Reports per transaction. Report ids are random, so a batch of n reports dirties about
# P·(1 − e^(−n/P)) of the id index's P leaf pages (~40,000 at 2.7 million reports), each written
# to the WAL and then copied into the database by the checkpoint after the batch: 10,000 a
# batch dirtied ~0.9 page a report, 50,000 ~0.55, and the kernel's share of the insert fell
# from 19 to 7 µs a report at a million reports (docs/benchmarks.md, "The import's main
# process, leaner"); 100,000 dirty ~0.37 at a week's size ("The import's inserts and indexes").
# The reports wait for their transaction in memory, ~1 KB each (~100 MB), and the transaction's
# dirty pages in the page cache (BULK_CACHE_KIB).
BATCH = 100_000
# Reports a worker process's share is cut from (and that ingest's checks then wait on): the
# signature check's pipeline keeps its own grain, so the first workers start early and the
# last batch's wait at the end of the file is short.
CHECK_BATCH = 10_000
# Check batches whose signatures the workers may hold at once: one being checked while the next
# is parsed keeps both sides busy; more only holds memory.
IN_FLIGHT = 2
# Records between two calls of `run`'s progress callback (a call a record was ~0.3 µs of its
# ~45 in the main process).
PROGRESS_EVERY = 1024
# What the import reads ahead of its checks, in chunks of up to READ_CHUNK bytes: while it
# stores a batch (an insert, a commit and a checkpoint, each fsync a wait), whoever writes the
# file into a pipe (the proving ground's simulator) goes on instead of waiting for a 64 KiB
# pipe to drain. 64 MiB is ~190,000 reports' lines.
READ_AHEAD_BYTES = 64 * 1024 * 1024
READ_CHUNK = 1024 * 1024


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
        """Count it; keep the ten first lines refused (a signature is answered a batch
        later than the checks before it, so rejections may come out of line order)."""
        self.rejected[reason.split(":")[0]] += 1
        if len(self.first_rejected) < 10 or line < self.first_rejected[-1][0]:
            self.first_rejected.append((line, reason))
            self.first_rejected.sort()
            del self.first_rejected[10:]


@dataclass
class _Batch:
    """Reports through ingest's checks but the signature, waiting for their workers' answers:
    each report's line and row only (a refused one is decoded again from its row's bytes), so
    that the main process keeps no message or wrapper object a report alive for the batches in
    flight (at 30,000 reports held, the garbage collector's passes over them cost more than the
    rest of a report's checks)."""

    lines: list[int]
    rows: list[NewReport]
    answers: list[Future[list[bool]]]  # one per worker's share, in order


class Importer:
    """Stores records through the ingest checks with the file's receive times."""

    def __init__(
        self, repo: Repository, network: Network, trusted_entropy_keys: Iterable[PublicKey],
        workers: int = 0, batch: int = BATCH, check_batch: int = CHECK_BATCH,
    ) -> None:
        """`workers`: processes that verify signatures (0: this one, inline); `batch`:
        reports per transaction; `check_batch`: reports whose signatures are handed to the
        workers at once (at most `batch`)."""
        self._repo = repo
        self._now_ms = 0
        # No rate limit (the operator imports) and the group commit is not used: checked rows
        # are inserted in batches here, each batch one transaction.
        self._ingestor = Ingestor(repo, GroupCommitter(repo), network, lambda: self._now_ms)
        self._registry = Registry(repo, self._ingestor.public_key, lambda: self._now_ms)
        self._trusted = {k.to_bytes() for k in trusted_entropy_keys}
        self._workers = workers
        self._batch = batch
        self._check_batch = min(batch, check_batch)
        self._pool: ProcessPoolExecutor | None = None
        # The batch being read: each report's line, row and (raw key, canonical bytes,
        # signature) for a worker.
        self._lines: list[int] = []
        self._rows: list[NewReport] = []
        self._triples: list[tuple[bytes, bytes, bytes]] = []
        self._in_flight: deque[_Batch] = deque()
        self._checked: list[NewReport] = []  # signatures held, waiting for their transaction
        self._entropy_records: list[EntropyRecord] = []  # checked, not yet stored

    def run(
        self, lines: Iterable[bytes], progress: Callable[[int], object] | None = None
    ) -> ImportResult:
        result = ImportResult()
        # The objects made before the import (modules, the registry's country borders) are
        # left out of the garbage collector's passes while it runs: every batch held puts
        # 10,000 rows (tuples of a NamedTuple class, which the collector keeps tracking) into
        # its oldest generation, and each full pass over those objects cost ~30 ms, one a
        # batch (0.3 s of 111,669 reports' 6 s in the main process).
        gc.freeze()
        unreported = 0  # records read since the last progress call
        try:
            for number, line in enumerate(lines, 1):
                if not line or line.isspace():  # a blank line (isspace copies nothing)
                    continue
                received_ms, kind, raw = parse_line(line, number)
                try:
                    self._one(number, received_ms, kind, raw, result)
                except (BadReport, BadSignature, RegistryError) as exc:
                    result.reject(number, str(exc))
                unreported += 1
                if unreported == PROGRESS_EVERY and progress is not None:
                    progress(unreported)
                    unreported = 0
            if unreported and progress is not None:
                progress(unreported)
        finally:
            try:
                self._flush(result)
            finally:
                gc.unfreeze()
                if self._pool is not None:
                    self._pool.shutdown(cancel_futures=True)
                    self._pool = None
        return result

    def _one(self, number: int, received_ms: int, kind: str, raw: bytes,
             result: ImportResult) -> None:
        if kind == "entropy":
            # Stored with the next batch of reports, ahead of them (nothing in a report's row
            # depends on it, and ingest remembers it at once, so beacons after it find it):
            # one transaction for all the entropy a batch spans, not one (an fsync) each.
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
        row, signer, canonical = self._ingestor.check(kind, msg, raw=raw)
        self._lines.append(number)
        self._rows.append(row)
        self._triples.append((signer.raw, canonical, msg.signature))
        if len(self._rows) >= self._check_batch:
            self._send(full=True)
            while len(self._in_flight) > IN_FLIGHT:
                self._store(self._in_flight.popleft(), result)

    def _send(self, full: bool = False) -> None:
        """Hand the pending batch's signatures to the workers, or answer them inline when
        there are none (or, for a short import, before the first full batch started them)."""
        lines, rows, triples = self._lines, self._rows, self._triples
        if not rows:
            return
        self._lines, self._rows, self._triples = [], [], []
        if self._workers < 1 or (self._pool is None and not full):
            done: Future[list[bool]] = Future()
            done.set_result(verify_signatures(triples))
            self._in_flight.append(_Batch(lines, rows, [done]))
            return
        if self._pool is None:
            # spawn, not fork: a forked child would share this process's database handle.
            self._pool = ProcessPoolExecutor(self._workers,
                                             multiprocessing.get_context("spawn"))
        share = -(-len(triples) // self._workers)
        answers = [self._pool.submit(verify_signatures, triples[i:i + share])
                   for i in range(0, len(triples), share)]
        self._in_flight.append(_Batch(lines, rows, answers))

    def _store(self, batch: _Batch, result: ImportResult) -> None:
        """A check batch's reports whose signatures hold wait for their transaction (stored
        once `batch` reports wait); the others are rejected by ingest's own `prepare` (which
        checks the signature again and says why)."""
        valid = [ok for answer in batch.answers for ok in answer.result()]
        if all(valid):
            self._checked.extend(batch.rows)
        else:
            self._checked.extend(row for row, ok in zip(batch.rows, valid, strict=True) if ok)
            for line, row, ok in zip(batch.lines, batch.rows, valid, strict=True):
                if not ok:
                    self._refuse(line, row, result)
        if len(self._checked) >= self._batch:
            self._insert(result)

    def _insert(self, result: ImportResult) -> None:
        """One transaction of the reports waiting, after the entropy read before them."""
        rows, self._checked = self._checked, []
        self._store_entropy()
        if rows:
            latest = max(row.received_ms for row in rows)
            if result.last_received_ms is None or latest > result.last_received_ms:
                result.last_received_ms = latest
            outcomes = self._repo.insert_reports(rows)  # (lowers the stale sweep's mark)
            duplicates = sum(1 for o in outcomes if o.duplicate)
            result.duplicates += duplicates
            result.stored += len(outcomes) - duplicates
            # Between two batches nothing of this import writes: a checkpoint now copies the
            # whole WAL and the next batch starts it over. Left to the background checkpointer,
            # which seldom finds such a gap, the WAL grew for the whole import (2.5 GB at a
            # million reports), and every page read searched its index.
            self._repo.checkpoint()

    def _refuse(self, line: int, row: NewReport, result: ImportResult) -> None:
        """A report whose signature a worker refused: ingest's own `prepare` checks it again
        (from its bytes, as read) and says why."""
        self._now_ms = row.received_ms
        try:
            self._ingestor.prepare(row.kind, decode_report(row.kind, row.raw), raw=row.raw)
        except (BadReport, BadSignature) as exc:
            result.reject(line, str(exc))
            return
        raise AssertionError(f"line {line}: the signature check disagrees")

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
        self._entropy_records.append(EntropyRecord(
            bytes(entropy.data), entropy.timestamp, entropy.version, bytes(entropy.oracle_key),
            raw,
        ))
        self._ingestor.remember_entropy(bytes(entropy.data), entropy.timestamp)

    def _store_entropy(self) -> None:
        records, self._entropy_records = self._entropy_records, []
        self._repo.insert_entropies(records)

    def _assertion(self, raw: bytes) -> None:
        try:
            msg = registry_pb2.LocationAssertion.FromString(raw)
        except (ProtobufDecodeError, RuntimeError, ValueError):
            raise BadReport("cannot decode location assertion") from None
        self._registry.assert_location(msg)

    def _flush(self, result: ImportResult) -> None:
        """Store every record read so far, reports in file order."""
        self._send()
        while self._in_flight:
            self._store(self._in_flight.popleft(), result)
        self._insert(result)


def verify_signatures(triples: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
    """Whether each (raw key, message, signature) holds, by ingest's one check (the one
    `Ingestor.prepare` applies): what a worker process runs."""
    return [verify_signature(key, message, signature) for key, message, signature in triples]


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


def read_ahead(source: BinaryIO, most_bytes: int = READ_AHEAD_BYTES) -> BinaryIO:
    """`source` read by a thread of its own, up to `most_bytes` ahead of the caller: the
    thread waits in `read` (without the GIL) while the import checks and stores."""
    return io.BufferedReader(_ReadAhead(source, most_bytes), buffer_size=64 * 1024)


class _ReadAhead(io.RawIOBase):
    """The chunks a reader thread has read from a stream, handed out in order; the end of
    the stream, or the error that ended it, comes after the last chunk."""

    def __init__(self, source: BinaryIO, most_bytes: int) -> None:
        self._source = source
        self._chunks: queue.Queue[bytes | BaseException] = queue.Queue(
            maxsize=max(1, most_bytes // READ_CHUNK))
        self._stop = threading.Event()
        self._current = memoryview(b"")
        self._ended = False
        self._thread = threading.Thread(target=self._read, name="import-read-ahead",
                                        daemon=True)
        self._thread.start()

    def _read(self) -> None:
        read = getattr(self._source, "read1", self._source.read)
        item: bytes | BaseException
        while not self._stop.is_set():
            try:
                item = read(READ_CHUNK)
            except BaseException as exc:  # handed to the reader, who raises it in order
                item = exc
            self._chunks.put(item)
            if not isinstance(item, bytes) or not item:
                return

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._current:
            if self._ended:
                return 0
            item = self._chunks.get()
            if isinstance(item, BaseException):
                self._ended = True
                raise item
            if not item:
                self._ended = True
                return 0
            self._current = memoryview(item)
        n = min(len(buffer), len(self._current))
        buffer[:n] = self._current[:n]
        self._current = self._current[n:]
        return n

    def close(self) -> None:
        """Stop the thread (it may still be waiting in a read: it ends with the process)."""
        self._stop.set()
        while True:  # a thread waiting to hand over a chunk gets room, then sees the stop
            try:
                self._chunks.get_nowait()
            except queue.Empty:
                break
        super().close()
