"""The ingest writer thread: concurrent submissions share commits, each future resolves only
after its commit, a failed commit is an error for every waiter (never an ack), the queue is
bounded, and stop() commits what is queued."""

from __future__ import annotations

import asyncio
import logging
import os
import threading

import pytest
from oracle_factories import keypair, witness_report

from oracle.errors import Overloaded, StorageError
from oracle.ingest import Ingestor
from oracle.storage.group_commit import GroupCommitter
from oracle.storage.repository import InsertResult, NewReport
from pocnet.keys import Network

INGEST = Ingestor(None, None, Network.MAINNET, lambda: 7)  # type: ignore[arg-type]
ROWS = [INGEST.prepare("witness", witness_report(keypair(71), timestamp_ns=i + 1))
        for i in range(40)]


class SlowRepo:
    """Commits take until `release` is set; records each batch."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[bytes]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail = fail

    def insert_reports(self, rows: list[NewReport]) -> list[InsertResult]:
        self.started.set()
        self.release.wait(5)
        if self.fail:
            raise OSError("disk full")
        self.batches.append([r.id for r in rows])
        return [InsertResult(r.id, r.received_ms, False) for r in rows]


def test_submissions_during_a_commit_share_the_next_one() -> None:
    repo = SlowRepo()
    committer = GroupCommitter(repo, max_batch=100)  # type: ignore[arg-type]

    async def run() -> list[InsertResult]:
        committer.start()
        first = committer.store(ROWS[0])
        await asyncio.to_thread(repo.started.wait, 5)  # the writer holds ROWS[0] in a commit
        rest = [committer.store(r) for r in ROWS[1:]]
        assert not first.done() and not any(f.done() for f in rest)  # nothing acked early
        repo.release.set()
        return list(await asyncio.gather(first, *rest))

    try:
        results = asyncio.run(run())
    finally:
        committer.stop()
    assert [r.id for r in results] == [r.id for r in ROWS]
    assert len(repo.batches) == 2 and len(repo.batches[1]) == len(ROWS) - 1


def test_failed_commit_is_an_error_for_every_waiter(caplog: pytest.LogCaptureFixture) -> None:
    repo = SlowRepo(fail=True)
    repo.release.set()
    committer = GroupCommitter(repo)  # type: ignore[arg-type]

    async def run() -> list[object]:
        committer.start()
        futures = [committer.store(r) for r in ROWS[:5]]
        return list(await asyncio.gather(*futures, return_exceptions=True))

    with caplog.at_level(logging.WARNING, logger="oracle"):
        try:
            outcomes = asyncio.run(run())
        finally:
            committer.stop()
    assert all(isinstance(o, StorageError) and "disk full" in str(o) for o in outcomes)
    assert "disk full" in caplog.text


def test_queue_is_bounded_and_stop_commits_what_is_queued() -> None:
    repo = SlowRepo()
    committer = GroupCommitter(repo, max_batch=100, max_queue=10)  # type: ignore[arg-type]

    async def run() -> None:
        with pytest.raises(StorageError, match="not running"):
            committer.store(ROWS[0])
        committer.start()
        held = committer.store(ROWS[0])
        await asyncio.to_thread(repo.started.wait, 5)  # in the writer's hands: queue empty
        queued = [committer.store(r) for r in ROWS[1:11]]
        with pytest.raises(Overloaded):
            committer.store(ROWS[11])
        repo.release.set()
        await asyncio.to_thread(committer.stop)
        await asyncio.sleep(0)
        assert held.done() and all(f.done() and not f.exception() for f in queued)

    asyncio.run(run())
    assert sum(len(b) for b in repo.batches) == 11


class HeldRepo:
    """A real repository whose first commit waits for `release`, so the rows stored meanwhile
    share the next batch."""

    def __init__(self, repo: object) -> None:
        self.repo = repo
        self.started = threading.Event()
        self.release = threading.Event()

    def insert_reports(self, rows: list[NewReport]) -> list[InsertResult]:
        if not self.started.is_set():
            self.started.set()
            self.release.wait(10)
        return self.repo.insert_reports(rows)  # type: ignore[attr-defined,no-any-return]


def test_one_refused_row_fails_only_itself(repo, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    """Issue 10 item 5: on PostgreSQL a 9,000-byte value in the data index failed the whole
    batch (40 keys made 18 % of others' reports fail). The data index takes any length now, and
    a row the database does refuse (here an INTEGER out of range) fails alone."""

    held = HeldRepo(repo)
    committer = GroupCommitter(held, max_batch=100)  # type: ignore[arg-type]
    big = ROWS[1]._replace(id=b"\x01" * 32, data=os.urandom(9_000))  # no compression
    refused = ROWS[2]._replace(id=b"\x02" * 32, fix_lat_e7=2**40, fix_lon_e7=0)
    good = ROWS[3:23]

    async def run() -> list[object]:
        committer.start()
        first = committer.store(ROWS[0])
        await asyncio.to_thread(held.started.wait, 10)
        rest = [committer.store(r) for r in (*good[:10], big, refused, *good[10:])]
        held.release.set()
        return list(await asyncio.gather(first, *rest, return_exceptions=True))

    with caplog.at_level(logging.WARNING, logger="oracle"):
        try:
            outcomes = asyncio.run(run())
        finally:
            committer.stop()
    if repo.dialect == "sqlite":  # SQLite's INTEGER is 64-bit: nothing to refuse there
        assert all(isinstance(o, InsertResult) for o in outcomes)
    else:
        assert isinstance(outcomes[12], StorageError), outcomes[12]
        assert [i for i, o in enumerate(outcomes) if not isinstance(o, InsertResult)] == [12]
        assert "1 failed" in caplog.text
        assert repo.report(refused.id) is None
    assert repo.report(big.id).data == big.data
    assert all(repo.report(r.id) is not None for r in (ROWS[0], *good))


def test_a_report_batch_is_one_entry_answered_in_order(repo) -> None:  # type: ignore[no-untyped-def]
    """`store_many`: a stream's report batch joins the commit as one queue entry and hears of
    all its rows in one callback, after the commit, each row's outcome in the batch's order;
    rows stored meanwhile one by one share that commit."""
    held = HeldRepo(repo)
    committer = GroupCommitter(held, max_batch=100)  # type: ignore[arg-type]
    batch = list(ROWS[1:9])
    resent = ROWS[0]._replace(received_ms=99)  # already stored by the first commit

    async def run() -> tuple[list[list[object]], object, bool]:
        loop = asyncio.get_running_loop()
        committer.start()
        first = committer.store(ROWS[0])
        await asyncio.to_thread(held.started.wait, 10)
        answers: list[list[object]] = []
        done = loop.create_future()

        def answered(outcomes: list[object]) -> None:
            answers.append(outcomes)
            done.set_result(None)

        committer.store_many([*batch, resent], answered, loop)
        single = committer.store(ROWS[9])
        assert committer.queued() == len(batch) + 2  # rows, not entries
        early = bool(answers)
        held.release.set()
        await first
        await done
        return answers, await single, early

    try:
        answers, single, early = asyncio.run(run())
    finally:
        committer.stop()
    assert not early
    assert len(answers) == 1
    outcomes = answers[0]
    assert [o.id for o in outcomes] == [r.id for r in batch] + [ROWS[0].id]  # type: ignore[attr-defined]
    assert [o.duplicate for o in outcomes] == [False] * len(batch) + [True]  # type: ignore[attr-defined]
    assert outcomes[-1].received_ms == ROWS[0].received_ms  # type: ignore[attr-defined]
    assert isinstance(single, InsertResult) and not single.duplicate
    assert all(repo.report(r.id) is not None for r in (*batch, ROWS[9]))
