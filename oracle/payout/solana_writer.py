"""The payout writer: an epoch's plan turned into SPL token transfers on Solana, exactly once.

Exactly once, whatever crashes when (docs/protocol.md §6):
- the plan is stored in the ledger before anything is signed (ledger.plan_epoch);
- every batch transaction carries the SPL memo of the manifest root and creates a *marker*
  account, `create_account_with_seed(payer, seed="e{epoch}n{batch}")`, in the same atomic
  transaction as its transfers. The marker exists if and only if the batch's transfers ran,
  so it is the confirmation test, and a replayed or re-signed batch fails as a whole
  (the marker is "already in use") and pays nothing twice;
- a signed batch is resent unchanged while its blockhash is valid and rebuilt (re-signed with
  a fresh blockhash) only once the cluster's block height passed its last valid height, when
  the old transaction can no longer land.
Transactions are v0 with the batch's address lookup table ("book"), so each transfer costs 18
bytes and TRANSFERS_PER_TX fit in the 1232-byte packet; every transaction is measured before
it is signed and refused if it is larger.

Within the oracle, solders is imported only here and in the two backends.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import base58
from solders import system_program as sp
from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTable, AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.token.associated import get_associated_token_address
from solders.token.state import TokenAccount
from solders.transaction import VersionedTransaction

from oracle.payout.chain import ChainBackend
from oracle.payout.ledger import CONFIRMED, SENT, SIGNED, BatchRecord, Ledger
from oracle.payout.plan import TRANSFERS_PER_TX, Batch, plan_payout
from oracle.rewards.errors import ChainError, PayoutError
from pocnet.wire import rewards_pb2

TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
ATA_PROGRAM = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
# SPL Memo v1: deployed on every cluster and bundled with LiteSVM.
MEMO_PROGRAM = Pubkey.from_string("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo")
PACKET_DATA_SIZE = 1232  # bytes: IPv6 minimum MTU 1280 − 48 of headers (solana-sdk packet.rs)
DECIMALS = 8
MINT_SIZE = 82  # spl-token Mint::LEN
MINT_SEED = "pocnet-mint"
# SPL token instruction tags (spl-token instruction.rs).
INITIALIZE_MINT2, TRANSFER_CHECKED, MINT_TO_CHECKED = 20, 12, 14
CREATE_IDEMPOTENT = 1  # associated-token-account instruction tag
# An ATA creation runs 5 instructions (1 + 4 inner); the runtime allows 64 per transaction.
ATAS_PER_TX = 12
EXTEND_PER_TX = 28  # 28 × 32-byte addresses: the largest extend that fits 1232 bytes
MAX_POLLS = 120

Hook = Callable[[str, Batch | None], None]
"""Called after each durable step: "planned", "signed", "sent", and "confirm" (before the
confirmation is recorded). Tests raise from it to simulate a crash at that point."""


def marker_seed(epoch: int, number: int) -> str:
    return f"e{epoch}n{number}"


def transfer_checked(
    src: Pubkey, mint: Pubkey, dst: Pubkey, owner: Pubkey, amount: int
) -> Instruction:
    data = struct.pack("<BQB", TRANSFER_CHECKED, amount, DECIMALS)
    metas = [
        AccountMeta(src, False, True),
        AccountMeta(mint, False, False),
        AccountMeta(dst, False, True),
        AccountMeta(owner, True, False),
    ]
    return Instruction(TOKEN_PROGRAM, data, metas)


def create_ata_idempotent(payer: Pubkey, wallet: Pubkey, mint: Pubkey) -> Instruction:
    metas = [
        AccountMeta(payer, True, True),
        AccountMeta(get_associated_token_address(wallet, mint), False, True),
        AccountMeta(wallet, False, False),
        AccountMeta(mint, False, False),
        AccountMeta(sp.ID, False, False),
        AccountMeta(TOKEN_PROGRAM, False, False),
    ]
    return Instruction(ATA_PROGRAM, bytes([CREATE_IDEMPOTENT]), metas)


def memo(text: str) -> Instruction:
    return Instruction(MEMO_PROGRAM, text.encode(), [])


@dataclass(frozen=True)
class PayoutSummary:
    epoch: int
    batches: int
    confirmed_now: int
    transfers: int
    max_tx_bytes: int


class SolanaWriter:
    def __init__(
        self,
        ledger: Ledger,
        backend: ChainBackend,
        payer: Keypair,
        hook: Hook | None = None,
        per_tx: int = TRANSFERS_PER_TX,
    ) -> None:
        self.ledger = ledger
        self.backend = backend
        self.payer = payer
        self.mint = Pubkey.create_with_seed(payer.pubkey(), MINT_SEED, TOKEN_PROGRAM)
        self.treasury = get_associated_token_address(payer.pubkey(), self.mint)
        self._hook = hook or (lambda step, batch: None)
        self._per_tx = per_tx
        self._max_tx_bytes = 0
        self._atas: dict[bytes, Pubkey] = {}

    # public
    def run(self, manifest: rewards_pb2.EpochManifest) -> PayoutSummary:
        epoch = manifest.epoch
        planned_root = self.ledger.epoch_root(epoch)
        if planned_root is not None and planned_root != manifest.merkle_root:
            raise PayoutError(
                f"epoch {epoch} was planned from manifest root {planned_root.hex()}, "
                f"not {manifest.merkle_root.hex()}"
            )
        if planned_root is None:
            amounts = [(w.wallet, w.amount) for w in manifest.wallets if w.amount > 0]
            self.ledger.plan_epoch(
                epoch,
                manifest.merkle_root,
                amounts,
                lambda due, members, sizes: plan_payout(
                    epoch, manifest.merkle_root, due, members, sizes, self._per_tx
                ),
            )
            self._hook("planned", None)
        records = self.ledger.batches(epoch)
        confirmed_now = self._reconcile(records)
        open_ = [r for r in self.ledger.batches(epoch) if r.state != CONFIRMED]
        if open_:
            self.ensure_mint()
            self._fund(sum(r.batch.total for r in open_))
            books = self._ensure_books(sorted({r.batch.book for r in open_}))
            self._ensure_atas([t.wallet for r in open_ for t in r.batch.transfers])
            for record in open_:
                confirmed_now += self._pay(record, books[record.batch.book], manifest.merkle_root)
        return PayoutSummary(
            epoch=epoch,
            batches=len(records),
            confirmed_now=confirmed_now,
            transfers=sum(len(r.batch.transfers) for r in records),
            max_tx_bytes=self._max_tx_bytes,
        )

    def ata(self, wallet: bytes) -> Pubkey:
        """The wallet's associated token account for the mint (memoised: a PDA search)."""
        found = self._atas.get(wallet)
        if found is None:
            found = get_associated_token_address(Pubkey.from_bytes(wallet), self.mint)
            self._atas[wallet] = found
        return found

    def marker(self, batch: Batch) -> Pubkey:
        return Pubkey.create_with_seed(
            self.payer.pubkey(), marker_seed(batch.epoch, batch.number), sp.ID
        )

    def token_balance(self, wallet: Pubkey) -> int:
        account = self.backend.accounts([self.ata(bytes(wallet))])[0]
        return 0 if account is None else TokenAccount.from_bytes(bytes(account.data)).amount

    def ensure_mint(self) -> None:
        payer = self.payer.pubkey()
        if self.backend.accounts([self.mint])[0] is None:
            create = sp.create_account_with_seed(
                sp.CreateAccountWithSeedParams(
                    from_pubkey=payer,
                    to_pubkey=self.mint,
                    base=payer,
                    seed=MINT_SEED,
                    lamports=self.backend.rent_exempt(MINT_SIZE),
                    space=MINT_SIZE,
                    owner=TOKEN_PROGRAM,
                )
            )
            data = struct.pack("<BB", INITIALIZE_MINT2, DECIMALS) + bytes(payer) + b"\x00"
            init = Instruction(TOKEN_PROGRAM, data, [AccountMeta(self.mint, False, True)])
            self._send_until([create, init], lambda: self._exists(self.mint))
        if not self._exists(self.treasury):
            ix = create_ata_idempotent(payer, payer, self.mint)
            self._send_until([ix], lambda: self._exists(self.treasury))

    # steps
    def _reconcile(self, records: Sequence[BatchRecord]) -> int:
        """Record batches whose marker exists (they ran) but whose confirmation was lost."""
        pending = [r for r in records if r.state in (SIGNED, SENT)]
        if not pending:
            return 0
        found = self._all_accounts([self.marker(r.batch) for r in pending])
        done = 0
        for record, account in zip(pending, found, strict=True):
            if account is not None:
                self.backend.flush()
                self._hook("confirm", record.batch)
                done += int(self.ledger.confirm(record.batch))
        return done

    def _fund(self, needed: int) -> None:
        """Mint the shortfall into the treasury (a re-run sees the balance and mints no more)."""
        have = self.token_balance(self.payer.pubkey())
        if have >= needed:
            return
        payer = self.payer.pubkey()
        data = struct.pack("<BQB", MINT_TO_CHECKED, needed - have, DECIMALS)
        metas = [
            AccountMeta(self.mint, False, True),
            AccountMeta(self.treasury, False, True),
            AccountMeta(payer, True, False),
        ]
        ix = Instruction(TOKEN_PROGRAM, data, metas)
        self._send_until([ix], lambda: self.token_balance(payer) >= needed)

    def _ensure_books(self, books: Sequence[int]) -> dict[int, AddressLookupTableAccount]:
        out: dict[int, AddressLookupTableAccount] = {}
        payer = self.payer.pubkey()
        extended = False
        for book in books:
            desired = [self.mint, self.treasury] + [
                self.ata(w) for w in self.ledger.book_members(book)
            ]
            address_bytes, _ = self.ledger.book(book)
            address = Pubkey.from_bytes(address_bytes) if address_bytes else None
            account = self.backend.accounts([address])[0] if address else None
            if account is None:
                slot = self.backend.recent_slot()
                ix, address = sp.create_lookup_table(
                    sp.CreateLookupTableParams(
                        authority_address=payer, payer_address=payer, recent_slot=slot
                    )
                )
                self.ledger.set_book_address(book, bytes(address), slot)  # before sending
                self._send_until([ix], lambda a=address: self._exists(a))
                self.backend.wait_next_slot()  # the next table needs another slot
                on_chain: list[Pubkey] = []
            else:
                on_chain = list(AddressLookupTable.deserialize(bytes(account.data)).addresses)
            if on_chain != desired[: len(on_chain)]:
                raise PayoutError(f"lookup table of book {book} ({address}) differs from ledger")
            for start in range(len(on_chain), len(desired), EXTEND_PER_TX):
                chunk = desired[start : start + EXTEND_PER_TX]
                ix = sp.extend_lookup_table(
                    sp.ExtendLookupTableParams(
                        payer_address=payer,
                        lookup_table_address=address,
                        authority_address=payer,
                        new_addresses=chunk,
                    )
                )
                end = start + len(chunk)
                self._send_until([ix], lambda a=address, n=end: self._table_len(a) >= n)
                extended = True
            out[book] = AddressLookupTableAccount(address, desired)
        if extended:
            self.backend.wait_next_slot()  # new entries are usable from the next slot
        return out

    def _ensure_atas(self, wallets: Sequence[bytes]) -> None:
        owners = sorted(set(wallets))
        found = self._all_accounts([self.ata(w) for w in owners])
        missing = [Pubkey.from_bytes(o) for o, a in zip(owners, found, strict=True) if a is None]
        payer = self.payer.pubkey()
        for start in range(0, len(missing), ATAS_PER_TX):
            chunk = missing[start : start + ATAS_PER_TX]
            ixs = [create_ata_idempotent(payer, o, self.mint) for o in chunk]
            last = get_associated_token_address(chunk[-1], self.mint)
            self._send_until(ixs, lambda a=last: self._exists(a))

    def _pay(self, record: BatchRecord, book: AddressLookupTableAccount, root: bytes) -> int:
        batch = record.batch
        marker = self.marker(batch)
        tx: VersionedTransaction | None = None
        if record.state in (SIGNED, SENT) and record.tx is not None:
            if self.backend.block_height() <= (record.last_valid_height or -1):
                tx = VersionedTransaction.from_bytes(record.tx)  # still valid: resend as is
        for _ in range(MAX_POLLS):
            if tx is None:
                tx, blockhash, last_valid = self._batch_tx(batch, book, root)
                signature = bytes(tx.signatures[0])
                self.ledger.set_signed(batch, bytes(tx), signature, blockhash, last_valid)
                self._hook("signed", batch)
            else:
                last_valid = record.last_valid_height or -1
            try:
                self.backend.send(tx)
            except ChainError:
                if not self._exists(marker):
                    raise
            self._hook("sent", batch)  # a crash here leaves the ledger at "signed"
            self.ledger.set_sent(batch)
            if self._await(marker, last_valid):
                self.backend.flush()
                self._hook("confirm", batch)
                return int(self.ledger.confirm(batch))
            tx = None  # expired without landing: rebuild with a fresh blockhash
            record = BatchRecord(batch, SENT, None, None, None, None)
        raise PayoutError(f"batch {batch.epoch}/{batch.number} did not land")

    def _batch_tx(
        self, batch: Batch, book: AddressLookupTableAccount, root: bytes
    ) -> tuple[VersionedTransaction, bytes, int]:
        payer = self.payer.pubkey()
        seed = marker_seed(batch.epoch, batch.number)
        ixs = [
            memo(base58.b58encode(root).decode()),
            sp.create_account_with_seed(
                sp.CreateAccountWithSeedParams(
                    from_pubkey=payer,
                    to_pubkey=self.marker(batch),
                    base=payer,
                    seed=seed,
                    lamports=self.backend.rent_exempt(0),
                    space=0,
                    owner=sp.ID,
                )
            ),
        ]
        for t in batch.transfers:
            dst = self.ata(t.wallet)
            ixs.append(transfer_checked(self.treasury, self.mint, dst, payer, t.amount))
        blockhash, last_valid = self.backend.latest_blockhash()
        tx = self._sign(ixs, [book], blockhash)
        return tx, bytes(blockhash), last_valid

    def _sign(
        self,
        ixs: Sequence[Instruction],
        tables: Sequence[AddressLookupTableAccount],
        blockhash: Hash,
    ) -> VersionedTransaction:
        msg = MessageV0.try_compile(self.payer.pubkey(), list(ixs), list(tables), blockhash)
        tx = VersionedTransaction(msg, [self.payer])
        size = len(bytes(tx))
        if size > PACKET_DATA_SIZE:
            raise PayoutError(f"transaction of {size} bytes exceeds {PACKET_DATA_SIZE}")
        self._max_tx_bytes = max(self._max_tx_bytes, size)
        return tx

    # helpers
    def _send_until(self, ixs: list[Instruction], done: Callable[[], bool]) -> None:
        """Send a setup transaction (idempotent or guarded by `done`) until `done()` holds."""
        for _ in range(3):
            blockhash, last_valid = self.backend.latest_blockhash()
            tx = self._sign(ixs, [], blockhash)
            self.backend.send(tx)
            if self._await_condition(done, last_valid):
                return
        raise PayoutError("setup transaction did not land")

    def _await(self, marker: Pubkey, last_valid: int) -> bool:
        return self._await_condition(lambda: self._exists(marker), last_valid)

    def _await_condition(self, done: Callable[[], bool], last_valid: int) -> bool:
        for _ in range(MAX_POLLS):
            if done():
                return True
            if self.backend.block_height() > last_valid:
                return done()
            self.backend.pause()
        return done()

    def _exists(self, key: Pubkey) -> bool:
        return self.backend.accounts([key])[0] is not None

    def _table_len(self, key: Pubkey) -> int:
        account = self.backend.accounts([key])[0]
        if account is None:
            return 0
        return len(AddressLookupTable.deserialize(bytes(account.data)).addresses)

    def _all_accounts(self, keys: Sequence[Pubkey]) -> list[Account | None]:
        out: list[Account | None] = []
        for start in range(0, len(keys), 100):  # getMultipleAccounts takes at most 100
            out.extend(self.backend.accounts(keys[start : start + 100]))
        return out
