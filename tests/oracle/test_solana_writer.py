"""The payout writer on the embedded VM: exactly-once payouts under crashes, replays,
expired blockhashes and restarts; transaction size and batch width."""

from __future__ import annotations

from pathlib import Path

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from oracle.payout.ledger import CONFIRMED, SIGNED, Ledger
from oracle.payout.litesvm_backend import LiteSvmBackend
from oracle.payout.plan import TRANSFERS_PER_TX, Batch, Transfer, plan_payout
from oracle.payout.solana_writer import PACKET_DATA_SIZE, SolanaWriter
from oracle.rewards.errors import ChainError, PayoutError
from oracle.rewards.manifest import merkle_root
from pocnet.wire import rewards_pb2

STEPS = ("planned", "signed", "sent", "confirm")


class Crash(Exception):
    """Stands for the process dying at a hook point."""


def manifest_for(epoch: int, amounts: list[tuple[bytes, int]]) -> rewards_pb2.EpochManifest:
    m = rewards_pb2.EpochManifest(epoch=epoch, merkle_root=merkle_root(amounts))
    m.wallets.extend(rewards_pb2.WalletAmount(wallet=w, amount=a) for w, a in sorted(amounts))
    m.total_paid = sum(a for _, a in amounts)
    return m


def wallets(n: int, seed: int = 0) -> list[tuple[bytes, int]]:
    return [(bytes(Keypair.from_seed(bytes([seed, i % 256, i // 256]) + bytes(29)).pubkey()),
             1_000 + 7 * i) for i in range(n)]


class Node:
    """A payout 'process': ledger + VM state on disk, reopened to simulate restarts."""

    def __init__(self, tmp: Path, payer: Keypair) -> None:
        self.tmp, self.payer = tmp, payer
        self.open()

    def open(self, hook=None) -> None:
        self.ledger = Ledger(self.tmp / "ledger.db")
        self.backend = LiteSvmBackend(self.tmp / "svm.state", self.payer.pubkey())
        self.writer = SolanaWriter(self.ledger, self.backend, self.payer, hook=hook)

    def restart(self, hook=None) -> None:
        self.backend.close()
        self.ledger.close()
        self.open(hook)

    def balance(self, wallet: bytes) -> int:
        return self.writer.token_balance(Pubkey.from_bytes(wallet))


def crash_at(step: str, batch_number: int | None):
    fired = []

    def hook(name: str, batch: Batch | None) -> None:
        if fired or name != step:
            return
        if batch_number is None or (batch is not None and batch.number == batch_number):
            fired.append(name)
            raise Crash(f"{name} {batch_number}")

    return hook, fired


@pytest.mark.parametrize("restart", [False, True], ids=["same-process", "restart"])
@pytest.mark.parametrize(
    ("step", "batch_number"),
    [("planned", None), ("signed", 0), ("sent", 0), ("confirm", 0), ("signed", 2),
     ("sent", 2), ("confirm", 2)],
)
def test_crash_at_every_step_then_rerun_pays_exactly_once(
    tmp_path: Path, step: str, batch_number: int | None, restart: bool
) -> None:
    amounts = wallets(100)  # one book: batches of 42, 42, 16
    manifest = manifest_for(7, amounts)
    node = Node(tmp_path, Keypair.from_seed(bytes(32)))
    hook, fired = crash_at(step, batch_number)
    node.writer._hook = hook
    with pytest.raises(Crash):
        node.writer.run(manifest)
    assert fired
    if restart:
        node.restart()
    else:
        node.writer._hook = lambda name, batch: None
    node.writer.run(manifest)
    for wallet, amount in amounts:
        assert node.balance(wallet) == amount
        assert node.ledger.wallet(wallet) == (amount, amount)
    assert all(r.state == CONFIRMED for r in node.ledger.batches(7))
    # A third run changes nothing.
    summary = node.writer.run(manifest)
    assert summary.confirmed_now == 0
    assert node.balance(amounts[0][0]) == amounts[0][1]


def test_replayed_signed_batch_fails_and_pays_nothing(tmp_path: Path) -> None:
    amounts = wallets(50)
    node = Node(tmp_path, Keypair.from_seed(bytes([1]) * 32))
    node.writer.run(manifest_for(3, amounts))
    record = node.ledger.batches(3)[0]
    from solders.transaction import VersionedTransaction

    tx = VersionedTransaction.from_bytes(record.tx)
    with pytest.raises(ChainError):
        node.backend.send(tx)  # the same signed transaction again
    # Re-signed with a fresh blockhash: the marker already exists, the whole tx fails.
    node.backend.advance(200)
    book = node.writer._ensure_books([record.batch.book])[record.batch.book]
    fresh, _, _ = node.writer._batch_tx(record.batch, book, b"\x00" * 32)
    with pytest.raises(ChainError, match=r"already in use|Custom\(0\)"):
        node.backend.send(fresh)
    for wallet, amount in amounts:
        assert node.balance(wallet) == amount


def test_unconfirmed_batch_is_resent_while_valid_and_rebuilt_after_expiry(tmp_path: Path) -> None:
    amounts = wallets(10)
    manifest = manifest_for(4, amounts)
    node = Node(tmp_path, Keypair.from_seed(bytes([2]) * 32))
    hook, _ = crash_at("signed", 0)
    node.writer._hook = hook
    with pytest.raises(Crash):
        node.writer.run(manifest)
    first = node.ledger.batches(4)[0]
    assert first.state == SIGNED and first.tx is not None
    # Still valid: the very same transaction (same signature) is sent.
    node.writer._hook = lambda name, batch: None
    node.writer.run(manifest)
    assert node.ledger.batches(4)[0].signature == first.signature

    # Now a batch whose blockhash expired before it was sent is rebuilt with a new one.
    amounts2 = [(w, a + 1) for w, a in wallets(10, seed=9)]
    manifest2 = manifest_for(5, amounts2)
    hook, _ = crash_at("signed", 0)
    node.writer._hook = hook
    with pytest.raises(Crash):
        node.writer.run(manifest2)
    stale = node.ledger.batches(5)[0]
    node.backend.advance(151)  # past last_valid_height
    node.writer._hook = lambda name, batch: None
    node.writer.run(manifest2)
    again = node.ledger.batches(5)[0]
    assert again.state == CONFIRMED
    assert again.signature != stale.signature and again.blockhash != stale.blockhash
    for wallet, amount in amounts2:
        assert node.balance(wallet) == amount


def test_second_epoch_pays_owed_minus_paid(tmp_path: Path) -> None:
    first = wallets(30)
    node = Node(tmp_path, Keypair.from_seed(bytes([3]) * 32))
    node.writer.run(manifest_for(10, first))
    # Epoch 11: half the wallets again plus new ones; balances accumulate.
    second = [(w, 5) for w, _ in first[:15]] + wallets(20, seed=4)
    node.restart()
    node.writer.run(manifest_for(11, second))
    expected = dict(first)
    for w, a in second:
        expected[w] = expected.get(w, 0) + a
    for wallet, amount in expected.items():
        assert node.balance(wallet) == amount
        assert node.ledger.wallet(wallet) == (amount, amount)


def test_a_different_manifest_for_a_planned_epoch_is_refused(tmp_path: Path) -> None:
    amounts = wallets(3)
    node = Node(tmp_path, Keypair.from_seed(bytes([10]) * 32))
    node.writer.run(manifest_for(6, amounts))
    with pytest.raises(PayoutError, match="planned from manifest root"):
        node.writer.run(manifest_for(6, [(w, a + 1) for w, a in amounts]))


def test_state_file_keeps_balances_across_restarts(tmp_path: Path) -> None:
    amounts = wallets(20)
    node = Node(tmp_path, Keypair.from_seed(bytes([5]) * 32))
    node.writer.run(manifest_for(1, amounts))
    node.restart()
    assert [node.balance(w) for w, _ in amounts] == [a for _, a in amounts]


def test_batches_hold_at_least_40_transfers_within_the_packet_limit(tmp_path: Path) -> None:
    assert TRANSFERS_PER_TX >= 40
    node = Node(tmp_path, Keypair.from_seed(bytes([6]) * 32))
    amounts = [(w, 2**56 - i) for i, (w, _) in enumerate(wallets(TRANSFERS_PER_TX))]
    node.writer.ensure_mint()
    node.ledger.plan_epoch(
        999_999,
        b"\xff" * 32,
        amounts,
        lambda due, members, sizes: plan_payout(999_999, b"\xff" * 32, due, members, sizes),
    )
    record = node.ledger.batches(999_999)[0]
    assert len(record.batch.transfers) == TRANSFERS_PER_TX
    book = node.writer._ensure_books([record.batch.book])[record.batch.book]
    # Worst case: longest epoch and batch numbers in the marker seed.
    worst = Batch(999_999, 99_999, record.batch.book, record.batch.transfers)
    tx, _, _ = node.writer._batch_tx(worst, book, b"\xff" * 32)
    assert len(bytes(tx)) <= PACKET_DATA_SIZE
    one_more = Batch(1, 1, 0, (*record.batch.transfers, Transfer(amounts[0][0], 1)) * 2)
    with pytest.raises(PayoutError, match="exceeds 1232"):
        node.writer._batch_tx(one_more, book, b"\xff" * 32)


class FlakyBackend:
    """Dies (raises Crash) at the k-th transaction, before or after handing it to the VM."""

    def __init__(self, inner: LiteSvmBackend, k: int, after: bool) -> None:
        self.inner, self.k, self.after, self.sent = inner, k, after, 0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def send(self, tx) -> None:
        self.sent += 1
        if self.sent == self.k and not self.after:
            raise Crash(f"before send {self.k}")
        self.inner.send(tx)
        if self.sent == self.k and self.after:
            raise Crash(f"after send {self.k}")


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("k", range(1, 23))
def test_crash_at_every_transaction_including_setup(tmp_path: Path, k: int, after: bool) -> None:
    # 100 wallets: mint, treasury, funding, lookup table + 4 extends, 9 token-account
    # transactions, 3 batches = 20 transactions; k covers each of them (and beyond: no crash).
    amounts = wallets(100, seed=7)
    manifest = manifest_for(8, amounts)
    node = Node(tmp_path, Keypair.from_seed(bytes([8]) * 32))
    flaky = FlakyBackend(node.backend, k, after)
    node.writer.backend = flaky
    try:
        node.writer.run(manifest)
        crashed = False
    except Crash:
        crashed = True
    assert crashed == (k <= 20)
    node.restart()
    node.writer.run(manifest)
    for wallet, amount in amounts:
        assert node.balance(wallet) == amount
        assert node.ledger.wallet(wallet) == (amount, amount)


def test_torn_journal_tail_is_ignored_and_foreign_file_refused(tmp_path: Path) -> None:
    amounts = wallets(5)
    node = Node(tmp_path, Keypair.from_seed(bytes([9]) * 32))
    node.writer.run(manifest_for(2, amounts))
    node.backend.close()
    with open(tmp_path / "svm.state", "ab") as f:
        f.write(b"\x07" * 20)  # half a record header: a crash mid-append
    node.restart()
    assert [node.balance(w) for w, _ in amounts] == [a for _, a in amounts]
    (tmp_path / "other.state").write_bytes(b"not a state file")
    with pytest.raises(ChainError, match="not a pocnet LiteSVM state file"):
        LiteSvmBackend(tmp_path / "other.state")


def test_every_batch_carries_the_manifest_root_memo_and_its_marker(tmp_path: Path) -> None:
    import base58
    from solders.transaction import VersionedTransaction

    from oracle.payout.solana_writer import MEMO_PROGRAM

    amounts = wallets(60)  # two batches
    manifest = manifest_for(8, amounts)
    node = Node(tmp_path, Keypair.from_seed(bytes([6]) * 32))
    node.writer.run(manifest)
    records = node.ledger.batches(8)
    assert len(records) == 2
    for record in records:
        message = VersionedTransaction.from_bytes(record.tx).message
        keys = list(message.account_keys)
        programs = [keys[ix.program_id_index] for ix in message.instructions]
        memos = [bytes(ix.data) for ix, p in zip(message.instructions, programs, strict=True)
                 if p == MEMO_PROGRAM]
        assert memos == [base58.b58encode(manifest.merkle_root)]
        assert node.writer.marker(record.batch) in keys  # created in the same transaction
        assert node.backend.accounts([node.writer.marker(record.batch)])[0] is not None


def test_journal_after_a_torn_tail_stays_readable(tmp_path: Path) -> None:
    # Records appended after a torn tail must not sit behind it: the next restore would read
    # the torn bytes as a header and drop everything after, markers included (a re-run would
    # then pay again).
    first, second = wallets(5), wallets(5, seed=1)
    node = Node(tmp_path, Keypair.from_seed(bytes([10]) * 32))
    node.writer.run(manifest_for(2, first))
    node.backend.close()
    with open(tmp_path / "svm.state", "ab") as f:
        f.write(b"\x07" * 20)  # half a record header: a crash mid-append
    node.restart()
    node.writer.run(manifest_for(3, second))
    node.restart()
    for wallet, amount in first + second:
        assert node.balance(wallet) == amount
    assert node.writer.run(manifest_for(3, second)).confirmed_now == 0
    for wallet, amount in second:
        assert node.balance(wallet) == amount


@pytest.mark.parametrize("tail", [b"", b"\x01" * 10], ids=["magic-only", "torn-first"])
def test_state_file_without_an_intact_record_starts_afresh(tmp_path: Path, tail: bytes) -> None:
    from oracle.payout.litesvm_backend import MAGIC

    payer = Keypair.from_seed(bytes([11]) * 32)
    (tmp_path / "svm.state").write_bytes(MAGIC + tail)  # died before/in the first append
    node = Node(tmp_path, payer)
    amounts = wallets(3)
    node.writer.run(manifest_for(1, amounts))  # the payer was funded again: it can pay
    node.restart()
    assert [node.balance(w) for w, _ in amounts] == [a for _, a in amounts]
