"""The embedded Solana VM (solders.litesvm) as a ChainBackend, its state kept in a file.

LiteSVM lives in memory, so the accounts the payout cares about — every account a successful
transaction wrote (payer, mint, treasury, token accounts, markers, lookup tables) — are
appended to a journal file after each transaction (written through at once, fsynced by
`flush()`, which the writer calls before the ledger records a confirmation, and on close);
opening the backend replays the journal with `set_account` (last record wins). A restored VM
starts 151 slots after the saved one with a fresh blockhash, so a transaction signed before
the restart counts as expired, exactly as it would on a cluster that moved on.

Slots do not advance by themselves here: `wait_next_slot` warps one slot and records a slot
hash, which address lookup tables need (creation slot in SlotHashes, entries usable from the
next slot). Block height is the slot; a blockhash is valid for 150 of them.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from pathlib import Path

from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTable
from solders.hash import Hash
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from oracle.rewards.errors import ChainError

MAGIC = b"PNSVM1\n"
BLOCKHASH_VALID_BLOCKS = 150  # MAX_PROCESSING_AGE in the Solana runtime
RESTART_GAP_SLOTS = BLOCKHASH_VALID_BLOCKS + 1
PAYER_AIRDROP_LAMPORTS = 10_000 * 10**9
_SLOT_KEY = bytes(32)  # journal record carrying the slot instead of an account
_REC = struct.Struct("<32sI")


class LiteSvmBackend:
    def __init__(self, state_path: Path | None, payer: Pubkey | None = None) -> None:
        self._svm = LiteSVM()
        self._path = state_path
        self._file = None
        self._dirty = False
        restored = False
        if state_path is not None:
            good = self._restore(state_path)
            restored = good > len(MAGIC)  # no intact record: start afresh (airdrop again)
            if state_path.exists() and (not restored or good < state_path.stat().st_size):
                # Cut a torn tail off before appending: records written behind it would be
                # unreadable on the next restore (the torn bytes parse as their header).
                os.truncate(state_path, good if restored else 0)
            self._file = open(state_path, "ab")  # held open for the backend's life
            if not restored:
                self._file.write(MAGIC)
        if payer is not None and not restored:
            self._svm.airdrop(payer, PAYER_AIRDROP_LAMPORTS)
            self._journal([payer])

    # ChainBackend
    def latest_blockhash(self) -> tuple[Hash, int]:
        return self._svm.latest_blockhash(), self.block_height() + BLOCKHASH_VALID_BLOCKS

    def block_height(self) -> int:
        return self._svm.get_clock().slot

    def recent_slot(self) -> int:
        slot = self._svm.get_clock().slot
        hashes = list(self._svm.get_slot_hashes())
        if not hashes or hashes[0][0] != slot:
            self._svm.set_slot_hashes([(slot, self._svm.latest_blockhash()), *hashes][:512])
        return slot

    def wait_next_slot(self) -> None:
        self.advance(1)

    def pause(self) -> None:
        """Sending is synchronous here: nothing to wait for."""

    def send(self, tx: VersionedTransaction) -> None:
        result = self._svm.send_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            raise ChainError(f"transaction refused: {result.err()}")
        self._journal(self._written_keys(tx))

    def accounts(self, keys: Sequence[Pubkey]) -> list[Account | None]:
        return [self._svm.get_account(k) for k in keys]

    def rent_exempt(self, space: int) -> int:
        return self._svm.minimum_balance_for_rent_exemption(space)

    def flush(self) -> None:
        if self._file is not None and self._dirty:
            os.fsync(self._file.fileno())
            self._dirty = False

    def close(self) -> None:
        if self._file is not None:
            self.flush()
            self._file.close()
            self._file = None

    # test and operator helpers
    def advance(self, slots: int) -> None:
        """Move the clock `slots` ahead with a new blockhash (blockhashes then expire)."""
        self._svm.warp_to_slot(self._svm.get_clock().slot + slots)
        self._svm.expire_blockhash()
        self.recent_slot()
        self._journal_slot()

    @property
    def svm(self) -> LiteSVM:
        return self._svm

    # persistence
    def _written_keys(self, tx: VersionedTransaction) -> list[Pubkey]:
        msg = tx.message
        keys = [k for i, k in enumerate(msg.account_keys) if msg.is_maybe_writable(i)]
        for lookup in msg.address_table_lookups:
            table = self._svm.get_account(lookup.account_key)
            if table is None:
                continue
            addresses = AddressLookupTable.deserialize(bytes(table.data)).addresses
            keys.extend(addresses[i] for i in bytes(lookup.writable_indexes))
        return keys

    def _journal(self, keys: Sequence[Pubkey]) -> None:
        if self._file is None:
            return
        chunks = []
        for key in keys:
            account = self._svm.get_account(key)
            if account is None or account.executable:
                continue
            blob = bytes(account)
            chunks.append(_REC.pack(bytes(key), len(blob)) + blob)
        self._append(b"".join(chunks))

    def _journal_slot(self) -> None:
        if self._file is not None:
            blob = struct.pack("<Q", self._svm.get_clock().slot)
            self._append(_REC.pack(_SLOT_KEY, len(blob)) + blob)

    def _append(self, data: bytes) -> None:
        assert self._file is not None
        self._file.write(data)
        self._file.flush()  # in the OS after every transaction: survives a process crash
        self._dirty = True

    def _restore(self, path: Path) -> int:
        """Replay the journal; the length of its intact part (0: nothing to restore)."""
        if not path.exists() or path.stat().st_size == 0:
            return 0
        data = path.read_bytes()
        if not data.startswith(MAGIC):
            raise ChainError(f"{path} is not a pocnet LiteSVM state file")
        pos, slot = len(MAGIC), 0
        latest: dict[bytes, bytes] = {}
        while pos + _REC.size <= len(data):
            key, size = _REC.unpack_from(data, pos)
            blob = data[pos + _REC.size : pos + _REC.size + size]
            if len(blob) < size:
                break  # a torn last record (crash mid-append): the transaction is not known
            pos += _REC.size + size
            if key == _SLOT_KEY:
                slot = max(slot, struct.unpack("<Q", blob)[0])
            else:
                latest[key] = blob
        for key, blob in latest.items():
            self._svm.set_account(Pubkey.from_bytes(key), Account.from_bytes(blob))
        current = self._svm.get_clock().slot
        self._svm.warp_to_slot(max(current, slot) + RESTART_GAP_SLOTS)
        self._svm.expire_blockhash()
        self.recent_slot()
        return pos
