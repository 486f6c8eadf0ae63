"""Paying epoch rewards on Solana exactly once (PROTOCOL §6 "Payout")."""
