"""Deterministic payout plans: which wallet gets how much in which batch.

An epoch pays each wallet `owed − paid` (lifetime totals kept by the ledger). Wallets are
placed in address lookup tables ("books") once, for good: a wallet keeps its book across
epochs, so a book is created and extended only when new wallets appear. A batch holds wallets
of one book only (a v0 transaction can then name every destination by a 1-byte index), in
wallet order, at most `per_tx` transfers. Same manifest + same ledger → the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Address lookup tables hold at most 256 addresses (solders LOOKUP_TABLE_MAX_ADDRESSES); the
# first two entries of every book are the mint and the treasury token account.
BOOK_CAPACITY = 256
BOOK_FIXED_ENTRIES = 2
# Transfers per transaction: the largest count whose worst-case v0 transaction stays within
# Solana's 1232-byte packet limit (solana_writer checks every transaction it signs, and
# tests/oracle/test_solana_writer.py checks this bound) and under the 64-entry instruction
# trace limit (memo + marker + transfers).
TRANSFERS_PER_TX = 42
# A whole number of full batches per book (6 × 42 = 252 of the 254 free entries), so a first
# payout's batches are all full.
WALLETS_PER_BOOK = (BOOK_CAPACITY - BOOK_FIXED_ENTRIES) // TRANSFERS_PER_TX * TRANSFERS_PER_TX


@dataclass(frozen=True)
class Transfer:
    wallet: bytes  # 32-byte Solana owner key
    amount: int  # token base units


@dataclass(frozen=True)
class Batch:
    epoch: int
    number: int
    book: int
    transfers: tuple[Transfer, ...]

    @property
    def total(self) -> int:
        return sum(t.amount for t in self.transfers)


@dataclass(frozen=True)
class PayoutPlan:
    epoch: int
    root: bytes
    batches: tuple[Batch, ...]
    new_members: tuple[tuple[bytes, int, int], ...]  # (wallet, book, position) to record

    @property
    def total(self) -> int:
        return sum(b.total for b in self.batches)


def assign_books(
    wallets: list[bytes], members: Mapping[bytes, tuple[int, int]], book_sizes: Mapping[int, int]
) -> tuple[dict[bytes, int], list[tuple[bytes, int, int]]]:
    """Book of every wallet; new wallets (sorted) fill the last book, then open new ones."""
    sizes = dict(book_sizes)
    book = max(sizes) if sizes else 0
    sizes.setdefault(book, 0)
    out: dict[bytes, int] = {}
    new: list[tuple[bytes, int, int]] = []
    for wallet in sorted(wallets):
        if wallet in members:
            out[wallet] = members[wallet][0]
            continue
        if sizes[book] >= WALLETS_PER_BOOK:
            book += 1
            sizes[book] = 0
        position = BOOK_FIXED_ENTRIES + sizes[book]
        sizes[book] += 1
        out[wallet] = book
        new.append((wallet, book, position))
    return out, new


def plan_payout(
    epoch: int,
    root: bytes,
    due: Mapping[bytes, int],
    members: Mapping[bytes, tuple[int, int]],
    book_sizes: Mapping[int, int],
    per_tx: int = TRANSFERS_PER_TX,
) -> PayoutPlan:
    """Batches paying `due` (wallet → amount owed − paid; amounts ≤ 0 are skipped)."""
    if per_tx < 1:
        raise ValueError("per_tx must be >= 1")
    payable = sorted(w for w, a in due.items() if a > 0)
    books, new = assign_books(payable, members, book_sizes)
    by_book: dict[int, list[bytes]] = {}
    for wallet in payable:
        by_book.setdefault(books[wallet], []).append(wallet)
    batches: list[Batch] = []
    for book in sorted(by_book):
        wallets = by_book[book]
        for start in range(0, len(wallets), per_tx):
            chunk = wallets[start : start + per_tx]
            batches.append(
                Batch(
                    epoch=epoch,
                    number=len(batches),
                    book=book,
                    transfers=tuple(Transfer(w, due[w]) for w in chunk),
                )
            )
    return PayoutPlan(epoch=epoch, root=root, batches=tuple(batches), new_members=tuple(new))
