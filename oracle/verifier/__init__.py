"""PoC verification (docs/protocol.md §5): pure rules (checks, pipeline, trust) and the runner that
applies them to stored reports."""
