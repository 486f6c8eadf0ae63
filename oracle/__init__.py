"""The oracle: entropy, report ingest, registry, verification, rewards and payouts."""
