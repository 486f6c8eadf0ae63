"""The epoch manifest: Merkle root rules, determinism, storage once, recompute identical,
and readiness — against a real oracle store (SQLite) seeded with verdicts."""

from __future__ import annotations

import hashlib
import struct

import pytest
from rewards_seed import (
    BEACON_RPS,
    EMISSION,
    END_MS,
    EPOCH,
    EXPECTED,
    EXPECTED_PAID,
    EXPECTED_UNALLOCATED,
    EXPECTED_WALLETS,
    PLACES,
    START_MS,
    deny,
    key,
    seed,
)

from oracle.rewards.epoch import RewardParams
from oracle.rewards.errors import ClaimLost, EpochBusy, EpochNotReady, ManifestMismatch
from oracle.rewards.manifest import check_manifest, leaf_hash, manifest_bytes, merkle_root
from oracle.rewards.runner import compute_and_store, compute_manifest
from oracle.rewards.source import RepositorySource
from oracle.rewards.store import CLAIM_LEASE_MS, ManifestStore

READY_MS = END_MS + 45 * 60_000


def h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf(w: bytes, a: int) -> bytes:
    return h(b"\x00" + w + struct.pack("<Q", a))


def test_merkle_root_by_hand() -> None:
    a, b, c = (bytes([i]) * 32 for i in (1, 2, 3))
    assert merkle_root([]) == h(b"")
    assert merkle_root([(a, 5)]) == leaf(a, 5)
    two = h(b"\x01" + leaf(a, 5) + leaf(b, 6))
    assert merkle_root([(b, 6), (a, 5)]) == two  # sorted, whatever the input order
    # Odd count: the last node is promoted unchanged, never duplicated.
    assert merkle_root([(c, 7), (a, 5), (b, 6)]) == h(b"\x01" + two + leaf(c, 7))
    assert leaf_hash(a, 5) == leaf(a, 5)
    with pytest.raises(ValueError):
        leaf_hash(b"short", 1)


# `repo` (tests/oracle/conftest.py): a fresh store on SQLite and on PostgreSQL.


def test_source_reads_the_epoch_from_the_store(repo) -> None:
    seed(repo, pending=1)
    source = RepositorySource(repo)
    beacons = {b.report_id[:2]: b for b in source.shares(START_MS, END_MS).beacons()}
    assert set(beacons) == {b"bA", b"bB"}
    assert [w.hotspot_key for w in beacons[b"bA"].witnesses] == [key("B"), key("C")]
    assert str(beacons[b"bB"].witnesses[0].location_trust) == "0.25"
    assert len(source.interactive_cells(END_MS - 60 * 3_600_000, END_MS)) == 2  # A and B
    assert source.unverified_beacons(START_MS, END_MS) == 1
    assert source.owner(key("A")).location is not None
    assert source.owner(b"nobody") is None


def test_source_streams_large_reads_on_both_backends(repo, monkeypatch) -> None:
    # An epoch's witnesses can be ten million rows: the scans must not go through
    # `repo.transaction()` (fetchall, the whole result in memory). SQLite streams through a
    # read-only WAL connection, PostgreSQL through a server-side cursor.
    seed(repo)
    source = RepositorySource(repo)

    def no_fetchall(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a scan buffered its whole result")

    def no_lookup(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("owners read one query per hotspot")

    monkeypatch.setattr(repo, "transaction", no_fetchall)
    monkeypatch.setattr(repo, "hotspot", no_lookup)
    try:
        beacons = list(source.shares(START_MS, END_MS).beacons())
        assert len(beacons) == 2 and sum(len(b.witnesses) for b in beacons) >= 2
        assert len(source.interactive_cells(END_MS - 60 * 3_600_000, END_MS)) == 2
        assert source.owner(key("A")).location is not None and source.owner(b"x") is None
    finally:
        source.close()


@pytest.mark.parametrize("batch_beacons", [1, 2, 1 << 16])
def test_manifest_amounts_match_the_hand_computation(repo, monkeypatch, batch_beacons) -> None:
    # The source hands over columns a batch of beacons at a time, each batch with exactly its
    # own beacons' witnesses: one beacon a batch (witness rows read one by one, some held
    # over to the next batch), two, or all at once give the same amounts.
    import oracle.rewards.source as source

    monkeypatch.setattr(source, "BATCH_BEACONS", batch_beacons)
    seed(repo)
    manifest = compute_manifest(RepositorySource(repo), EPOCH, RewardParams(emission=EMISSION))
    check_manifest(manifest)
    amounts = {h.hotspot_key: (h.beacon_amount, h.witness_amount) for h in manifest.hotspots}
    assert amounts == {key(n): v for n, v in EXPECTED.items()}
    assert {w.wallet: w.amount for w in manifest.wallets} == EXPECTED_WALLETS
    assert (manifest.total_paid, manifest.unallocated) == (EXPECTED_PAID, EXPECTED_UNALLOCATED)
    assert manifest.beacon_reward_per_share == str(BEACON_RPS)
    assert manifest.merkle_root == merkle_root(list(EXPECTED_WALLETS.items()))
    assert len(PLACES) == 4


def test_compute_twice_gives_the_same_manifest_and_stores_once(repo) -> None:
    seed(repo)
    params = RewardParams(emission=EMISSION)
    store = ManifestStore(repo)
    first, stored = compute_and_store(RepositorySource(repo), store, EPOCH, params, READY_MS)
    second, stored_again = compute_and_store(
        RepositorySource(repo), store, EPOCH, params, READY_MS + 86_400_000
    )
    assert stored and not stored_again
    assert manifest_bytes(first) == manifest_bytes(second) == manifest_bytes(store.load(EPOCH))
    assert store.rewards_for(key("A"), EPOCH, None) == [(EPOCH, *EXPECTED["A"])]
    with repo.transaction() as tx:
        tx.execute("SELECT COUNT(*) FROM rewards_shares WHERE epoch = ?", (EPOCH,))
        assert tx.fetchone()[0] == 5  # 2 beaconer + 3 witness shares; D's invalid one absent
    # A different result (another emission) is refused; the stored manifest stands.
    with pytest.raises(ManifestMismatch):
        compute_and_store(
            RepositorySource(repo), store, EPOCH, RewardParams(emission=EMISSION + 1), READY_MS
        )
    assert manifest_bytes(store.load(EPOCH)) == manifest_bytes(first)


def test_epoch_is_computed_only_when_complete(repo) -> None:
    seed(repo, pending=2)
    store, params = ManifestStore(repo), RewardParams(emission=EMISSION)
    with pytest.raises(EpochNotReady, match="minutes"):
        compute_and_store(RepositorySource(repo), store, EPOCH, params, READY_MS - 1)
    with pytest.raises(EpochNotReady, match="2 unverified"):
        compute_and_store(RepositorySource(repo), store, EPOCH, params, READY_MS)
    assert store.load(EPOCH) is None


def test_check_manifest_detects_tampering(repo) -> None:
    seed(repo)
    manifest = compute_manifest(RepositorySource(repo), EPOCH, RewardParams(emission=EMISSION))
    manifest.wallets[0].amount += 1
    with pytest.raises(ValueError, match="Merkle"):
        check_manifest(manifest)


def test_an_interrupted_store_is_redone_cleanly(repo, monkeypatch) -> None:
    seed(repo)
    params, store = RewardParams(emission=EMISSION), ManifestStore(repo)
    real = store.add_shares

    def crash_after_some(epoch, rows, token):
        real(epoch, rows[:2], token)
        raise RuntimeError("killed while storing shares")

    monkeypatch.setattr(store, "add_shares", crash_after_some)
    with pytest.raises(RuntimeError):
        compute_and_store(RepositorySource(repo), store, EPOCH, params, READY_MS)
    assert store.load(EPOCH) is None  # not stored: no manifest row
    assert store.rewards_for(key("A"), EPOCH, EPOCH) == []
    monkeypatch.setattr(store, "add_shares", real)
    _, stored = compute_and_store(RepositorySource(repo), store, EPOCH, params, READY_MS)
    assert stored
    with repo.transaction() as tx:
        tx.execute("SELECT COUNT(*) FROM rewards_shares WHERE epoch = ?", (EPOCH,))
        assert tx.fetchone()[0] == 5


def _share_count(repo) -> int:
    with repo.transaction() as tx:
        tx.execute("SELECT COUNT(*) FROM rewards_shares WHERE epoch = ?", (EPOCH,))
        return int(tx.fetchone()[0])


def test_a_second_replica_cannot_clear_a_run_in_progress(repo, monkeypatch) -> None:
    """Replica B starts the same epoch while A is between its last shares and its manifest.
    Without a claim, B's clean-up deleted A's shares and A then stored its manifest: a stored
    epoch with shares missing. B is refused instead, and A's epoch is whole."""
    seed(repo)
    params = RewardParams(emission=EMISSION)
    store_a, store_b = ManifestStore(repo), ManifestStore(repo)
    real_save = store_a.save
    seen = []

    def b_starts_now(manifest, now_ms, token):
        with pytest.raises(EpochBusy, match=f"epoch {EPOCH} is being stored by another run"):
            compute_and_store(RepositorySource(repo), store_b, EPOCH, params, READY_MS)
        seen.append(_share_count(repo))
        return real_save(manifest, now_ms, token)

    monkeypatch.setattr(store_a, "save", b_starts_now)
    _, stored = compute_and_store(RepositorySource(repo), store_a, EPOCH, params, READY_MS)
    assert stored and seen == [5] and _share_count(repo) == 5
    # A released its claim: B's re-run finds the stored manifest at once.
    _, stored_again = compute_and_store(RepositorySource(repo), store_b, EPOCH, params, READY_MS)
    assert not stored_again


def _age_claim(repo, ms: int) -> None:
    """Make the epoch's claim look `ms` older (the database's clock moved on)."""
    with repo.transaction() as tx:
        tx.execute("UPDATE rewards_claims SET claimed_ms = claimed_ms - ? WHERE epoch = ?",
                   (ms, EPOCH))


def test_a_claim_left_by_a_dead_run_is_taken_over_after_its_lease(repo, monkeypatch) -> None:
    seed(repo)
    params = RewardParams(emission=EMISSION)
    store = ManifestStore(repo)
    dead = store.claim(EPOCH)                       # a run SIGKILLed: its claim stays
    _age_claim(repo, CLAIM_LEASE_MS - 60_000)
    with pytest.raises(EpochBusy, match=r"after (59|60) s if it died"):
        compute_and_store(RepositorySource(repo), store, EPOCH, params, READY_MS)
    _age_claim(repo, 60_000)
    # Had the "dead" run only stalled, it can write nothing once the epoch was taken over,
    # not even while the new run is still storing.
    real_save, attempts = store.save, []

    def stalled_run_wakes_up(manifest, now_ms, token):
        with pytest.raises(ClaimLost, match="another run took this run's claim over"):
            store.add_shares(EPOCH, [(b"x" * 32, 1, key("A"), *(EMISSION,) * 4)], dead)
        attempts.append(_share_count(repo))
        return real_save(manifest, now_ms, token)

    monkeypatch.setattr(store, "save", stalled_run_wakes_up)
    _, stored = compute_and_store(RepositorySource(repo), store, EPOCH, params, READY_MS)
    assert stored and attempts == [5] and _share_count(repo) == 5


def test_a_long_computation_keeps_its_claim(repo, monkeypatch) -> None:
    """Beacons with no share write nothing; the run renews its claim by time anyway, and stops
    with ClaimLost the moment it finds the claim taken over."""
    import oracle.rewards.runner as runner
    import oracle.rewards.source as source

    seed(repo)
    params, store = RewardParams(emission=EMISSION), ManifestStore(repo)
    monkeypatch.setattr(runner, "CLAIM_RENEW_MS", 0)  # renew at every batch read
    monkeypatch.setattr(source, "BATCH_BEACONS", 1)  # a batch of columns per beacon
    real_renew, renewals = store.renew, []

    def renew(epoch, token):
        renewals.append(token)
        real_renew(epoch, token)

    def taken_over(epoch, token):
        with repo.transaction() as tx:
            tx.execute("UPDATE rewards_claims SET token = ? WHERE epoch = ?", (b"other", epoch))
        real_renew(epoch, token)

    monkeypatch.setattr(store, "renew", taken_over)
    with pytest.raises(ClaimLost):
        compute_and_store(RepositorySource(repo), store, EPOCH, params, READY_MS)
    assert store.load(EPOCH) is None
    with repo.transaction() as tx:  # the run that took it over ends
        tx.execute("DELETE FROM rewards_claims WHERE epoch = ?", (EPOCH,))

    monkeypatch.setattr(store, "renew", renew)
    _, stored = compute_and_store(RepositorySource(repo), store, EPOCH, params, READY_MS)
    assert stored and len(renewals) >= 2 and len(set(renewals)) == 1
    assert _share_count(repo) == 5


def test_a_short_epoch_network_cuts_epochs_and_waits_by_its_own_timing(repo) -> None:
    """`[network] epoch_s` = 1 h: the seed's reports (1 h into its day) fall in hour-epoch
    24·EPOCH + 1 and pay what the whole day paid; completeness waits `stale_after` (here 5 min)
    after that hour, to the millisecond."""
    from oracle.rewards.errors import EmptyEpoch
    from oracle.rewards.runner import EpochTiming

    seed(repo)
    hour, timing = 3_600_000, EpochTiming(epoch_ms=3_600_000, complete_after_ms=300_000)
    epoch = EPOCH * 24 + 1
    ready = START_MS + 2 * hour + 300_000
    store, params = ManifestStore(repo), RewardParams(emission=EMISSION)
    with pytest.raises(EpochNotReady, match="1 more minutes"):
        compute_and_store(RepositorySource(repo), store, epoch, params, ready - 1, timing=timing)
    manifest, stored = compute_and_store(RepositorySource(repo), store, epoch, params, ready,
                                         timing=timing)
    assert stored and manifest.total_paid == EXPECTED_PAID
    # The hour before holds nothing: refused, unless asked for, since storing is final.
    with pytest.raises(EmptyEpoch, match="--allow-empty"):
        compute_and_store(RepositorySource(repo), store, epoch - 1, params, ready, timing=timing)
    assert store.load(epoch - 1) is None
    empty, stored = compute_and_store(RepositorySource(repo), store, epoch - 1, params, ready,
                                      timing=timing, allow_empty=True)
    assert stored and empty.total_paid == 0 and not empty.hotspots


def test_a_hotspot_denied_through_the_epoch_is_withheld_and_the_manifest_says_so(repo) -> None:
    # docs/protocol.md §6 with C denied (its witness share of bA is withheld): beacon shares
    # A 0.5, B 0.25 as before -> rps 160_000_000 / 0.75, A 106_666_666, B 53_333_333; witness
    # shares B 1 and A 0.25 (C's 1 gone) -> rps 640_000_000 / 1.25 = 512_000_000: B gets
    # 512_000_000, A 128_000_000.
    seed(repo)
    deny(repo, 3, "C", expires_ms=END_MS)  # still denied at the epoch's last millisecond
    store = ManifestStore(repo)
    params = RewardParams(emission=EMISSION)
    manifest, stored = compute_and_store(RepositorySource(repo), store, EPOCH, params, READY_MS)
    assert stored and manifest.denylist_version == 3 and list(manifest.withheld) == [key("C")]
    amounts = {h.hotspot_key: (h.beacon_amount, h.witness_amount) for h in manifest.hotspots}
    assert amounts == {key("A"): (106_666_666, 128_000_000), key("B"): (53_333_333, 512_000_000)}
    check_manifest(manifest)
    # A newer denylist (C cleared) does not change the stored epoch: a re-run applies the
    # version the manifest names, and finds it identical.
    deny(repo, 4)
    again, stored_again = compute_and_store(RepositorySource(repo), store, EPOCH, params,
                                            READY_MS)
    assert not stored_again and manifest_bytes(again) == manifest_bytes(manifest)


def test_a_denial_that_lapsed_inside_the_epoch_withholds_nothing(repo) -> None:
    seed(repo)
    deny(repo, 1, "C", expires_ms=END_MS - 1)
    manifest = compute_manifest(RepositorySource(repo), EPOCH, RewardParams(emission=EMISSION))
    amounts = {h.hotspot_key: (h.beacon_amount, h.witness_amount) for h in manifest.hotspots}
    assert amounts == {key(n): v for n, v in EXPECTED.items()}
    assert manifest.denylist_version == 1 and not manifest.withheld


class _CountedSource(RepositorySource):
    """The real repository source, counting how often the epoch's shares are read."""

    def __init__(self, repo) -> None:  # type: ignore[no-untyped-def]
        super().__init__(repo)
        self.reads = 0

    def shares(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.reads += 1
        return super().shares(*args, **kwargs)


def test_a_new_epoch_is_read_once_and_a_stored_one_once_without_writing(repo) -> None:
    """Its shares stream into the store while the manifest is computed (not a second pass over
    the epoch for them); a re-run reads it once to compare and writes nothing."""
    seed(repo)
    params, store = RewardParams(emission=EMISSION), ManifestStore(repo)
    source = _CountedSource(repo)
    manifest, stored = compute_and_store(source, store, EPOCH, params, READY_MS)
    assert stored and source.reads == 1 and _share_count(repo) == 5
    assert {w.wallet: w.amount for w in manifest.wallets} == EXPECTED_WALLETS
    again = _CountedSource(repo)
    manifest_again, stored_again = compute_and_store(again, store, EPOCH, params, READY_MS)
    assert not stored_again and again.reads == 1
    assert manifest_bytes(manifest_again) == manifest_bytes(manifest)
    with repo.transaction() as tx:
        tx.execute("SELECT COUNT(*) FROM rewards_claims")
        assert tx.fetchone()[0] == 0  # the claim was released; a re-run takes none
