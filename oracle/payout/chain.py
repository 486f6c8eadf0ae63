"""What the payout writer needs from a Solana cluster: one Protocol, two backends.

`litesvm_backend.LiteSvmBackend` runs the embedded VM (default, state kept in a file);
`rpc_backend.RpcBackend` talks JSON-RPC to a real cluster (devnet in production). The writer
only ever asks these questions, so both backends are exercised by the same payout tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from solders.account import Account
    from solders.hash import Hash
    from solders.pubkey import Pubkey
    from solders.transaction import VersionedTransaction


class ChainBackend(Protocol):
    def latest_blockhash(self) -> tuple[Hash, int]:
        """(blockhash, last block height at which a transaction using it can land)."""
        ...

    def block_height(self) -> int: ...

    def recent_slot(self) -> int:
        """A slot an address lookup table may be derived from (in the SlotHashes sysvar)."""
        ...

    def wait_next_slot(self) -> None:
        """Return once the cluster is past the current slot (lookup-table warm-up)."""
        ...

    def pause(self) -> None:
        """Wait a little before polling again (no-op where sending is synchronous)."""
        ...

    def send(self, tx: VersionedTransaction) -> None:
        """Submit; raises ChainError with the cluster's reason when it is refused."""
        ...

    def accounts(self, keys: Sequence[Pubkey]) -> list[Account | None]: ...

    def rent_exempt(self, space: int) -> int: ...

    def flush(self) -> None:
        """Make what was sent so far durable before the ledger records it as confirmed
        (the embedded VM's state file; a cluster is durable by itself)."""
        ...

    def close(self) -> None: ...
