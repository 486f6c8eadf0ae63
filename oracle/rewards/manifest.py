"""The epoch manifest (rewards_pb2.EpochManifest) and its Merkle root.

The root commits to every wallet's amount for the epoch and is written on chain in the payout
memo, so anyone holding the manifest can check what was paid.

Merkle tree (SHA-256):
- leaf(w) = SHA-256(0x00 || wallet (32 bytes) || amount as u64 little-endian); leaves are
  sorted by their (wallet || amount) bytes, i.e. by wallet, each wallet appearing once;
- node = SHA-256(0x01 || left || right); the 0x00/0x01 prefixes keep a leaf from being
  passed off as an inner node (second-preimage);
- odd node rule: a level with an odd count promotes its last node unchanged to the next level
  (never duplicated, so two different wallet lists cannot share a root);
- no wallets: root = SHA-256(b"") .
Serialisation is deterministic (`SerializeToString(deterministic=True)`), hotspots sorted by
key and wallets by wallet, so computing an epoch twice gives byte-identical manifests.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pocnet.wire import rewards_pb2

if TYPE_CHECKING:  # only named: the store (and commands that only bound an epoch) start light
    from oracle.rewards.epoch import EpochRewards

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
WALLET_LEN = 32


def leaf_hash(wallet: bytes, amount: int) -> bytes:
    if len(wallet) != WALLET_LEN:
        raise ValueError(f"wallet must be {WALLET_LEN} bytes, got {len(wallet)}")
    return hashlib.sha256(LEAF_PREFIX + wallet + struct.pack("<Q", amount)).digest()


def merkle_root(wallets: Sequence[tuple[bytes, int]]) -> bytes:
    """Root over (wallet, amount) pairs, in any order (they are sorted here)."""
    level = [leaf_hash(w, a) for w, a in sorted(wallets)]
    if not level:
        return hashlib.sha256(b"").digest()
    while len(level) > 1:
        nxt = [
            hashlib.sha256(NODE_PREFIX + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def build_manifest(result: EpochRewards, denylist_version: int = 0) -> rewards_pb2.EpochManifest:
    """`denylist_version`: the one whose denials withheld `result.withheld` (0: none)."""
    m = rewards_pb2.EpochManifest(
        epoch=result.epoch,
        emission=result.emission,
        beacon_pool=result.pools.beacons,
        witness_pool=result.pools.witnesses,
        operations=result.pools.operations,
        oracles=result.pools.oracles,
        beacon_reward_per_share=str(result.beacon_reward_per_share),
        witness_reward_per_share=str(result.witness_reward_per_share),
        total_paid=result.total_paid,
        unallocated=result.unallocated,
        denylist_version=denylist_version,
        withheld=result.withheld,
    )
    m.hotspots.extend(
        rewards_pb2.HotspotReward(
            hotspot_key=h.key,
            owner_wallet=h.owner_wallet,
            beacon_amount=h.beacon_amount,
            witness_amount=h.witness_amount,
        )
        for h in result.hotspots
    )
    m.wallets.extend(rewards_pb2.WalletAmount(wallet=w, amount=a) for w, a in result.wallets)
    m.merkle_root = merkle_root(result.wallets)
    return m


def manifest_bytes(manifest: rewards_pb2.EpochManifest) -> bytes:
    return manifest.SerializeToString(deterministic=True)


def check_manifest(manifest: rewards_pb2.EpochManifest) -> None:
    """Raise ValueError unless the root and totals agree with the manifest's own lists."""
    wallets = [(w.wallet, w.amount) for w in manifest.wallets]
    if merkle_root(wallets) != manifest.merkle_root:
        raise ValueError(f"epoch {manifest.epoch}: Merkle root does not match the wallets")
    paid = sum(a for _, a in wallets)
    if paid != manifest.total_paid:
        raise ValueError(f"epoch {manifest.epoch}: wallet amounts do not add up to total_paid")
    if paid + manifest.operations + manifest.oracles + manifest.unallocated != manifest.emission:
        raise ValueError(f"epoch {manifest.epoch}: amounts do not add up to the emission")
