"""Reward units, epoch rewards and the epoch manifest (docs/protocol.md §6)."""
