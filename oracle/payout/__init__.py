"""Paying epoch rewards on Solana exactly once (docs/protocol.md §6 "Payout")."""
