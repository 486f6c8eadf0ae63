"""The signature helper processes: same answers as inline verification, in order; a dead
helper fails the waiting calls (UNAVAILABLE upstream) and the ingestor falls back to inline."""

from __future__ import annotations

import asyncio
import os

import pytest

from oracle.errors import Overloaded, SignatureCheckerDied
from oracle.signature_pool import SignaturePool
from pocnet.keys import Keypair


def test_answers_match_inline_and_keep_order() -> None:
    async def run() -> list[bool]:
        pool = SignaturePool()
        pool.start()
        try:
            kp = Keypair.from_seed(b"\x01" * 32)
            cases = []
            for i in range(300):
                message = os.urandom(40)
                signature = kp.sign(message)
                if i % 7 == 0:
                    signature = signature[:-1] + bytes([signature[-1] ^ 1])
                if i % 11 == 0:
                    signature = signature[:10]
                cases.append((kp.public_key.raw, message, signature))
            cases.append((b"\x00" * 31, b"m", b"\x00" * 64))  # not a key
            futures = [pool.verify(*case) for case in cases]
            return list(await asyncio.gather(*futures))
        finally:
            pool.stop()

    answers = asyncio.run(run())
    expected = [not (i % 7 == 0 or i % 11 == 0) for i in range(300)] + [False]
    assert answers == expected


@pytest.mark.parametrize("processes", [1, 2])
def test_dead_helper_fails_waiters_and_reports_not_alive(processes: int) -> None:
    # One helper of several dying stops the pool: the ingestor then checks inline.
    async def run() -> None:
        pool = SignaturePool(processes)
        pool.start()
        helper = pool._helpers[0].process
        helper.kill()
        helper.join(5)
        kp = Keypair.from_seed(b"\x02" * 32)
        future = pool.verify(kp.public_key.raw, b"m", kp.sign(b"m"))
        with pytest.raises(SignatureCheckerDied):
            await asyncio.wait_for(future, 5)
        assert not pool.alive
        with pytest.raises(SignatureCheckerDied):
            await pool.verify(kp.public_key.raw, b"m", kp.sign(b"m"))
        pool.stop()

    asyncio.run(run())


def test_backlog_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each stream may have thousands of reports in flight and a thousand streams may be open:
    # beyond the bound the pool refuses (RESOURCE_EXHAUSTED upstream) instead of growing.
    monkeypatch.setattr("oracle.signature_pool.MAX_PENDING", 50)

    async def run() -> list[object]:
        pool = SignaturePool()
        pool.start()
        try:
            kp = Keypair.from_seed(b"\x03" * 32)
            futures = [pool.verify(kp.public_key.raw, b"m", kp.sign(b"m")) for _ in range(80)]
            return list(await asyncio.gather(*futures, return_exceptions=True))
        finally:
            pool.stop()

    answers = asyncio.run(run())
    assert answers[:50] == [True] * 50
    assert all(isinstance(a, Overloaded) for a in answers[50:])


def test_a_stalled_helper_never_blocks_the_event_loop() -> None:
    # Batches are bounded in bytes so that what a helper holds fits the pipe buffer: with the
    # helper stopped (a machine too busy to schedule it), sending 16 KiB reports still returns
    # at once. Unbounded, the first write of a 2 MiB batch would wait for the helper forever.
    import signal

    from oracle.signature_pool import MAX_IN_FLIGHT

    async def run() -> list[bool]:
        pool = SignaturePool(1)
        pool.start()
        helper = pool._helpers[0]
        try:
            kp = Keypair.from_seed(b"\x04" * 32)
            # distinct messages, as reports are
            messages = [os.urandom(16 * 1024) for _ in range(200)]
            checks = [(kp.public_key.raw, m, kp.sign(m)) for m in messages]
            assert helper.process.pid is not None
            os.kill(helper.process.pid, signal.SIGSTOP)
            futures = [pool.verify(*check) for check in checks]
            for _ in range(3):
                await asyncio.sleep(0)  # the flush runs (and returns) while the helper sleeps
            assert 0 < len(helper.in_flight) <= MAX_IN_FLIGHT
            os.kill(helper.process.pid, signal.SIGCONT)
            return list(await asyncio.gather(*futures))
        finally:
            pool.stop()

    assert asyncio.run(run()) == [True] * 200


@pytest.mark.parametrize("processes", [1, 2])
def test_a_report_batch_is_checked_in_one_round_trip_per_helper(processes: int) -> None:
    """The checks of a hotspot's report batch (32 witness-sized messages, queued in one
    event-loop turn) leave in one message per idle helper: one round trip, split so that every
    core verifies part of the batch. (A full batch of 128 takes two messages of one helper:
    MAX_BATCH_BYTES keeps what a helper holds within the pipe buffer.) Helpers stopped, so
    nothing is answered before the count."""
    import signal

    batch = 32  # hotspot.uploader.BATCH

    async def run() -> tuple[list[int], list[bool]]:
        pool = SignaturePool(processes)
        pool.start()
        try:
            kp = Keypair.from_seed(b"\x05" * 32)
            messages = [os.urandom(120) for _ in range(batch)]
            for helper in pool._helpers:
                os.kill(helper.process.pid, signal.SIGSTOP)
            futures = [pool.verify(kp.public_key.raw, m, kp.sign(m)) for m in messages]
            for _ in range(3):
                await asyncio.sleep(0)
            sent = [len(helper.in_flight) for helper in pool._helpers]
            for helper in pool._helpers:
                os.kill(helper.process.pid, signal.SIGCONT)
            return sent, list(await asyncio.gather(*futures))
        finally:
            pool.stop()

    sent, answers = asyncio.run(run())
    assert sent == [1] * processes
    assert answers == [True] * batch


def test_ctrl_c_is_left_to_the_server() -> None:
    """Ctrl-C in a terminal signals the whole process group: the helper must survive it (the
    server finishes its calls first) instead of dying with a traceback. SIGINT is sent at once
    after start, while the helper's interpreter may still be starting, and again once it
    answers; the main thread's own SIGINT handling is restored."""
    import signal

    before = signal.getsignal(signal.SIGINT)

    async def run() -> bool:
        pool = SignaturePool(1)
        pool.start()
        process = pool._helpers[0].process
        assert process.pid is not None
        try:
            os.kill(process.pid, signal.SIGINT)
            kp = Keypair.from_seed(b"\x03" * 32)
            first = await asyncio.wait_for(pool.verify(kp.public_key.raw, b"m", kp.sign(b"m")), 60)
            os.kill(process.pid, signal.SIGINT)
            second = await asyncio.wait_for(pool.verify(kp.public_key.raw, b"n", kp.sign(b"n")), 60)
            return first and second and pool.alive and process.is_alive()
        finally:
            pool.stop()

    assert asyncio.run(run())
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.parametrize("processes", [1, 2])
def test_a_batch_of_checks_is_one_callback_in_order(processes: int) -> None:
    """`submit_many`: a report batch's checks cost one callback with one answer byte per check
    (1 = valid), in order, whichever helper checked which part; batches and single checks
    submitted together are answered in submit order."""
    kp = Keypair.from_seed(b"\x06" * 32)
    messages = [os.urandom(60) for _ in range(100)]
    triples = [(kp.public_key.raw, m, kp.sign(m)) for m in messages]
    for i in range(0, 100, 9):  # forged
        triples[i] = (triples[i][0], triples[i][1], bytes(64))
    expected = bytes(0 if i % 9 == 0 else 1 for i in range(100))

    async def run() -> list[tuple[str, object]]:
        pool = SignaturePool(processes)
        pool.start()
        try:
            heard: list[tuple[str, object]] = []
            done = asyncio.get_running_loop().create_future()
            pool.submit_many(triples[:40], lambda a: heard.append(("first", a)))
            pool.submit(*triples[40], lambda a: heard.append(("one", a)))
            pool.submit_many([], lambda a: heard.append(("empty", a)))

            def last(answers: object) -> None:
                heard.append(("last", answers))
                done.set_result(None)

            pool.submit_many(triples[41:], last)
            await asyncio.wait_for(done, 60)
            return heard
        finally:
            pool.stop()

    heard = asyncio.run(run())
    assert heard == [("empty", b""), ("first", expected[:40]), ("one", True),
                     ("last", expected[41:])]


def test_a_batch_beyond_the_backlog_is_refused_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("oracle.signature_pool.MAX_PENDING", 50)
    kp = Keypair.from_seed(b"\x07" * 32)
    triple = (kp.public_key.raw, b"m", kp.sign(b"m"))

    async def run() -> list[object]:
        pool = SignaturePool(1)
        pool.start()
        try:
            heard: list[object] = []
            pool.submit_many([triple] * 50, heard.append)  # exactly the bound: taken
            pool.submit_many([triple], heard.append)  # one more: refused at once
            while len(heard) < 2:
                await asyncio.sleep(0.01)
            return heard
        finally:
            pool.stop()

    heard = asyncio.run(run())
    assert isinstance(heard[0], Overloaded) and heard[1] == b"\x01" * 50


def test_fields_of_any_length_are_answered_not_raised() -> None:
    """A signature or message longer than 64 KiB (an operator may raise the message limit) is
    framed like any other check and answered "invalid", never an error on the event loop."""
    kp = Keypair.from_seed(b"\x08" * 32)
    long_message = os.urandom(70_000)

    async def run() -> list[bool]:
        pool = SignaturePool(1)
        pool.start()
        try:
            return list(await asyncio.gather(
                pool.verify(kp.public_key.raw, b"m", bytes(70_000)),
                pool.verify(kp.public_key.raw, long_message, kp.sign(long_message)),
                pool.verify(kp.public_key.raw, b"m", kp.sign(b"m")),
            ))
        finally:
            pool.stop()

    assert asyncio.run(run()) == [False, True, True]
