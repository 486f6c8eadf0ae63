"""Stored manifests (tables of migration 0100_rewards_manifests.sql), over the Repository's
transaction so SQLite and PostgreSQL replicas share them.

Writing is "details first, manifest last": an epoch's non-zero shares and per-hotspot amounts
go in short transactions of at most CHUNK rows (so a ten-million-share epoch neither holds
SQLite's write lock for a minute nor sits in memory), and the manifest row is inserted last.
An epoch *is* stored once its manifest row exists; details left by an interrupted run (no
manifest row) are deleted before the next attempt. A manifest is written once: saving again
is accepted only when the bytes are identical; a different manifest raises ManifestMismatch
and nothing changes.

Replicas share the tables, so one run at a time may write an epoch's details: otherwise a
second run's clean-up could delete the first one's shares just before the first stores its
manifest, leaving a stored epoch with missing shares. A run `claim`s the epoch (a random
token); every write renews the claim and checks it in its own transaction, so a run whose
claim was taken over (stale for CLAIM_LEASE_MS: it looked dead) can write nothing more. Claim
times come from the database's clock, so replicas' clocks need not agree.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from decimal import Decimal

from oracle.rewards.errors import ClaimLost, EpochBusy, ManifestMismatch
from oracle.rewards.manifest import manifest_bytes
from pocnet.wire import rewards_pb2

ShareRow = tuple[bytes, int, bytes, Decimal, Decimal, Decimal, Decimal]
"""(report_id, kind, hotspot_key, unit, scale, location_trust, share)"""

CHUNK = 10_000
# A live run renews its claim with every chunk it writes and at least every CLAIM_RENEW_MS
# while it computes (the runner calls `renew`); a claim this old belongs to a run that died
# without releasing it (SIGKILL, power loss).
CLAIM_LEASE_MS = 15 * 60_000
CLAIM_RENEW_MS = 60_000
# The database's clock in Unix milliseconds, per dialect.
_NOW_MS = {
    "sqlite": "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)",
    "postgresql": "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
}
MAX_EPOCH = 2**62  # far beyond any real epoch (days since 1970), well inside BIGINT

_INSERT_SHARE = (
    "INSERT INTO rewards_shares (epoch, report_id, kind, hotspot_key, unit, scale, "
    "location_trust, share) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (epoch, report_id) DO NOTHING"
)
_INSERT_HOTSPOT = (
    "INSERT INTO rewards_hotspots (epoch, hotspot_key, beacon_amount, witness_amount) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (epoch, hotspot_key) DO NOTHING"
)


def _executemany(tx: object, sql: str, rows: Sequence[Sequence[object]]) -> None:
    many = getattr(tx, "executemany", None)
    if many is not None:
        many(sql, rows)
        return
    for row in rows:
        tx.execute(sql, row)  # type: ignore[attr-defined]


class ManifestStore:
    def __init__(self, repo: object) -> None:
        self._repo = repo
        self._now = _NOW_MS[repo.dialect]  # type: ignore[attr-defined]

    def claim(self, epoch: int) -> bytes:
        """Take the epoch for this run: its token, for every write that follows. EpochBusy
        while another run holds a fresh claim; a stale one is taken over."""
        token = os.urandom(16)
        with self._repo.transaction() as tx:  # type: ignore[attr-defined]
            tx.execute(f"SELECT token, claimed_ms, {self._now} FROM rewards_claims "
                       "WHERE epoch = ?", (epoch,))
            row = tx.fetchone()
            if row is None:
                tx.execute("INSERT INTO rewards_claims (epoch, token, claimed_ms) "
                           f"VALUES (?, ?, {self._now}) ON CONFLICT (epoch) DO NOTHING",
                           (epoch, token))
            elif int(row[2]) - int(row[1]) >= CLAIM_LEASE_MS:
                # Still that run's, and still as stale as read: a renewal in between wins.
                tx.execute(f"UPDATE rewards_claims SET token = ?, claimed_ms = {self._now} "
                           "WHERE epoch = ? AND token = ? AND claimed_ms = ?",
                           (token, epoch, bytes(row[0]), row[1]))
            else:
                raise EpochBusy(self._busy(epoch, int(row[1]), int(row[2])))
            if tx.rowcount != 1:  # another run claimed or took it over since our read
                raise EpochBusy(f"epoch {epoch} is being stored by another run; retry later")
        return token

    def renew(self, epoch: int, token: bytes) -> None:
        """Keep the claim while computing without writing; ClaimLost if it was taken over."""
        with self._repo.transaction() as tx:  # type: ignore[attr-defined]
            self._hold(tx, epoch, token)

    def release(self, epoch: int, token: bytes) -> None:
        """The run is over (stored, failed or interrupted): the next run need not wait."""
        with self._repo.transaction() as tx:  # type: ignore[attr-defined]
            tx.execute("DELETE FROM rewards_claims WHERE epoch = ? AND token = ?",
                       (epoch, token))

    def _hold(self, tx: object, epoch: int, token: bytes) -> None:
        """Renew this run's claim inside the write's transaction, or stop the write."""
        tx.execute(  # type: ignore[attr-defined]
            f"UPDATE rewards_claims SET claimed_ms = {self._now} WHERE epoch = ? AND token = ?",
            (epoch, token))
        if tx.rowcount != 1:  # type: ignore[attr-defined]
            raise ClaimLost(f"epoch {epoch}: another run took this run's claim over (it was "
                            f"idle for {CLAIM_LEASE_MS // 60_000} min); this run stops")

    @staticmethod
    def _busy(epoch: int, claimed_ms: int, now_ms: int) -> str:
        wait_s = -(-max(0, claimed_ms + CLAIM_LEASE_MS - now_ms) // 1000)  # rounded up
        return (f"epoch {epoch} is being stored by another run (last active "
                f"{max(0, now_ms - claimed_ms) // 1000} s ago); retry when it ends, or after "
                f"{wait_s} s if it died")

    def load(self, epoch: int) -> rewards_pb2.EpochManifest | None:
        data = self._stored_bytes(epoch)
        return None if data is None else rewards_pb2.EpochManifest.FromString(data)

    def _stored_bytes(self, epoch: int) -> bytes | None:
        with self._repo.transaction() as tx:  # type: ignore[attr-defined]
            tx.execute("SELECT manifest FROM rewards_manifests WHERE epoch = ?", (epoch,))
            row = tx.fetchone()
        return None if row is None else bytes(row[0])

    def check_against_stored(self, manifest: rewards_pb2.EpochManifest) -> bool:
        """True if an identical manifest is stored, False if none; ManifestMismatch if it
        differs."""
        stored = self._stored_bytes(manifest.epoch)
        if stored is None:
            return False
        if stored != manifest_bytes(manifest):
            old_root = rewards_pb2.EpochManifest.FromString(stored).merkle_root.hex()
            raise ManifestMismatch(
                f"epoch {manifest.epoch}: recomputed manifest differs from the stored one "
                f"(stored root {old_root}, new {manifest.merkle_root.hex()})"
            )
        return True

    def discard_partial(self, epoch: int, token: bytes) -> None:
        """Remove details of an earlier attempt that never stored its manifest."""
        with self._repo.transaction() as tx:  # type: ignore[attr-defined]
            self._hold(tx, epoch, token)
            tx.execute("SELECT 1 FROM rewards_manifests WHERE epoch = ?", (epoch,))
            if tx.fetchone() is not None:
                return
            tx.execute("DELETE FROM rewards_shares WHERE epoch = ?", (epoch,))
            tx.execute("DELETE FROM rewards_hotspots WHERE epoch = ?", (epoch,))

    def add_shares(self, epoch: int, rows: Sequence[ShareRow], token: bytes) -> None:
        """One short transaction per CHUNK rows."""
        for start in range(0, len(rows), CHUNK):
            chunk = [
                (epoch, rid, kind, key, str(u), str(s), str(t), str(sh))
                for rid, kind, key, u, s, t, sh in rows[start : start + CHUNK]
            ]
            with self._repo.transaction() as tx:  # type: ignore[attr-defined]
                self._hold(tx, epoch, token)
                _executemany(tx, _INSERT_SHARE, chunk)

    def save(self, manifest: rewards_pb2.EpochManifest, now_ms: int, token: bytes) -> bool:
        """Store hotspot amounts, then the manifest row; False if an identical manifest was
        already stored (by another replica meanwhile), ManifestMismatch if a different one."""
        if self.check_against_stored(manifest):
            return False
        epoch = manifest.epoch
        hotspots = [
            (epoch, h.hotspot_key, h.beacon_amount, h.witness_amount) for h in manifest.hotspots
        ]
        for start in range(0, len(hotspots), CHUNK):
            with self._repo.transaction() as tx:  # type: ignore[attr-defined]
                self._hold(tx, epoch, token)
                _executemany(tx, _INSERT_HOTSPOT, hotspots[start : start + CHUNK])
        with self._repo.transaction() as tx:  # type: ignore[attr-defined]
            self._hold(tx, epoch, token)
            tx.execute("SELECT 1 FROM rewards_manifests WHERE epoch = ?", (epoch,))
            if tx.fetchone() is None:
                tx.execute(
                    "INSERT INTO rewards_manifests (epoch, merkle_root, manifest, computed_ms) "
                    "VALUES (?, ?, ?, ?)",
                    (epoch, manifest.merkle_root, manifest_bytes(manifest), now_ms),
                )
                return True
        return not self.check_against_stored(manifest)  # raced: identical or mismatch

    def rewards_for(
        self, hotspot_key: bytes, from_epoch: int, to_epoch: int | None
    ) -> list[tuple[int, int, int]]:
        """(epoch, beacon_amount, witness_amount) per stored epoch, for QueryService.GetRewards."""
        # Epochs are BIGINT: clamp the wire's uint64 bounds (an overflow is no answer).
        first = min(from_epoch, MAX_EPOCH + 1)
        last = MAX_EPOCH if to_epoch is None else min(to_epoch, MAX_EPOCH)
        with self._repo.transaction() as tx:  # type: ignore[attr-defined]
            tx.execute(
                "SELECT h.epoch, h.beacon_amount, h.witness_amount FROM rewards_hotspots h "
                "JOIN rewards_manifests m ON m.epoch = h.epoch WHERE h.hotspot_key = ? "
                "AND h.epoch >= ? AND h.epoch <= ? ORDER BY h.epoch",
                (hotspot_key, first, last),
            )
            return [(int(e), int(b), int(w)) for e, b, w in tx.fetchall()]
