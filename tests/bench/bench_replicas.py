"""Benchmark: N `pocnet-oracle serve` replicas on one PostgreSQL (issue 15, scale out).

A throwaway PostgreSQL cluster with fsync and synchronous commit on (the test suite's cluster
runs with fsync=off, which would make these figures meaningless) on a free loopback port;
N replicas on it, each its own process; this script is the load generator, a separate process
spreading report streams round-robin over the replicas (docs/protocol.md §1: session init,
witness reports signed by the session key, one ack per report after its commit). It reports
acked reports/s in total and per replica, CPU per report of the replicas and of PostgreSQL,
checks the row count against the acks, and measures the stored bytes per report and per
verdict (table, TOAST and indexes) for the sizing in docs/oracle.md.

    .venv/bin/python tests/bench/bench_replicas.py [--replicas 2] [--seconds 10] [--json]
    .venv/bin/python tests/bench/bench_replicas.py --sizes-from REPORTS.jsonl ORACLE.toml
    .venv/bin/python tests/bench/bench_replicas.py --idle-connections 2000
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc

# Run as a script, this folder is on sys.path: one load generator for both benchmarks.
from bench_ingest import LIMITS_LIFTED as INGEST_LIMITS_LIFTED
from bench_ingest import make_reports

from oracle.storage import open_repository
from pocnet import signing
from pocnet.keys import Keypair, create_keyfile
from pocnet.wire import entropy_pb2, ingest_pb2, service_pb2_grpc

STREAMS_PER_REPLICA = 16
IN_FLIGHT_PER_STREAM = 256
ASSUMED_MAX_RATE_PER_REPLICA = 6_000  # reports pre-signed per replica-second (never run out)
# One load generator, keys not onboarded: lift the per-key budgets, as bench_ingest does.
LIMITS_LIFTED = {**INGEST_LIMITS_LIFTED, "POCNET_ORACLE_VERIFIER_INTERVAL_S": "3600"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*cmd: str) -> list[str]:
    """initdb refuses to run as root: run the cluster as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


@contextmanager
def durable_cluster() -> Iterator[str]:
    """A PostgreSQL cluster with its defaults for durability (fsync, synchronous_commit,
    full_page_writes on), deleted afterwards; yields the URL of its `pocnet` database."""
    bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if not bindirs:
        raise SystemExit("bench_replicas: PostgreSQL server binaries not installed")
    bindir = Path(bindirs[0])
    base = Path(tempfile.mkdtemp(prefix="bench-replicas-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data, port = base / "data", _free_port()
    subprocess.run(_as_postgres(str(bindir / "initdb"), "-D", str(data), "-A", "trust",
                                "-U", "postgres", "-E", "UTF8"), check=True, capture_output=True)
    options = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=on "
               "-c synchronous_commit=on -c max_connections=200")
    subprocess.run(_as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
                                "-l", str(base / "log"), "-w", "start"),
                   check=True, capture_output=True)
    try:
        subprocess.run(_as_postgres(str(bindir / "createdb"), "-h", "127.0.0.1", "-p",
                                    str(port), "-U", "postgres", "pocnet"), check=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/pocnet"
    finally:
        subprocess.run(_as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast",
                                    "stop"), capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def start_replicas(url: str, key: Path, n: int) -> list[tuple[subprocess.Popen[str], int]]:
    """N `pocnet-oracle serve` processes on the database; (process, port) once each listens."""
    procs = []
    for i in range(n):
        env = dict(os.environ, POCNET_ORACLE_ORACLE_WORKER_ID=f"bench-{i}", **LIMITS_LIFTED)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "oracle.cli", "serve", "--listen", "127.0.0.1:0", "--json",
             "--database", url, "--key", str(key), "--log-level", "WARNING"],
            stdout=subprocess.PIPE, text=True, env=env))
    started = []
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("bench_replicas: a replica did not start")
        started.append((proc, int(json.loads(line)["port"])))
    return started


def make_streams(count: int, per_stream: int) -> list[tuple[Keypair, Keypair, list]]:  # type: ignore[type-arg]
    """Pre-signed witness reports per stream, as bench_ingest makes them (tag 0x15)."""
    return make_reports(count, per_stream, 0x15)


async def run_stream(port: int, device: Keypair, session: Keypair, reports: list,  # type: ignore[type-arg]
                     deadline: float) -> int:
    """Send until the deadline with a bounded window; every report sent is read back acked."""
    async with grpc.aio.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
        call = service_pb2_grpc.IngestServiceStub(channel).ReportStream()
        offer = await call.read()
        await call.write(ingest_pb2.StreamRequest(
            session_init=signing.session_init(device, offer.offer.nonce, session)))
        window = asyncio.Semaphore(IN_FLIGHT_PER_STREAM)
        sent = 0

        async def send() -> None:
            nonlocal sent
            for request in reports:
                if time.perf_counter() >= deadline:
                    break
                await window.acquire()
                await call.write(request)
                sent += 1
            await call.done_writing()

        sender = asyncio.create_task(send())
        acked = 0
        while not (sender.done() and acked == sent):
            response = await call.read()
            if response is grpc.aio.EOF:
                break
            acked += 1
            window.release()
        await sender
        return acked


async def load(ports: list[int], plans: list, seconds: float) -> tuple[list[int], float]:  # type: ignore[type-arg]
    """Streams spread round-robin over the replicas; acked reports per replica and elapsed s."""
    start = time.perf_counter()
    counts = await asyncio.gather(*(
        run_stream(ports[i % len(ports)], d, s, r, start + seconds)
        for i, (d, s, r) in enumerate(plans)))
    elapsed = time.perf_counter() - start
    per_replica = [sum(counts[i::len(ports)]) for i in range(len(ports))]
    return per_replica, elapsed


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by process `pid`."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def family_cpu_s(root: int) -> float:
    """CPU of `root` and every live descendant (signature helper; PostgreSQL's backends)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
    family, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        family.update(children)
        frontier += children
    total = 0.0
    for pid in family:
        try:
            total += cpu_s(pid)
        except OSError:
            continue
    return total


def postmaster_pid(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as db:
        data_dir = db.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
    return int(Path(data_dir, "postmaster.pid").read_text().split()[0])


def database_connections(url: str) -> int:
    """Connections the replicas hold open on the database (this query's own not counted)."""
    import psycopg

    with psycopg.connect(url) as db:
        row = db.execute("SELECT count(*) - 1 FROM pg_stat_activity "
                         "WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


async def open_idle(port: int, count: int, channels: list[grpc.aio.Channel]) -> None:
    """`count` connections of their own, each made by one GetEntropy call and then left idle,
    as a hotspot's between its reports."""
    async def one() -> None:
        channel = grpc.aio.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)])
        channels.append(channel)
        await service_pb2_grpc.EntropyServiceStub(channel).GetEntropy(
            entropy_pb2.EntropyRequest(), timeout=60)

    for start in range(0, count, 100):
        await asyncio.gather(*(one() for _ in range(min(100, count - start))))


def idle_connection_kb(count: int) -> dict[str, float]:
    """A replica's resident memory per idle connection (docs/oracle.md sizes connections)."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    create_keyfile(tmp / "oracle.key")
    with durable_cluster() as url:
        [(proc, port)] = start_replicas(url, tmp / "oracle.key", 1)

        async def measure() -> tuple[int, int]:
            channels: list[grpc.aio.Channel] = []
            try:
                await open_idle(port, 50, channels)  # warm: the first calls load code
                before = rss_kb(proc.pid)
                await open_idle(port, count, channels)
                await asyncio.sleep(1)
                return before, rss_kb(proc.pid)
            finally:
                for channel in channels:
                    await channel.close()

        try:
            before, after = asyncio.run(measure())
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    shutil.rmtree(tmp, ignore_errors=True)
    return {"connections": count, "rss_before_kb": before, "rss_after_kb": after,
            "kb_per_connection": (after - before) / count}


def table_sizes(url: str) -> dict[str, float]:
    """Rows and bytes on disk (table + TOAST + indexes, after VACUUM) per row of `reports`
    and `verdicts`, and the average tuple as stored (pg_column_size)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        out: dict[str, float] = {}
        for table in ("reports", "verdicts"):
            db.execute(f"VACUUM ANALYZE {table}")
            rows, total, heap, raw = db.execute(
                f"SELECT count(*), pg_total_relation_size('{table}'), "
                f"pg_relation_size('{table}'), avg(pg_column_size(t.*)) FROM {table} t"
            ).fetchone()  # type: ignore[misc]
            out[f"{table}_rows"] = rows
            out[f"{table}_bytes_per_row"] = total / max(1, rows)
            out[f"{table}_heap_bytes_per_row"] = heap / max(1, rows)
            out[f"{table}_tuple_bytes"] = float(raw or 0)
        return out


def bench_sizes(url: str) -> dict[str, float]:
    """Sizes after the load: every report first gets the verdict the 45-min sweep would give
    it (`stale`), so a verdict row is measured too."""
    repo = open_repository(url)
    try:
        repo.mark_stale(now_ms=2**62, stale_after_ms=0)
    finally:
        repo.close()
    return table_sizes(url)


def import_sizes(report_file: Path, config: Path) -> dict[str, float]:
    """Sizes of a real import: `pocnet-oracle import` of a report file (e.g. the one
    `pocnet-sim epochs --out DIR` keeps), then `pocnet-oracle verify`, into PostgreSQL."""
    with durable_cluster() as url:
        for command in (["import", str(report_file)], ["verify", "--json"]):
            done = subprocess.run([sys.executable, "-m", "oracle.cli", *command, "--config",
                                   str(config), "--database", url], capture_output=True,
                                  text=True)
            if done.returncode != 0:
                raise SystemExit(f"bench_replicas: {command[0]}: {done.stderr.strip()}")
        return table_sizes(url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--streams-per-replica", type=int, default=STREAMS_PER_REPLICA)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sizes-from", nargs=2, metavar=("REPORTS.jsonl", "ORACLE.toml"),
                        type=Path, help="only measure bytes per stored report and verdict of "
                        "an imported and verified report file, e.g. pocnet-sim epochs --out")
    parser.add_argument("--idle-connections", type=int, metavar="K",
                        help="only measure a replica's memory per idle connection, with K")
    args = parser.parse_args()
    if args.idle_connections:
        print(json.dumps(idle_connection_kb(args.idle_connections), indent=2))
        return 0
    if args.sizes_from:
        print(json.dumps(import_sizes(*args.sizes_from), indent=2))
        return 0
    if args.replicas < 1 or args.seconds <= 0:
        parser.error("--replicas must be >= 1 and --seconds > 0")
    streams = args.replicas * args.streams_per_replica
    per_stream = int(ASSUMED_MAX_RATE_PER_REPLICA * args.replicas * args.seconds / streams)
    if not args.json:
        print(f"signing {streams * per_stream} reports for {streams} streams ...", flush=True)
    plans = make_streams(streams, per_stream)
    tmp = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    create_keyfile(tmp / "oracle.key")  # replicas share the oracle key
    with durable_cluster() as url:
        replicas = start_replicas(url, tmp / "oracle.key", args.replicas)
        pg_pid = postmaster_pid(url)
        try:
            before = [family_cpu_s(p.pid) for p, _ in replicas] + [family_cpu_s(pg_pid)]
            load_before = os.getloadavg()
            per_replica, elapsed = asyncio.run(load([port for _, port in replicas], plans,
                                                    args.seconds))
            after = [family_cpu_s(p.pid) for p, _ in replicas] + [family_cpu_s(pg_pid)]
            load_after = os.getloadavg()
            connections = database_connections(url)
        finally:
            for proc, _ in replicas:
                proc.send_signal(signal.SIGTERM)
            for proc, _ in replicas:
                proc.wait(60)
        acked = sum(per_replica)
        sizes = bench_sizes(url)
    shutil.rmtree(tmp, ignore_errors=True)
    cpu = [b - a for a, b in zip(before, after, strict=True)]
    result = {
        "replicas": args.replicas, "streams": streams, "elapsed_s": elapsed,
        "acked": acked, "rate_per_s": acked / elapsed,
        "per_replica_rate_per_s": [n / elapsed for n in per_replica],
        "replica_cpu_us_per_report": 1e6 * sum(cpu[:-1]) / max(1, acked),
        "postgres_cpu_us_per_report": 1e6 * cpu[-1] / max(1, acked),
        "postgres_connections": connections,
        "stored_rows": sizes["reports_rows"], **sizes,
        "cpus": os.cpu_count(), "loadavg_before": load_before, "loadavg_after": load_after,
    }
    if sizes["reports_rows"] != acked:
        raise SystemExit(f"bench_replicas: {sizes['reports_rows']} rows for {acked} acks")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        rates = ", ".join(f"{r:.0f}" for r in result["per_replica_rate_per_s"])
        print(f"{args.replicas} replicas, {streams} streams: {result['rate_per_s']:.0f} acked "
              f"reports/s in total ({rates} per replica), {acked} in {elapsed:.1f} s; rows = "
              f"acks")
        print(f"CPU per report: replicas {result['replica_cpu_us_per_report']:.0f} µs, "
              f"PostgreSQL {result['postgres_cpu_us_per_report']:.0f} µs; "
              f"{connections} database connections")
        print(f"stored: {sizes['reports_bytes_per_row']:.0f} B per report, "
              f"{sizes['verdicts_bytes_per_row']:.0f} B per verdict (tables + indexes)")
        print(f"load average {load_before} -> {load_after} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
