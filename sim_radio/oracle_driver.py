"""Driving a real oracle from the simulator: its commands (`pocnet-oracle ... --json`) and its
gRPC Query service, never its code (the simulator imports nothing of `oracle`:
docs/architecture.md).

`start_oracle` is the one place a throw-away oracle is set up (its key, settings, database),
so a change in how oracle commands find their settings is adapted here alone. The oracle
issues the network's entropy; here the simulator holds the oracle's key file it created, and
signs the entropy of simulated time with it, which `pocnet-oracle import` accepts because it is
this oracle's key.
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pocnet.keys import Keypair, Network, create_keyfile

COMMAND_TIMEOUT_S = 3600.0  # verification of a 10,000-hotspot day takes minutes, not hours
SERVE_READY_TIMEOUT_S = 120.0
SERVE_STOP_TIMEOUT_S = 30.0


class OracleCommandError(RuntimeError):
    """An oracle command failed; carries its one-line error."""


def oracle_command() -> list[str]:
    """`pocnet-oracle` beside this interpreter (a virtualenv's bin), else on PATH."""
    beside = Path(sys.executable).with_name("pocnet-oracle")
    return [str(beside)] if beside.exists() else ["pocnet-oracle"]


@dataclass(frozen=True)
class Oracle:
    workdir: Path
    config: Path
    key: Keypair
    ledger: Path

    def run(self, *args: str, timeout_s: float = COMMAND_TIMEOUT_S,
            stdin: str | None = None, cpu: CpuTime | None = None) -> Any:
        """Run one command with `--config` and `--json`; its JSON output, parsed. `cpu`
        collects the CPU seconds the command (with its worker processes) used."""
        with self.started(*args, cpu=cpu) as proc:
            assert proc.stdin is not None and proc.stdout is not None
            try:
                if stdin:
                    proc.stdin.write(stdin.encode())
                proc.stdin.close()
            except BrokenPipeError:
                pass  # it ended early; its error says why
            return json.loads(_finish(proc, args, timeout_s, cpu))

    @contextmanager
    def started(self, *args: str, cpu: CpuTime | None = None
                ) -> Iterator[subprocess.Popen[bytes]]:
        """A command running for the block, its standard input open for the block to write
        (e.g. `import -` fed while the simulation goes on); killed if the block fails."""
        argv = [*oracle_command(), *args, "--config", str(self.config), "--json"]
        err = tempfile.TemporaryFile()  # not a pipe: a chatty command must never block on it
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=err)
        except FileNotFoundError:
            err.close()
            raise OracleCommandError("pocnet-oracle is not installed (pip install "
                                     "'pocnet[oracle]')") from None
        proc.stderr = err  # type: ignore[assignment]  # read by _finish
        try:
            yield proc
        except BaseException:
            if proc.returncode is None:
                proc.kill()
                proc.wait()
            raise
        finally:
            if proc.stdout is not None:
                proc.stdout.close()
            err.close()

    def stream(self, *args: str, cpu: CpuTime | None = None) -> Streamed:
        """`started`, with what `run` makes of the end: for a command fed while it runs."""
        return Streamed(self, args, cpu)


    @contextmanager
    def serving(self, cpu: CpuTime | None = None) -> Iterator[str]:
        """`pocnet-oracle serve` on a loopback port for the block; yields HOST:PORT. `cpu`
        collects its CPU seconds once it has stopped."""
        argv = [*oracle_command(), "serve", "--config", str(self.config), "--json",
                "--listen", "127.0.0.1:0", "--log-level", "WARNING"]
        # Its hotspot listener on a free port too, whatever the caller's environment names for
        # an oracle of its own (POCNET_ORACLE_CONNECTIONS_HOTSPOT_LISTEN): that one holds it.
        env = {**os.environ, "POCNET_ORACLE_CONNECTIONS_HOTSPOT_LISTEN": "127.0.0.1:0"}
        log = open(self.workdir / "serve.log", "ab")
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        try:
            line = _first_line(proc, SERVE_READY_TIMEOUT_S)
            yield json.loads(line)["listening"]
        finally:
            if proc.poll() is None:  # (poll reaps one that ended on its own)
                proc.send_signal(signal.SIGTERM)
                timer = threading.Timer(SERVE_STOP_TIMEOUT_S, proc.kill)
                timer.start()
                try:
                    _, status, usage = os.wait4(proc.pid, 0)
                finally:
                    timer.cancel()
                proc.returncode = os.waitstatus_to_exitcode(status)
                if cpu is not None:
                    cpu.add("serve", usage)
            if proc.stdout is not None:
                proc.stdout.close()
            log.close()


@dataclass
class CpuTime:
    """CPU seconds (user + system) of the commands run with it, by command name."""

    seconds: dict[str, float]

    def add(self, name: str, usage: Any) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + usage.ru_utime + usage.ru_stime


class Streamed:
    """One command whose standard input is written while it runs (`with ... as write`);
    `result` holds its JSON output once the block has ended.

    `write` hands its chunk to a thread of this object's, which writes it into the command's
    pipe, and returns at once unless `depth` chunks are already waiting: a producer that
    builds the next chunk while the command still reads the last one (the simulator's next
    window while `import` checks this one) would otherwise wait on the pipe for every chunk
    but the last 64 KB of it, and the two would take turns on the cores instead of sharing
    them."""

    def __init__(self, oracle: Oracle, args: tuple[str, ...], cpu: CpuTime | None,
                 depth: int = 2) -> None:
        self._oracle, self._args, self._cpu = oracle, args, cpu
        self._block: Any = None
        self._chunks: queue.Queue[bytes | None] = queue.Queue(depth)
        self._feeder: threading.Thread | None = None
        self._broken = False  # the command closed its input: what is left is dropped
        self.result: Any = None

    @property
    def pid(self) -> int:
        return int(self._proc.pid)

    def __enter__(self) -> Callable[[bytes], None]:
        self._block = self._oracle.started(*self._args, cpu=self._cpu)
        self._proc = self._block.__enter__()
        _widen_pipe(self._proc.stdin)
        self._feeder = threading.Thread(target=self._feed, daemon=True,
                                        name=f"feed-{self._args[0]}")
        self._feeder.start()

        def write(data: bytes) -> None:
            if self._broken:  # it ended early: its error says why
                self._stop_feeding()
                _finish(self._proc, self._args, COMMAND_TIMEOUT_S, self._cpu)
                raise OracleCommandError(f"pocnet-oracle {self._args[0]} ended early")
            self._chunks.put(data)

        return write

    def _feed(self) -> None:
        """The feeder thread: chunks into the pipe in order until the end (None); once the
        pipe is broken, the rest is taken and dropped, so `write` never waits on it."""
        stdin = self._proc.stdin
        while (data := self._chunks.get()) is not None:
            if self._broken:
                continue
            try:
                stdin.write(data)
            except (BrokenPipeError, ValueError):  # ended, or its pipe closed by a kill
                self._broken = True

    def _stop_feeding(self) -> None:
        """The end to the feeder, once every chunk handed in has been written (or dropped)."""
        if self._feeder is not None:
            self._chunks.put(None)
            self._feeder.join()
            self._feeder = None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool | None:
        try:
            if kind is None:
                self._stop_feeding()
                try:
                    self._proc.stdin.close()
                except BrokenPipeError:
                    pass
                self.result = json.loads(_finish(self._proc, self._args, COMMAND_TIMEOUT_S,
                                                 self._cpu))
        except BaseException as error:
            self._abandon()
            self._block.__exit__(type(error), error, error.__traceback__)
            raise
        if kind is not None:
            self._abandon()
        return self._block.__exit__(kind, exc, tb)

    def _abandon(self) -> None:
        """A failed block: the command is killed, so a feeder stuck on its full pipe is
        released (the pipe breaks), and takes the rest without writing it."""
        if self._proc.returncode is None:
            self._proc.kill()
        self._broken = True
        self._stop_feeding()


def _widen_pipe(stream: Any) -> None:
    """The pipe's buffer at the size Linux lets a user set (1 MiB by default, not 64 KiB):
    fewer wake-ups of the writer and the reader for the same bytes. Elsewhere, or when
    refused, the pipe stays as it is."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is None:
        return
    try:
        limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
        fcntl.fcntl(stream.fileno(), set_size, limit)
    except (OSError, ValueError):
        pass


def _finish(proc: subprocess.Popen[bytes], args: Sequence[str], timeout_s: float,
            cpu: CpuTime | None) -> bytes:
    """Its standard output once it has ended well; OracleCommandError with its last line of
    standard error otherwise. Reaped with wait4 for its CPU time (workers included)."""
    assert proc.stdout is not None
    timer = threading.Timer(timeout_s, proc.kill)
    timer.start()
    try:
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if cpu is not None:
        cpu.add(args[0], usage)
    if proc.returncode != 0:
        err = proc.stderr
        err.seek(0)  # type: ignore[union-attr]
        text = err.read().decode(errors="replace")  # type: ignore[union-attr]
        last = (text.strip().splitlines() or ["(no message)"])[-1]
        raise OracleCommandError(f"pocnet-oracle {' '.join(args[:2])}: {last}")
    return out


def _first_line(proc: subprocess.Popen[str], timeout_s: float) -> str:
    import selectors

    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout_s):
            raise OracleCommandError(f"pocnet-oracle serve not ready after {timeout_s:g} s")
    line = proc.stdout.readline()
    if not line:
        raise OracleCommandError("pocnet-oracle serve ended before it was ready (serve.log)")
    return line


def start_oracle(workdir: Path, epoch_s: int, stale_after_s: int = 45 * 60,
                 network: str = "testnet") -> Oracle:
    """A fresh oracle in `workdir` (oracle.key, oracle.db, oracle.toml): its own key, SQLite,
    epochs of `epoch_s`; testnet unless the hotspots it serves hold mainnet keys."""
    workdir.mkdir(parents=True, exist_ok=True)
    key_path = workdir / "oracle.key"
    if key_path.exists():
        raise OracleCommandError(f"{workdir} already holds an oracle; give an empty --out")
    key = create_keyfile(key_path, Network[network.upper()])
    config = workdir / "oracle.toml"
    config.write_text(
        "[oracle]\n"
        f"network = {json.dumps(network)}\n"
        f"key = {json.dumps(str(key_path))}\n"
        f"database = {json.dumps('sqlite:///' + str(workdir / 'oracle.db'))}\n"
        "[verifier]\n"
        f"stale_after_s = {stale_after_s}\n"
        "[network]\n"
        f"epoch_s = {epoch_s}\n"
        # Simulated history lies in the past: keep its raw reports for the read-back.
        "[retention]\n"
        "raw_days = 36500\n"
    )
    os.chmod(config, 0o600)
    oracle = Oracle(workdir, config, key, workdir / "payout-ledger.db")
    # As an operator starts a network: an empty import with --create makes the database.
    oracle.run("import", "-", "--create", stdin="")
    return oracle


# Rows a StreamVerdicts page holds: the server's largest page (oracle/storage/views.py), so a
# week of a 2,000-hotspot network (2.7 million verdicts) is ~170 messages; each call the server
# ends after its 262,144 rows is resumed after its last row. A call's own deadline is the
# server's bound on it (60 s) with room.
VERDICT_PAGE_ROWS = 16_384
VERDICT_CALL_TIMEOUT_S = 120.0
_NO_END_MS = 2**63 - 1


def query_verdicts(address: str, from_ms: int = 0, to_ms: int = _NO_END_MS
                   ) -> dict[bytes, tuple[bool, str]]:
    """report id -> (valid, reason name; "" when valid) of every verdict of a report received
    in [from_ms, to_ms), read through the Query service's StreamVerdicts: pages of compact rows,
    no report and no call per PoC."""
    import grpc

    from pocnet.wire import service_pb2, service_pb2_grpc, verdict_pb2

    names = {v.number: v.name for v in verdict_pb2.InvalidReason.DESCRIPTOR.values}
    outcome: dict[tuple[bool, int], tuple[bool, str]] = {}

    def of(valid: bool, reason: int) -> tuple[bool, str]:
        return (True, "") if valid else (False, names.get(reason, str(reason)))

    out: dict[bytes, tuple[bool, str]] = {}
    after: dict[str, Any] = {}
    with grpc.insecure_channel(address) as channel:
        stub = service_pb2_grpc.QueryServiceStub(channel)
        while True:
            request = service_pb2.VerdictRowsRequest(
                from_ms=from_ms, to_ms=to_ms, page_rows=VERDICT_PAGE_ROWS, **after)
            last = None
            for page in stub.StreamVerdicts(request, timeout=VERDICT_CALL_TIMEOUT_S):
                pairs = list(zip(page.valid, page.reasons, strict=True))
                for pair in set(pairs) - outcome.keys():
                    outcome[pair] = of(*pair)
                out.update(zip(page.report_ids, map(outcome.__getitem__, pairs), strict=True))
                last = page
            if last is None or not last.more:
                return out
            after = {"after_received_ms": last.received_ms[-1],
                     "after_report_id": last.report_ids[-1]}
