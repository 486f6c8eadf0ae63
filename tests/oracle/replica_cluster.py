"""Oracle replicas as real processes for the scale-out tests: `pocnet-oracle serve` on one
database, and a round-robin TCP proxy standing in for the operator's load balancer."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

# Hotspots in these tests are not onboarded and send far faster than real ones: lift the
# per-key and not-onboarded budgets (each is per replica, docs/oracle.md "Sizing and replicas").
LIMITS_LIFTED = {
    "POCNET_ORACLE_RATE_LIMIT_PER_KEY_BURST": "1000000",
    "POCNET_ORACLE_RATE_LIMIT_PER_KEY_RATE_PER_S": "1000000",
    "POCNET_ORACLE_STREAMS_PER_PEER_PENDING": "64",
    "POCNET_ORACLE_NOT_ONBOARDED_REPORTS_PER_S": "1000000",
    "POCNET_ORACLE_NOT_ONBOARDED_REPORTS_BURST": "1000000",
    "POCNET_ORACLE_NOT_ONBOARDED_BYTES_PER_S": "1000000000",
    "POCNET_ORACLE_NOT_ONBOARDED_BYTES_BURST": "1000000000",
}


def start_replica(
    database: str, key: Path, worker: str, log: Path, settings: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start `pocnet-oracle serve` on 127.0.0.1 (any port), its log in the file `log` (a pipe
    nobody reads could fill and stall it); `listening_port` reads the port."""
    env = dict(os.environ, POCNET_ORACLE_ORACLE_WORKER_ID=worker, **LIMITS_LIFTED,
               **(settings or {}))
    with open(log, "ab") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "oracle.cli", "serve", "--listen", "127.0.0.1:0", "--json",
             "--database", database, "--key", str(key), "--log-level", "WARNING"],
            stdout=subprocess.PIPE, stderr=stderr, text=True, env=env,
        )


def listening_port(proc: subprocess.Popen[str], log: Path) -> int:
    """Block until the replica says it listens (after its migrations); its port."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"replica exited: {log.read_text(errors='replace')[-2000:]}")
    return int(json.loads(line)["port"])


class RoundRobinProxy:
    """A TCP load balancer in miniature: each new connection goes to the next backend in
    turn; a backend that refuses the connection (dead) is skipped for the next one."""

    def __init__(self, backends: list[int]) -> None:
        self._backends = backends
        self._turn = itertools.count()
        self.connections = [0] * len(backends)  # accepted connections per backend
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop accepting, end every piped connection and wait for their handlers."""
        if self._server is not None:
            self._server.close()
        for writer in self._open:
            writer.close()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _accept(self, client_r: asyncio.StreamReader,
                      client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        first = next(self._turn)
        for step in range(len(self._backends)):
            index = (first + step) % len(self._backends)
            try:
                backend_r, backend_w = await asyncio.open_connection(
                    "127.0.0.1", self._backends[index])
            except OSError:
                continue
            self.connections[index] += 1
            self._open.update((client_w, backend_w))
            await asyncio.gather(_pipe(client_r, backend_w), _pipe(backend_r, client_w))
            self._open.difference_update((client_w, backend_w))
            return
        client_w.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until either side ends, then close the sink (a dead backend resets its clients)."""
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except OSError:
        pass
    finally:
        sink.close()
