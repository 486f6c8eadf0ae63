"""Hex density scaling (HIP-17 with HIP-104 parameters, docs/protocol.md §6)."""
