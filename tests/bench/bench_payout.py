"""Benchmark: paying 100,000 wallets in the embedded VM (issue 7: ≤ 120 s), with transfers
per transaction reported. Includes everything a first payout does: mint creation, treasury
funding, 394 lookup tables, 100,000 associated token accounts, and the batches.
Run: .venv/bin/python tests/bench/bench_payout.py [WALLETS]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from oracle.payout.ledger import Ledger
from oracle.payout.litesvm_backend import LiteSvmBackend
from oracle.payout.solana_writer import SolanaWriter
from oracle.rewards.manifest import merkle_root
from pocnet.wire import rewards_pb2

LIMIT_S = 120.0


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(5)
    wallets = sorted((bytes(Keypair().pubkey()), rng.randrange(1, 10**12)) for _ in range(n))
    manifest = rewards_pb2.EpochManifest(epoch=20_000, merkle_root=merkle_root(wallets))
    manifest.wallets.extend(rewards_pb2.WalletAmount(wallet=w, amount=a) for w, a in wallets)
    with tempfile.TemporaryDirectory() as tmp:
        payer = Keypair()
        ledger = Ledger(Path(tmp) / "ledger.db")
        backend = LiteSvmBackend(Path(tmp) / "svm.state", payer.pubkey())
        writer = SolanaWriter(ledger, backend, payer)
        start, cpu = time.perf_counter(), time.process_time()
        summary = writer.run(manifest)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        sample = rng.sample(wallets, 200)
        wrong = sum(1 for w, a in sample if writer.token_balance(Pubkey.from_bytes(w)) != a)
        state_mb = (Path(tmp) / "svm.state").stat().st_size / 1e6
        backend.close()
        ledger.close()
    per_tx = summary.transfers / summary.batches
    print(
        f"payout: {n} wallets, {summary.batches} batch transactions, {per_tx:.1f} transfers/tx "
        f"(largest tx {summary.max_tx_bytes} of 1232 bytes), {elapsed:.1f} s wall, "
        f"{cpu:.1f} s CPU (limit {LIMIT_S} s), "
        f"state file {state_mb:.0f} MB, {wrong} wrong balances in a sample of 200"
    )
    return 0 if elapsed <= LIMIT_S and wrong == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
