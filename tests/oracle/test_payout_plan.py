"""Payout plans and the ledger: deterministic batches, books, owed − paid."""

from __future__ import annotations

from pathlib import Path

import pytest

from oracle.payout.ledger import CONFIRMED, PLANNED, Ledger
from oracle.payout.plan import (
    BOOK_FIXED_ENTRIES,
    TRANSFERS_PER_TX,
    WALLETS_PER_BOOK,
    plan_payout,
)
from oracle.rewards.errors import PayoutError


def w(i: int) -> bytes:
    return i.to_bytes(32, "big")


def planner(epoch: int, per_tx: int = TRANSFERS_PER_TX):
    return lambda due, members, sizes: plan_payout(epoch, b"r" * 32, due, members, sizes, per_tx)


def test_plan_is_deterministic_sorted_and_skips_nothing_owed() -> None:
    due = {w(i): i for i in range(100, 0, -1)} | {w(0): 0}
    a = plan_payout(1, b"r", due, {}, {}, per_tx=42)
    b = plan_payout(1, b"r", dict(reversed(list(due.items()))), {}, {}, per_tx=42)
    assert a == b
    assert [len(x.transfers) for x in a.batches] == [42, 42, 16]
    paid = [t.wallet for x in a.batches for t in x.transfers]
    assert paid == sorted(paid) and w(0) not in paid
    assert a.total == sum(range(1, 101))
    assert [n for _, _, n in a.new_members[:2]] == [BOOK_FIXED_ENTRIES, BOOK_FIXED_ENTRIES + 1]


def test_books_fill_up_then_open_and_wallets_keep_their_book() -> None:
    due = {w(i): 1 for i in range(WALLETS_PER_BOOK + 10)}
    plan = plan_payout(1, b"r", due, {}, {})
    books = {wallet: book for wallet, book, _ in plan.new_members}
    assert sum(1 for b in books.values() if b == 0) == WALLETS_PER_BOOK
    assert sum(1 for b in books.values() if b == 1) == 10
    assert all(len({t.wallet for t in x.transfers} - {k for k, v in books.items()
                                                      if v == x.book}) == 0 for x in plan.batches)
    # Next epoch: a known wallet stays in its book, a new one joins the last book.
    members = {wallet: (book, pos) for wallet, book, pos in plan.new_members}
    later = plan_payout(2, b"r", {w(0): 5, w(10**6): 5}, members, {0: WALLETS_PER_BOOK, 1: 10})
    assert {x.book for x in later.batches} == {0, 1}
    assert later.new_members == ((w(10**6), 1, BOOK_FIXED_ENTRIES + 10),)


def test_ledger_pays_owed_minus_paid_and_stores_the_plan_first(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    plan = ledger.plan_epoch(1, b"r" * 32, [(w(1), 10), (w(2), 20)], planner(1))
    assert ledger.is_planned(1)
    assert [r.state for r in ledger.batches(1)] == [PLANNED]
    assert ledger.wallet(w(1)) == (10, 0)
    with pytest.raises(PayoutError, match="already planned"):
        ledger.plan_epoch(1, b"r" * 32, [(w(1), 10)], planner(1))
    # Epoch 2 cannot be planned before epoch 1 is confirmed (it would be paid twice).
    with pytest.raises(PayoutError, match="unconfirmed"):
        ledger.plan_epoch(2, b"r" * 32, [(w(1), 1)], planner(2))
    assert not ledger.is_planned(2)
    batch = plan.batches[0]
    assert ledger.confirm(batch) and not ledger.confirm(batch)  # confirming twice adds once
    assert ledger.wallet(w(1)) == (10, 10)
    plan2 = ledger.plan_epoch(2, b"r" * 32, [(w(1), 1), (w(3), 4)], planner(2))
    assert {t.wallet: t.amount for b in plan2.batches for t in b.transfers} == {w(1): 1, w(3): 4}
    statuses = {s.wallet: s for s in ledger.epoch_wallets(2)}
    assert (statuses[w(1)].owed, statuses[w(1)].paid, statuses[w(1)].epoch_amount) == (11, 10, 1)
    assert ledger.batches(1)[0].state == CONFIRMED
    ledger.close()


def test_ledger_is_wal_with_full_sync(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    assert ledger._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert ledger._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    ledger.close()


def test_out_of_range_amount_is_refused(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    with pytest.raises(PayoutError, match="out of range"):
        ledger.plan_epoch(1, b"r" * 32, [(w(1), 2**63)], planner(1))
    assert not ledger.is_planned(1)
    ledger.close()
