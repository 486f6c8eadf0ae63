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
            # distinct messages: pickling would send one shared object only once
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
