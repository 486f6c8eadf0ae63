"""Group commit: one writer thread turns many concurrent submissions into one transaction.

An acknowledgement waits for a durable commit (synchronous=FULL / PostgreSQL commit), and an
fsync costs about as much for one row as for a thousand. So every request that arrives while a
commit is in flight joins the next one: throughput grows with load while each request still
waits for at most about two commits. Results go back to each event loop in one callback per
batch, not one per report.

One row the database refuses (a value out of range, a constraint) must not fail the reports of
everyone who shared its transaction: a failed batch is split in halves and retried until the
refused rows stand alone, so the others commit and only the refused rows' callers hear of it.
A database that cannot be reached fails the whole batch at once (retrying rows cannot help).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from oracle.errors import DatabaseUnreachable, Overloaded, StorageError
from oracle.storage.repository import InsertResult, NewReport, Repository

DEFAULT_MAX_BATCH = 2048
DEFAULT_MAX_QUEUE = 100_000


# A queued submission: (rows, sink, loop). The sink is one report's future (`store_into`) or a
# report batch's callback (`store_many`), which gets every row's outcome at once. Plain tuples:
# this is the ingest hot path.
_Sink = Any
_Item = tuple[list[NewReport], _Sink, asyncio.AbstractEventLoop]

_STOP = object()
log = logging.getLogger(__name__)


def _deliver(pairs: Sequence[tuple[_Sink, list[Any]]]) -> None:
    """On the submitter's loop: hand each submission its rows' outcomes (results or errors)."""
    for sink, outcomes in pairs:
        if not isinstance(sink, asyncio.Future):
            sink(outcomes)
        elif sink.done():  # the caller gave up (deadline, stream closed)
            continue
        elif isinstance(outcomes[0], BaseException):
            sink.set_exception(outcomes[0])
        else:
            sink.set_result(outcomes[0])


class GroupCommitter:
    def __init__(
        self,
        repo: Repository,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_queue: int = DEFAULT_MAX_QUEUE,
        on_commit: Callable[[Sequence[NewReport], Sequence[InsertResult], float], None]
        | None = None,
    ) -> None:
        """`on_commit(rows, results, seconds)` after each committed batch (metrics)."""
        self._repo = repo
        self._on_commit = on_commit
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._queued = 0  # rows in the queue (a batch is one item of many rows)
        self._count_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.rows = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Commit everything already queued, then stop the writer."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout_s)
            self._thread = None

    def queued(self) -> int:
        """Reports waiting for the next commit."""
        return self._queued

    def store(self, row: NewReport) -> asyncio.Future[InsertResult]:
        """Queue `row`; the future resolves once its transaction has committed."""
        future: asyncio.Future[InsertResult] = asyncio.get_running_loop().create_future()
        self.store_into(row, future)
        return future

    def store_into(self, row: NewReport, future: asyncio.Future[InsertResult]) -> None:
        """Queue `row` and resolve the caller's own `future` (of the running loop) once its
        transaction has committed: no second future and callback per report on the hot path."""
        self._put([row], future, future.get_loop())

    def store_many(
        self, rows: list[NewReport], callback: Callable[[list[Any]], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        """Queue a report batch's `rows`; once their transaction has committed, `callback` runs
        on `loop` with each row's outcome in order (an InsertResult, or the StorageError that
        refused that row): one queue entry and one callback for the batch."""
        self._put(rows, callback, loop)

    def _put(self, rows: list[NewReport], sink: _Sink, loop: asyncio.AbstractEventLoop) -> None:
        if self._thread is None:
            raise StorageError("the ingest writer is not running")
        with self._count_lock:
            if self._queued >= self._max_queue:
                raise Overloaded("ingest queue full; retry later")
            self._queued += len(rows)
        self._queue.put((rows, sink, loop))

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch = [first]
            size = len(first[0])
            while size < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
                size += len(item[0])
            with self._count_lock:
                self._queued -= size
            self._commit(batch)

    def _insert(self, rows: list[NewReport]) -> list[Any]:
        """Outcomes of `rows`, in order: a result, or the error of the rows that failed."""
        try:
            started = time.monotonic()
            outcomes = list(self._repo.insert_reports(rows))
        # Handed to each waiter, which maps it to a status; never swallowed.
        except Exception as exc:
            error = exc if isinstance(exc, StorageError) else StorageError(f"commit failed: {exc}")
            if len(rows) == 1 or isinstance(error, DatabaseUnreachable):
                return [error] * len(rows)
            half = len(rows) // 2
            return self._insert(rows[:half]) + self._insert(rows[half:])
        self.batches += 1
        self.rows += len(rows)
        if self._on_commit is not None:
            self._on_commit(rows, outcomes, time.monotonic() - started)
        return outcomes

    def _commit(self, batch: list[_Item]) -> None:
        rows = [row for item in batch for row in item[0]]
        outcomes = self._insert(rows)
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        if failed:
            log.warning("commit of %d reports: %d failed (each caller told UNAVAILABLE): %s",
                        len(rows), len(failed), failed[0])
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Sink, list[Any]]]]
        by_loop = defaultdict(list)
        start = 0
        for item_rows, sink, loop in batch:
            end = start + len(item_rows)
            by_loop[loop].append((sink, outcomes[start:end]))
            start = end
        for loop, pairs in by_loop.items():
            if not loop.is_closed():
                loop.call_soon_threadsafe(_deliver, pairs)
