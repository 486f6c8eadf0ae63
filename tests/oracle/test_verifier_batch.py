"""Batched verification gives, byte for byte, the verdicts of the per-report path.

The runner answers a batch's questions from a few set-based reads (`BatchContext`); the
reference is the per-report path it replaced: `StorageContext`, one read per question, and one
PoC stored at a time. Both run over the same generated history on SQLite and on PostgreSQL: two
days of the small-town scenario (every adversary class, real signed reports through `import`),
with a denylist whose entries lapse mid-history and a denied edge, so every read the verifier
makes (registrations, denials, edges, irregular interval, reciprocity with the HIP-106
bootstrap, GPS fixes, witnesses shared by replayed beacons) is exercised.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from oracle_factories import keypair

from oracle.importer import Importer
from oracle.storage.repository import Repository, StoredVerdict
from oracle.verifier.params import VerifierParams
from oracle.verifier.reasons import Reason
from oracle.verifier.runner import VerificationRunner
from oracle.verifier.storage_context import BatchContext, StorageContext
from pocnet.keys import Network
from sim_radio.adversaries import witness_reports
from sim_radio.scenario import build, load_scenario
from sim_radio.wire_reports import WireWriter

SMALL_TOWN = Path(__file__).resolve().parents[2] / "sim_radio" / "scenarios" / "small_town.toml"
ORACLE = keypair(9090, Network.TESTNET)
ROUNDS = 6  # a day and a half of 6-hour beacon windows
LEASE_MS = 300_000
EVERYTHING = (0, 2**62)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[bytes], int, int]:
    """(maker key, report file lines, first and last receive time) of the generated history:
    the small town with false locations on an honest GPS (the GPS rules reject them) and a
    group that moves its assertions and fixes 30 km after the second window."""
    text = SMALL_TOWN.read_text().replace('gps = "spoofed"', 'gps = "honest"')
    path = tmp_path_factory.mktemp("scenario") / "town.toml"
    path.write_text(text + "\n[adversaries.cluster_move]\nshare = 0.1\nsize = 5\n")
    scenario = replace(load_scenario(path), rounds=ROUNDS)
    mesh, assignment = build(scenario)
    start_ms = scenario.start_ns // 1_000_000
    with WireWriter(assignment, scenario.seed, ORACLE, workers=0) as writer:
        lines = list(writer.onboarding(start_ms - 3_600_000))
        for r in range(scenario.rounds):
            result = mesh.beacon_round(r)
            lines += writer.round_reports(result, witness_reports(mesh, result, assignment)).lines
        maker = writer.maker.public_key.to_bytes()
    return maker, [line.encode() for line in lines], start_ms, start_ms + ROUNDS * 6 * 3_600_000


def _load(repo: Repository, history: tuple[bytes, list[bytes], int, int]) -> int:
    """Import the history, deny some of its hotspots; the time at which all of it is ready."""
    maker, lines, start_ms, end_ms = history
    repo.put_maker(maker, "proving ground", 10_000, 0)
    result = Importer(repo, Network.TESTNET, [ORACLE.public_key], workers=0).run(lines)
    assert not result.rejected, result.first_rejected[:3]
    keys = sorted({k for k, _ in repo.hotspots_asserted_since(None)})
    # One hotspot denied for good, one until the middle of the second day's first window (as gaming
    # detection denies for a few epochs), one pair of neighbours denied as an edge.
    repo.replace_denylist(
        1, ORACLE.public_key.to_bytes(), [keys[0], keys[1]], [(keys[2], keys[3])], b"list",
        start_ms, denials=[(keys[1], "test", "", start_ms + 27 * 3_600_000)],
    )
    return end_ms + 2 * 3_600_000  # every window closed, unmatched witnesses stale


def _per_report(repo: Repository, params: VerifierParams, now_ms: int) -> None:
    """The per-report path: one read per question, each PoC stored before the next."""
    runner = VerificationRunner(repo, params, lambda: now_ms, worker="reference")
    while claimed := repo.claim_beacons("reference", now_ms, LEASE_MS, 200):
        ctx = StorageContext(repo)
        for beacon in claimed:
            stored = runner.verify_beacon(beacon, ctx, now_ms)
            assert repo.store_verdicts("reference", beacon.id, stored)
    repo.mark_stale(now_ms, params.stale_after_ms)


def _all(repo: Repository) -> list[StoredVerdict]:
    return list(repo.verdicts_received_between(*EVERYTHING))


@pytest.mark.timeout(600)
@pytest.mark.parametrize("batch", [200, 7])
def test_batched_verdicts_equal_the_per_report_path(repo: Repository, history, batch: int) -> None:  # type: ignore[no-untyped-def]
    now_ms = _load(repo, history)
    params = VerifierParams()
    _per_report(repo, params, now_ms)
    reference = _all(repo)
    reasons = Counter(None if v.reason is None else Reason(v.reason).name for v in reference)
    # The history exercises what the batch reads: accepted reports, the bootstrap's
    # reciprocity, both kinds of denial, the GPS rules and the interval rule.
    for reason in (None, "gateway_no_valid_witnesses", "denied", "denied_edge",
                   "gps_location_mismatch"):
        assert reasons[reason] > 0, reasons

    assert repo.reset_verification(*EVERYTHING) == len(reference)
    stats = VerificationRunner(repo, params, lambda: now_ms, worker="w", batch=batch).run_once()
    assert stats.lost_claims == 0
    batched = _all(repo)
    assert len(batched) == len(reference)
    assert batched == reference


@pytest.mark.timeout(600)
def test_a_batch_reads_far_less_than_once_per_report(tmp_path: Path, history) -> None:  # type: ignore[no-untyped-def]
    """~4 reads a report before (one per question); now a few per beacon (its entropy, its
    witnesses, the interval rule, the claim check when storing) and ~10 per batch."""
    from oracle.storage import open_repository

    repo = open_repository(f"sqlite:///{tmp_path / 'oracle.db'}")
    try:
        now_ms = _load(repo, history)
        statements: list[str] = []
        conn: sqlite3.Connection = repo._conn()  # type: ignore[attr-defined]
        conn.set_trace_callback(statements.append)
        stats = VerificationRunner(repo, VerifierParams(), lambda: now_ms, worker="w").run_once()
        conn.set_trace_callback(None)
    finally:
        repo.close()
    assert stats.verdicts > 20 * stats.beacons  # a dense town: tens of witnesses a beacon
    reads = [s for s in statements if s.startswith(("SELECT", "WITH"))]
    assert len(reads) < stats.verdicts / 4


def test_a_batch_answers_every_question_as_the_per_report_reads(repo: Repository, history) -> None:  # type: ignore[no-untyped-def]
    """Each answer directly, not only through verdicts: some answers (the previous GPS fix
    of a hotspot whose fixes never move fast) change no verdict of this history. Half of it
    verified first, so the batch's reciprocity history comes from the database as well as
    from the verdicts it records."""
    now_ms = _load(repo, history)
    _, _, start_ms, _ = history
    params = VerifierParams()
    _per_report(repo, params, start_ms + ROUNDS // 2 * 6 * 3_600_000)
    claimed = repo.claim_beacons("w", now_ms, LEASE_MS, 60)
    assert len(claimed) == 60
    batch, single = BatchContext(repo, claimed), StorageContext(repo)
    asked = fixes = 0
    for beacon in claimed:
        batch.as_of_ms = single.as_of_ms = beacon.received_ms
        b_key = beacon.hotspot_key
        assert batch.last_valid_witness_ms(b_key) == single.last_valid_witness_ms(b_key)
        for w in repo.pending_witnesses(beacon.data or b""):
            key = w.hotspot_key
            for ctx_question in ("hotspot", "is_denied", "last_valid_beacon_ms"):
                assert getattr(batch, ctx_question)(key) == getattr(single, ctx_question)(key)
            assert batch.is_edge_denied(key, b_key) == single.is_edge_denied(key, b_key)
            for at in (w.received_ms, beacon.received_ms):
                fix = batch.last_fix(key, at)
                assert fix == single.last_fix(key, at)
                fixes += fix is not None
            asked += 1
        # What the runner tells it after storing this PoC: later beacons must count it.
        stored = VerificationRunner(repo, params, lambda: now_ms, "w").verify_beacon(
            beacon, single, now_ms)
        assert repo.store_verdicts("w", beacon.id, stored)
        batch.record(stored)
    assert asked > 1000 and fixes > asked


def test_a_copy_verified_earlier_in_the_batch_no_longer_waits(repo: Repository) -> None:
    """Two forged copies of one beacon's data (heard on air, invalid) and one witness of it.
    The first copy leaves the witness to the second, which still waits; the second then
    finds nothing waiting and takes it. Verdicts held for the batch's one transaction must
    count as stored here: otherwise the second would wait for the first and the witness
    would end stale."""
    from oracle_factories import beacon_report, witness_report
    from test_oracle_runner import T0_S, B, Clock

    from oracle.entropy import EntropyIssuer
    from oracle.ingest import Ingestor
    from pocnet import signing

    clock = Clock(T0_S * 1000)
    ingestor = Ingestor(repo, None, Network.MAINNET, clock)  # type: ignore[arg-type]
    issuer = EntropyIssuer(repo, keypair(99), lambda: clock.ms / 1000,
                           on_issue=ingestor.remember_entropy)
    entropy = issuer.issue()
    real = beacon_report(B, entropy.data, entropy.timestamp, local_entropy=b"\x09" * 4)
    copies = []
    for n, seed in enumerate((25, 26)):
        forged = beacon_report(keypair(seed), entropy.data, entropy.timestamp,
                               local_entropy=b"\x00" * 4)
        forged.data = real.data
        signing.sign(forged, keypair(seed))
        clock.ms = T0_S * 1000 + 9_000 + n
        copies.append(ingestor.prepare("beacon", forged))
    w = witness_report(keypair(27), data=real.data, signal=-1100, snr=50,
                       frequency=real.frequency)
    signing.sign(w, keypair(27))
    clock.ms = T0_S * 1000 + 10_500
    witness = ingestor.prepare("witness", w)
    repo.insert_reports([*copies, witness])
    runner = VerificationRunner(repo, VerifierParams(), clock, worker="w")
    assert runner.run_once(now_ms=copies[1].ready_ms).beacons == 2
    first, second = (repo.verdict(c.id) for c in copies)
    assert first is not None and second is not None
    assert not first.valid and first.witnesses == 0
    verdict = repo.verdict(witness.id)
    assert verdict is not None and verdict.beacon_id == copies[1].id and not verdict.valid


def test_a_denied_edge_lapses_at_its_expiry_in_both_contexts(repo: Repository) -> None:
    """As a hotspot's entry: in force the millisecond before its expiry, not at it, whatever
    the denylist's version still lists; one without expiry never lapses."""
    a, b, c = (keypair(s).public_key.to_bytes() for s in (1, 2, 3))
    repo.replace_denylist(1, ORACLE.public_key.to_bytes(), [], [(b, a), (a, c)], b"list", 0,
                          edge_denials=[(b, a, "one antenna", "", 5_000)])
    for ctx in (BatchContext(repo, []), StorageContext(repo)):
        ctx.as_of_ms = 4_999
        assert ctx.is_edge_denied(a, b) and ctx.is_edge_denied(b, a)
        ctx.as_of_ms = 5_000
        assert not ctx.is_edge_denied(a, b) and not ctx.is_edge_denied(b, a)
        assert ctx.is_edge_denied(c, a) and not ctx.is_edge_denied(b, c)
        ctx.as_of_ms = None  # no time asked: listed is denied
        assert ctx.is_edge_denied(a, b)
