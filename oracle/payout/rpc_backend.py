"""A Solana cluster over JSON-RPC (`--rpc-url`, devnet in production) as a ChainBackend.

Requests and responses are solders' own types (`solders.rpc.requests` / `.responses`), sent
with urllib. Every response is checked for a JSON-RPC `error` member — and for being a JSON
object with a `result` — *before* solders parses it: solders panics on shapes it does not
expect, and a Rust panic surfaces as `pyo3_runtime.PanicException`, which derives from
BaseException, not Exception, so ordinary error handling would not stop it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from solders.account import Account
from solders.account_decoder import UiAccountEncoding
from solders.commitment_config import CommitmentLevel
from solders.errors import SerdeJSONError
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.rpc.config import RpcAccountInfoConfig, RpcContextConfig, RpcSendTransactionConfig
from solders.rpc.requests import (
    GetBlockHeight,
    GetLatestBlockhash,
    GetMinimumBalanceForRentExemption,
    GetMultipleAccounts,
    GetSlot,
    SendVersionedTransaction,
)
from solders.rpc.responses import (
    GetBlockHeightResp,
    GetLatestBlockhashResp,
    GetMinimumBalanceForRentExemptionResp,
    GetMultipleAccountsResp,
    GetSlotResp,
    SendTransactionResp,
)
from solders.transaction import VersionedTransaction

from oracle.rewards.errors import ChainError

TIMEOUT_S = 30.0
POLL_S = 0.5
MAX_SLOT_POLLS = 120


class RpcBackend:
    def __init__(
        self,
        url: str,
        timeout_s: float = TIMEOUT_S,
        poll_s: float = POLL_S,
        sleep: Callable[[float], None] = time.sleep,
        commitment: CommitmentLevel = CommitmentLevel.Confirmed,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ChainError(f"--rpc-url must be an http(s) URL, got {url!r}")
        self._url = url
        self._timeout_s = timeout_s
        self._poll_s = poll_s
        self._sleep = sleep
        self._commitment = commitment
        self._rent: dict[int, int] = {}

    # transport
    def _call(self, request: Any, response_type: Any) -> Any:
        body = request.to_json().encode()
        http = urllib.request.Request(
            self._url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        method = json.loads(body).get("method", "?")
        try:
            with urllib.request.urlopen(http, timeout=self._timeout_s) as reply:
                text = reply.read().decode("utf-8")
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise ChainError(f"{method}: {self._url} unreachable: {exc}") from exc
        try:
            doc = json.loads(text)
        except ValueError:
            raise ChainError(f"{method}: reply is not JSON: {text[:80]!r}") from None
        if not isinstance(doc, dict):
            raise ChainError(f"{method}: reply is not a JSON-RPC object")
        if "error" in doc:
            error = doc["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise ChainError(f"{method}: {message}")
        if "result" not in doc:
            raise ChainError(f"{method}: reply has neither result nor error")
        try:
            return response_type.from_json(text)
        except (ValueError, SerdeJSONError) as exc:  # SerdeJSONError is no ValueError
            raise ChainError(f"{method}: unexpected reply: {exc}") from exc

    def _context(self, commitment: CommitmentLevel | None = None) -> RpcContextConfig:
        return RpcContextConfig(commitment=commitment or self._commitment)

    # ChainBackend
    def latest_blockhash(self) -> tuple[Hash, int]:
        resp = self._call(GetLatestBlockhash(), GetLatestBlockhashResp)
        return resp.value.blockhash, resp.value.last_valid_block_height

    def block_height(self) -> int:
        return int(self._call(GetBlockHeight(self._context()), GetBlockHeightResp).value)

    def slot(self) -> int:
        return int(self._call(GetSlot(self._context()), GetSlotResp).value)

    def recent_slot(self) -> int:
        # A finalized slot is in every validator's SlotHashes (lookup-table derivation).
        request = GetSlot(self._context(CommitmentLevel.Finalized))
        return int(self._call(request, GetSlotResp).value)

    def wait_next_slot(self) -> None:
        start = self.slot()
        for _ in range(MAX_SLOT_POLLS):
            if self.slot() > start:
                return
            self._sleep(self._poll_s)
        raise ChainError(f"the cluster stayed at slot {start}")

    def pause(self) -> None:
        self._sleep(self._poll_s)

    def send(self, tx: VersionedTransaction) -> None:
        config = RpcSendTransactionConfig(preflight_commitment=self._commitment)
        self._call(SendVersionedTransaction(tx, config), SendTransactionResp)

    def accounts(self, keys: Sequence[Pubkey]) -> list[Account | None]:
        config = RpcAccountInfoConfig(
            encoding=UiAccountEncoding.Base64, commitment=self._commitment
        )
        resp = self._call(GetMultipleAccounts(list(keys), config), GetMultipleAccountsResp)
        return list(resp.value)

    def rent_exempt(self, space: int) -> int:
        if space not in self._rent:
            request = GetMinimumBalanceForRentExemption(space)
            value = self._call(request, GetMinimumBalanceForRentExemptionResp).value
            self._rent[space] = int(value)
        return self._rent[space]

    def flush(self) -> None:
        """The cluster keeps its own state."""

    def close(self) -> None:
        """Nothing held open between calls."""
