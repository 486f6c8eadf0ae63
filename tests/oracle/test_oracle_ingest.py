"""The Ingestor's own memory under hostile input: its caches stay small whatever reports
name (the size limit alone would let 100,000 cached 16 KiB values through)."""

from __future__ import annotations

import pytest
from oracle_factories import beacon_report, keypair

from oracle.errors import BadReport, BadSignature
from oracle.ingest import Ingestor
from pocnet import signing
from pocnet.keys import Network


class _Repo:
    def __init__(self) -> None:
        self.lookups: list[bytes] = []

    def entropy(self, data: bytes):  # type: ignore[no-untyped-def]
        self.lookups.append(data)
        return None


def test_only_entropy_sized_values_are_looked_up_or_cached() -> None:
    repo = _Repo()
    ingestor = Ingestor(repo, None, Network.MAINNET, lambda: 5_000)  # type: ignore[arg-type]
    hotspot = keypair(61)
    for i in range(20):
        beacon = beacon_report(hotspot, b"\x07" * 32, 1_000, timestamp_ns=i + 1)
        beacon.remote_entropy = bytes([i]) * 8_000  # not 32 bytes: no entropy of ours
        signing.sign(beacon, hotspot)
        with pytest.raises(BadReport, match="remote_entropy is 8000 bytes; it must be 32"):
            ingestor.prepare("beacon", beacon)
    assert repo.lookups == []
    assert ingestor._entropy_ts == {}
    good = beacon_report(hotspot, b"\x07" * 32, 1_000, timestamp_ns=99)
    ingestor.prepare("beacon", good)
    ingestor.prepare("beacon", good)
    assert repo.lookups == [b"\x07" * 32]  # a 32-byte value is looked up once, then cached


def test_only_keys_not_onboarded_draw_on_the_shared_budget_before_the_signature() -> None:
    from oracle_factories import witness_report

    from oracle.errors import StrangersLimited
    from oracle.ratelimit import SharedBudget

    budget = SharedBudget(reports_per_s=1, reports_burst=3, bytes_per_s=1e6, bytes_burst=1e6,
                          clock_s=lambda: 0.0)
    hotspot = keypair(62)
    ingestor = Ingestor(_Repo(), None, Network.MAINNET, lambda: 5_000,  # type: ignore[arg-type]
                        strangers=budget, onboarded={hotspot.public_key.to_bytes()})
    for i in range(2):
        ingestor.prepare("witness", witness_report(keypair(200 + i)))
    forged = witness_report(keypair(301), signer=keypair(302))
    with pytest.raises(BadSignature):  # a forgery naming a stranger spends the shared budget,
        ingestor.prepare("witness", forged)  # as a fresh key of the forger's would: 3 of 3
    with pytest.raises(StrangersLimited):  # so a fourth stranger's report finds none ...
        ingestor.prepare("witness", witness_report(keypair(202)))
    with pytest.raises(StrangersLimited):  # ... and a forgery is refused before its signature
        ingestor.prepare("witness", forged)  # is checked: the budget bounds the checks too
    for i in range(10):  # the onboarded hotspot is not charged
        ingestor.prepare("witness", witness_report(hotspot, timestamp_ns=i + 1))


class _Watched:
    """A real repository that records which thread read the entropy table."""

    def __init__(self, repo) -> None:  # type: ignore[no-untyped-def]
        self._repo = repo
        self.entropy_threads: list[int] = []

    def entropy(self, data: bytes):  # type: ignore[no-untyped-def]
        import threading

        self.entropy_threads.append(threading.get_ident())
        return self._repo.entropy(data)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._repo, name)


@pytest.mark.parametrize("pool", [False, True], ids=["inline", "pool"])
def test_the_event_loop_never_reads_the_database(repo, pool: bool) -> None:  # type: ignore[no-untyped-def]
    """Issue 15: a beacon naming entropy the ingestor has not cached is looked up in another
    thread, and its ready time still comes from the stored entropy (docs/protocol.md §5)."""
    import asyncio
    import threading

    from oracle.signature_pool import SignaturePool
    from oracle.storage.group_commit import GroupCommitter
    from oracle.storage.repository import EntropyRecord
    from pocnet.beacon import ENTROPY_LIFETIME_S

    data, entropy_ts = b"\x05" * 32, 1_000
    repo.insert_entropy(EntropyRecord(data, entropy_ts, 1, b"k" * 33, b"raw"))
    watched = _Watched(repo)
    committed: list[object] = []
    committer = GroupCommitter(repo, on_commit=lambda rows, _, __: committed.extend(rows))
    beacon = beacon_report(keypair(63), data, entropy_ts)

    async def run() -> tuple[int, object]:
        checks = SignaturePool(1) if pool else None
        if checks is not None:
            checks.start()
        ingestor = Ingestor(watched, committer, Network.MAINNET, lambda: 5_000, pool=checks)
        try:
            result = await ingestor.begin("beacon", beacon)
        finally:
            if checks is not None:
                checks.stop()
        return threading.get_ident(), result

    committer.start()
    try:
        loop_thread, result = asyncio.run(run())
    finally:
        committer.stop()
    assert len(watched.entropy_threads) == 1
    assert watched.entropy_threads[0] != loop_thread
    assert [row.id for row in committed] == [result.id]  # type: ignore[attr-defined]
    assert committed[0].ready_ms == (entropy_ts + ENTROPY_LIFETIME_S) * 1000 + 4_000  # type: ignore[attr-defined]
