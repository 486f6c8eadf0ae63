"""The payout ledger: SQLite (WAL, synchronous=FULL), the writer's durable memory.

What it remembers, and why:
- per wallet, lifetime `owed` and `paid` (docs/protocol.md §6): an epoch pays owed − paid, so
  a wallet is never paid twice for one amount, whatever happened before;
- each epoch's plan (batches and transfers), stored in the same transaction that credits the
  epoch's amounts to `owed`, *before* anything is signed;
- per batch its state (planned → signed → sent → confirmed), the signed transaction bytes,
  signature, blockhash and last valid block height: a signed batch is resent as is while its
  blockhash is valid and rebuilt only after it expired;
- the address-lookup-table books: address, creation slot, members and their positions.
Confirmation adds the batch to `paid` in the same transaction that marks it confirmed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from oracle.payout.plan import Batch, PayoutPlan, Transfer
from oracle.rewards.errors import PayoutError

PLANNED, SIGNED, SENT, CONFIRMED = "planned", "signed", "sent", "confirmed"
STATES = (PLANNED, SIGNED, SENT, CONFIRMED)
# (due: wallet -> owed - paid, members: wallet -> (book, position), book sizes) -> plan
Planner = Callable[
    [Mapping[bytes, int], Mapping[bytes, tuple[int, int]], Mapping[int, int]], PayoutPlan
]
MAX_AMOUNT = 2**63 - 1  # SQLite INTEGER; an SPL amount is a u64, lifetime sums stay below

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS wallets (
    wallet BLOB PRIMARY KEY, owed INTEGER NOT NULL, paid INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS epochs (
    epoch INTEGER PRIMARY KEY, root BLOB NOT NULL, total INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS epoch_wallets (
    epoch INTEGER NOT NULL, wallet BLOB NOT NULL, amount INTEGER NOT NULL,
    PRIMARY KEY (epoch, wallet));
CREATE TABLE IF NOT EXISTS books (
    book INTEGER PRIMARY KEY, address BLOB, created_slot INTEGER, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS book_members (
    wallet BLOB PRIMARY KEY, book INTEGER NOT NULL, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    epoch INTEGER NOT NULL, number INTEGER NOT NULL, book INTEGER NOT NULL,
    state TEXT NOT NULL, total INTEGER NOT NULL, tx BLOB, signature BLOB, blockhash BLOB,
    last_valid_height INTEGER, PRIMARY KEY (epoch, number));
CREATE TABLE IF NOT EXISTS transfers (
    epoch INTEGER NOT NULL, number INTEGER NOT NULL, idx INTEGER NOT NULL,
    wallet BLOB NOT NULL, amount INTEGER NOT NULL, PRIMARY KEY (epoch, number, idx));
"""


@dataclass(frozen=True)
class BatchRecord:
    batch: Batch
    state: str
    tx: bytes | None
    signature: bytes | None
    blockhash: bytes | None
    last_valid_height: int | None


@dataclass(frozen=True)
class WalletStatus:
    wallet: bytes
    epoch_amount: int
    owed: int
    paid: int


class Ledger:
    def __init__(self, path: Path | str) -> None:
        self._conn = sqlite3.connect(str(path), isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # meta
    def meta(self, key: str) -> bytes | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta(self, key: str, value: bytes) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # planning
    def is_planned(self, epoch: int) -> bool:
        return self.epoch_root(epoch) is not None

    def epoch_root(self, epoch: int) -> bytes | None:
        """The manifest root the epoch was planned from (None: not planned)."""
        row = self._conn.execute("SELECT root FROM epochs WHERE epoch = ?", (epoch,)).fetchone()
        return None if row is None else bytes(row[0])

    def plan_epoch(
        self,
        epoch: int,
        root: bytes,
        amounts: Sequence[tuple[bytes, int]],
        planner: Planner,
    ) -> PayoutPlan:
        """Credit the epoch's amounts to `owed` and store its plan, in one transaction.

        `planner(due, members, book_sizes) -> PayoutPlan` is called inside the transaction so
        the plan is computed from exactly the state it is stored against. Refused while an
        earlier epoch still has unconfirmed batches (its amounts would be planned twice).
        """
        with self._tx() as c:
            if c.execute("SELECT 1 FROM epochs WHERE epoch = ?", (epoch,)).fetchone():
                raise PayoutError(f"epoch {epoch} is already planned")
            open_ = c.execute(
                "SELECT MIN(epoch) FROM batches WHERE state != ?", (CONFIRMED,)
            ).fetchone()[0]
            if open_ is not None:
                raise PayoutError(f"epoch {open_} has unconfirmed batches; finish it first")
            for wallet, amount in amounts:
                row = c.execute("SELECT owed FROM wallets WHERE wallet = ?", (wallet,)).fetchone()
                owed = (0 if row is None else row[0]) + amount
                if amount < 0 or owed > MAX_AMOUNT:
                    # SQLite would silently turn an overflowing sum into a float.
                    raise PayoutError(f"wallet {wallet.hex()}: amount out of range")
                c.execute(
                    "INSERT INTO wallets (wallet, owed, paid) VALUES (?, ?, 0) ON CONFLICT "
                    "(wallet) DO UPDATE SET owed = excluded.owed",
                    (wallet, owed),
                )
                c.execute(
                    "INSERT INTO epoch_wallets (epoch, wallet, amount) VALUES (?, ?, ?)",
                    (epoch, wallet, amount),
                )
            due = {
                bytes(w): o - p
                for w, o, p in c.execute("SELECT wallet, owed, paid FROM wallets WHERE owed > paid")
            }
            members = {
                bytes(w): (b, pos)
                for w, b, pos in c.execute("SELECT wallet, book, position FROM book_members")
            }
            sizes = dict(c.execute("SELECT book, size FROM books").fetchall())
            plan: PayoutPlan = planner(due, members, sizes)
            if plan.total > MAX_AMOUNT:
                raise PayoutError(f"epoch {epoch}: total {plan.total} out of range")
            c.execute(
                "INSERT INTO epochs (epoch, root, total) VALUES (?, ?, ?)",
                (epoch, root, plan.total),
            )
            for wallet, book, position in plan.new_members:
                c.execute(
                    "INSERT INTO book_members (wallet, book, position) VALUES (?, ?, ?)",
                    (wallet, book, position),
                )
                c.execute(
                    "INSERT INTO books (book, size) VALUES (?, 1) ON CONFLICT (book) "
                    "DO UPDATE SET size = size + 1",
                    (book,),
                )
            for b in plan.batches:
                c.execute(
                    "INSERT INTO batches (epoch, number, book, state, total) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (epoch, b.number, b.book, PLANNED, b.total),
                )
                c.executemany(
                    "INSERT INTO transfers (epoch, number, idx, wallet, amount) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(epoch, b.number, i, t.wallet, t.amount) for i, t in enumerate(b.transfers)],
                )
        return plan

    # batches
    def batches(self, epoch: int) -> list[BatchRecord]:
        transfers: dict[int, list[Transfer]] = {}
        for number, wallet, amount in self._conn.execute(
            "SELECT number, wallet, amount FROM transfers WHERE epoch = ? ORDER BY number, idx",
            (epoch,),
        ):
            transfers.setdefault(number, []).append(Transfer(bytes(wallet), amount))
        out = []
        for number, book, state, tx, sig, bh, lvh in self._conn.execute(
            "SELECT number, book, state, tx, signature, blockhash, last_valid_height "
            "FROM batches WHERE epoch = ? ORDER BY number",
            (epoch,),
        ):
            batch = Batch(epoch, number, book, tuple(transfers.get(number, ())))
            out.append(BatchRecord(batch, state, _b(tx), _b(sig), _b(bh), lvh))
        return out

    def set_signed(
        self, batch: Batch, tx: bytes, signature: bytes, blockhash: bytes, last_valid: int
    ) -> None:
        with self._tx() as c:
            self._expect(c, batch, (PLANNED, SIGNED, SENT))
            c.execute(
                "UPDATE batches SET state = ?, tx = ?, signature = ?, blockhash = ?, "
                "last_valid_height = ? WHERE epoch = ? AND number = ?",
                (SIGNED, tx, signature, blockhash, last_valid, batch.epoch, batch.number),
            )

    def set_sent(self, batch: Batch) -> None:
        with self._tx() as c:
            self._expect(c, batch, (SIGNED, SENT))
            c.execute(
                "UPDATE batches SET state = ? WHERE epoch = ? AND number = ?",
                (SENT, batch.epoch, batch.number),
            )

    def confirm(self, batch: Batch) -> bool:
        """Mark confirmed and add its transfers to `paid`; False if it already was."""
        with self._tx() as c:
            state = self._expect(c, batch, STATES)
            if state == CONFIRMED:
                return False
            c.execute(
                "UPDATE batches SET state = ? WHERE epoch = ? AND number = ?",
                (CONFIRMED, batch.epoch, batch.number),
            )
            c.executemany(
                "UPDATE wallets SET paid = paid + ? WHERE wallet = ?",
                [(t.amount, t.wallet) for t in batch.transfers],
            )
        return True

    @staticmethod
    def _expect(c: sqlite3.Connection, batch: Batch, allowed: Sequence[str]) -> str:
        row = c.execute(
            "SELECT state FROM batches WHERE epoch = ? AND number = ?", (batch.epoch, batch.number)
        ).fetchone()
        if row is None or row[0] not in allowed:
            got = None if row is None else row[0]
            raise PayoutError(f"batch {batch.epoch}/{batch.number} is {got}, expected {allowed}")
        return str(row[0])

    # books
    def book(self, book: int) -> tuple[bytes | None, int | None]:
        row = self._conn.execute(
            "SELECT address, created_slot FROM books WHERE book = ?", (book,)
        ).fetchone()
        return (None, None) if row is None else (_b(row[0]), row[1])

    def set_book_address(self, book: int, address: bytes, slot: int) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE books SET address = ?, created_slot = ? WHERE book = ?",
                (address, slot, book),
            )

    def book_members(self, book: int) -> list[bytes]:
        """Members in position order."""
        rows = self._conn.execute(
            "SELECT wallet FROM book_members WHERE book = ? ORDER BY position", (book,)
        )
        return [bytes(r[0]) for r in rows]

    # status
    def epoch_wallets(self, epoch: int) -> list[WalletStatus]:
        rows = self._conn.execute(
            "SELECT e.wallet, e.amount, w.owed, w.paid FROM epoch_wallets e JOIN wallets w "
            "ON w.wallet = e.wallet WHERE e.epoch = ? ORDER BY e.wallet",
            (epoch,),
        )
        return [WalletStatus(bytes(w), a, o, p) for w, a, o, p in rows]

    def wallet(self, wallet: bytes) -> tuple[int, int]:
        row = self._conn.execute(
            "SELECT owed, paid FROM wallets WHERE wallet = ?", (wallet,)
        ).fetchone()
        return (0, 0) if row is None else (row[0], row[1])


def _b(value: object) -> bytes | None:
    return None if value is None else bytes(value)  # type: ignore[arg-type]


def batch_states(path: Path | str) -> dict[str, int]:
    """Batches per state over all epochs, read without creating or changing the ledger (the
    oracle's metrics read it while `payout run` may be writing); {} when there is none."""
    if not Path(path).is_file():
        return {}
    conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT state, count(*) FROM batches GROUP BY state").fetchall()
    except sqlite3.Error:
        return {}
    finally:
        conn.close()
    found = {state: int(n) for state, n in rows}
    return {state: found.get(state, 0) for state in STATES}
