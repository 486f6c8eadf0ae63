"""Which device keys are onboarded, held in memory: ingest asks for every report (7,000 a
second is too many database reads) to charge keys not onboarded to their shared budget.

The set is loaded at start and kept right in two ways: this replica's registry adds a key the
moment its assertion is stored, and a refresh every `refresh_s` reads the registrations
asserted since the last one (less a margin for replicas' clocks), so a hotspot onboarded
through another replica sharing the database is known here within `refresh_s`. Registrations
are never deleted (the denylist is separate), so the set only grows with the network.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from oracle.errors import StorageError
from oracle.storage.repository import Repository

REFRESH_S = 30.0
CLOCK_MARGIN_MS = 5 * 60_000  # replicas' clocks may differ this much

log = logging.getLogger(__name__)


class OnboardedKeys:
    def __init__(
        self, repo: Repository, refresh_s: float = REFRESH_S,
        sleep: Callable[[float], object] = asyncio.sleep,
    ) -> None:
        self._repo = repo
        self._keys: set[bytes] = set()
        self._since_ms: int | None = None
        self.refresh_s = refresh_s
        self._sleep = sleep

    def __contains__(self, key: bytes) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: bytes) -> None:
        """A registration this replica just stored."""
        self._keys.add(bytes(key))

    def refresh(self) -> int:
        """Read registrations asserted since the last refresh (all, the first time); returns
        how many keys were new. Runs in a worker thread: the set is only ever added to."""
        since = None if self._since_ms is None else self._since_ms - CLOCK_MARGIN_MS
        rows = self._repo.hotspots_asserted_since(since)
        before = len(self._keys)
        latest = self._since_ms or 0
        for key, asserted_at_ms in rows:
            self._keys.add(key)
            latest = max(latest, asserted_at_ms)
        self._since_ms = latest
        return len(self._keys) - before

    async def run(self) -> None:
        """Refresh forever; a database outage only delays the next refresh."""
        while True:
            await self._sleep(self.refresh_s)
            try:
                await asyncio.to_thread(self.refresh)
            except StorageError as exc:
                log.warning("onboarded keys not refreshed: %s", exc)
