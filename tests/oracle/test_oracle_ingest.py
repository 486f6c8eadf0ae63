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


def test_only_keys_not_onboarded_draw_on_the_shared_budget() -> None:
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
    with pytest.raises(BadSignature):  # a forgery spends nobody's budget ...
        ingestor.prepare("witness", forged)
    ingestor.prepare("witness", witness_report(keypair(202)))  # ... the last report is left
    with pytest.raises(StrangersLimited):  # three fresh keys took it all; a fourth finds none
        ingestor.prepare("witness", witness_report(keypair(300)))
    with pytest.raises(StrangersLimited):  # refused before its signature is even checked
        ingestor.prepare("witness", forged)
    for i in range(10):  # the onboarded hotspot is not charged
        ingestor.prepare("witness", witness_report(hotspot, timestamp_ns=i + 1))
