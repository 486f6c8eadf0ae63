"""Fuzzing the ingest decoding: arbitrary bytes and mutated valid reports either decode and
are judged (BadReport / BadSignature / a stored row) or are refused with BadReport — never
another exception, never a row for a report whose signature does not verify."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle_factories import keypair, witness_report

from oracle.errors import BadReport, BadSignature, RateLimited
from oracle.ingest import Ingestor, decode_report
from pocnet import signing
from pocnet.keys import Network

VALID = witness_report(keypair(41)).SerializeToString()
INGESTOR = Ingestor(None, None, Network.MAINNET, lambda: 1)  # type: ignore[arg-type]


def _judge(kind: str, raw: bytes) -> None:
    try:
        msg = decode_report(kind, raw)
        row = INGESTOR.prepare(kind, msg, raw=raw)
    except (BadReport, BadSignature, RateLimited):
        return
    # Accepted: only possible when the signature really verifies.
    assert row.id == signing.report_id(msg)
    assert row.hotspot_key == bytes(msg.pub_key)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["witness", "coverage"]), raw=st.binary(max_size=400))
def test_arbitrary_bytes(kind: str, raw: bytes) -> None:
    _judge(kind, raw)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutated_valid_report(data: st.DataObject) -> None:
    raw = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    mutated = bytes(raw[:cut])
    if mutated == VALID:
        return
    _judge("witness", mutated)


def test_oversized_refused_before_parsing() -> None:
    try:
        decode_report("witness", b"\x00" * (16 * 1024 + 1))
    except BadReport as exc:
        assert "limit" in str(exc)
    else:
        raise AssertionError("oversized report accepted")


def test_the_unmutated_report_is_accepted() -> None:
    row = INGESTOR.prepare("witness", decode_report("witness", VALID), raw=VALID)
    assert row.raw == VALID and row.kind == "witness"
