"""Reward units, epoch rewards and the epoch manifest (PROTOCOL §6)."""
