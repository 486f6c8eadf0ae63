"""The entropy issuer (docs/protocol.md §4): a new signed value every 60 s, stored so the verifier
can later check that a beacon was built from entropy this network issued and when.

`data = pocnet.beacon.entropy_data(ts, os.urandom(32))`; clock and randomness are injected so
tests are deterministic. Each replica issues its own values into the shared table.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable

from oracle.errors import StorageError
from oracle.storage.repository import EntropyRecord, Repository
from pocnet import signing
from pocnet.beacon import ENTROPY_INTERVAL_S, entropy_data
from pocnet.keys import Keypair
from pocnet.wire import entropy_pb2

ENTROPY_VERSION = 1  # the rule of docs/protocol.md §4; bump if the derivation ever changes
SOURCE_LEN = 32
log = logging.getLogger(__name__)


class EntropyIssuer:
    def __init__(
        self,
        repo: Repository,
        keypair: Keypair,
        clock_s: Callable[[], float],
        source: Callable[[int], bytes] = os.urandom,
        interval_s: int = ENTROPY_INTERVAL_S,
        on_issue: Callable[[bytes, int], None] | None = None,
    ) -> None:
        self._repo = repo
        self._keypair = keypair
        self._clock_s = clock_s
        self._source = source
        self.interval_s = interval_s
        self._on_issue = on_issue
        self._current: entropy_pb2.Entropy | None = None

    def issue(self) -> entropy_pb2.Entropy:
        """Make, sign and durably store a new value; it is served only after the commit."""
        timestamp_s = int(self._clock_s())
        entropy = entropy_pb2.Entropy(
            data=entropy_data(timestamp_s, self._source(SOURCE_LEN)),
            timestamp=timestamp_s,
            version=ENTROPY_VERSION,
            oracle_key=self._keypair.public_key.to_bytes(),
        )
        signing.sign(entropy, self._keypair)
        self._repo.insert_entropy(
            EntropyRecord(
                entropy.data, timestamp_s, ENTROPY_VERSION, entropy.oracle_key,
                entropy.SerializeToString(),
            )
        )
        if self._on_issue is not None:
            self._on_issue(entropy.data, timestamp_s)
        self._current = entropy
        return entropy

    def current(self) -> entropy_pb2.Entropy:
        """The newest value, issuing one when none is fresh (e.g. right after start)."""
        if self._current is None or self._clock_s() - self._current.timestamp >= self.interval_s:
            return self.issue()
        return self._current

    async def run(self, stop: asyncio.Event) -> None:
        """Issue on schedule until `stop` is set."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.issue)
            except StorageError as exc:  # GetEntropy issues on demand meanwhile
                log.warning("entropy not issued, retrying in %d s: %s", self.interval_s, exc)
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
            except TimeoutError:
                pass
