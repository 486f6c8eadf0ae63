"""The entropy issuer (docs/protocol.md §4): data = SHA-256(i64_le(ts) || source), signed by the
oracle, stored before it is served, a new value once the interval has passed."""

from __future__ import annotations

import asyncio
import hashlib
import struct

from oracle_factories import keypair

from oracle.entropy import EntropyIssuer
from oracle.storage.repository import Repository
from pocnet import signing
from pocnet.wire import entropy_pb2


def test_issue_current_and_rotation(repo: Repository) -> None:
    now = [1_767_225_600.0]
    oracle_kp = keypair(77)
    seen: list[tuple[bytes, int]] = []
    issuer = EntropyIssuer(repo, oracle_kp, lambda: now[0], source=lambda n: b"\x05" * n,
                           on_issue=lambda d, ts: seen.append((d, ts)))
    first = issuer.current()
    expected = hashlib.sha256(struct.pack("<q", 1_767_225_600) + b"\x05" * 32).digest()
    assert first.data == expected and first.timestamp == 1_767_225_600
    signing.verify(first, oracle_kp.public_key)
    stored = repo.entropy(first.data)
    assert stored is not None and entropy_pb2.Entropy.FromString(stored.raw) == first
    now[0] += 59.9
    assert issuer.current() is first  # still fresh
    now[0] += 0.1
    second = issuer.current()
    assert second.timestamp == first.timestamp + 60 and second.data != first.data
    assert repo.latest_entropy().data == second.data  # type: ignore[union-attr]
    assert [d for d, _ in seen] == [first.data, second.data]


def test_run_issues_until_stopped(repo: Repository) -> None:
    issued: list[int] = []
    issuer = EntropyIssuer(repo, keypair(78), lambda: 1_000.0 + len(issued),
                           interval_s=60, on_issue=lambda d, ts: issued.append(ts))

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(issuer.run(stop))
        while not issued:
            await asyncio.sleep(0)
            await asyncio.sleep(0.001)
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(run())
    assert issued == [1_000]
