"""Benchmark (issue 10 "Done when"): an onboarded hotspot's p99 acknowledgement latency with and
without a flood of 100 fresh keys sending witness reports at full rate; target: within 2x.

The oracle runs as `pocnet-oracle serve` (SQLite, signature checks on, default limits: keys not
onboarded share 20 reports/s and 8 KiB/s, their refusals held 0.5-1 s, at most 50 at once and 32
of one address, further ones 15-30 s, 16 calls at once per connection) in its own process; the
flood runs in a second process (100 keys, unary calls, 128 in flight, its reports signed before
it starts, as an attacker signs on its own machines) and the hotspot in this one: one witness
report every 50 ms by unary call, each latency from call to acknowledgement. Afterwards the
database holds the hotspot's reports plus at most the shared budget's worth of the flood's. The
oracle's metrics endpoint says how many of the flood's refusals the tarpit held and how many it
answered at once because it was full.

Two flooders: `batch` (128 calls, the next 128 when all are answered: a client that waits for
its answers) and `pipeline` (128 callers, each sending again as soon as it is answered: more
calls in flight than the tarpit holds). `--connections K` spreads the flooder's calls over K
connections of its own (the oracle lets one connection carry 16 calls at once by default, and a
client queues the rest). `--deadline` is the flooder's deadline per call: shorter than the
tarpit's delay, the flooder gives up on its held calls and sends again. `--env NAME=VALUE`
passes settings to the oracle, e.g. `POCNET_ORACLE_NOT_ONBOARDED_REFUSAL_DELAY_S=0` to answer
refusals at once.

The oracle has its hotspot listener (`connections.hotspot_listen`, on by default: here on a
free port rather than the default's 7081) and the hotspot sends there, as hotspots do by
default; the flooder sends there too (the public address), or with `--flood-target main` to
the first listener (`oracle.listen`, for tools). `--no-hotspot-listener` turns it off
(`hotspot_listen = ""`, the default before it was on): the hotspot and the flooder then share
the first listener. A hotspot call that fails is counted by its status (`hotspot_failed`) and
left out of the latencies: a flooder whose deadline is shorter than the tarpit's delay had
gRPC cancel the hotspot's calls on the first listener.

    .venv/bin/python tests/bench/bench_flood.py [--seconds 10] [--mode batch|pipeline]
        [--in-flight 128] [--connections 1] [--deadline 30] [--no-hotspot-listener]
        [--flood-target hotspot|main] [--flooder-nice N] [--env NAME=VALUE ...] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import socket
import sqlite3
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "oracle"))
from bench_ingest import start_server
from oracle_factories import allow_maker, assertion, keypair, witness_report

from oracle.storage import open_repository
from pocnet.wire import service_pb2_grpc

PER_KEY_LIFTED = {  # the per-key limit is no obstacle: only the shared budget holds the flood
    "POCNET_ORACLE_RATE_LIMIT_PER_KEY_RATE_PER_S": "1000",
    "POCNET_ORACLE_RATE_LIMIT_PER_KEY_BURST": "1000",
}

FRESH_KEYS = 100
IN_FLIGHT = 128
HOTSPOT_INTERVAL_S = 0.05


SUBMIT_WITNESS = "/pocnet.v1.IngestService/SubmitWitness"


def signed_ahead(count: int) -> list[bytes]:
    """The flood's reports, signed before it starts: an attacker signs on its own machines, so
    its signing must not compete with the oracle for this machine's two cores (issue 15's load
    generator pre-signs for the same reason). Distinct timestamps: each is a new report."""
    keys = [keypair(50_000 + i) for i in range(FRESH_KEYS)]
    return [witness_report(keys[i % FRESH_KEYS], timestamp_ns=i + 1).SerializeToString()
            for i in range(count)]


def own_connection(port: int, aio: bool = False) -> Any:
    """A channel on a TCP connection of its own (grpc shares one per target by default)."""
    options = [("grpc.use_local_subchannel_pool", 1)]
    make = grpc.aio.insecure_channel if aio else grpc.insecure_channel
    return make(f"127.0.0.1:{port}", options=options)


def flood(port: int, seconds: float, in_flight: int, connections: int, deadline_s: float,
          ready: Any, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Batches: `in_flight` calls at once, round-robin over the connections, the next batch
    when all are answered."""
    reports = signed_ahead(in_flight * 64)  # about 12 batches in 10 s with the tarpit
    sent = acked = 0
    channels = [own_connection(port) for _ in range(connections)]
    try:
        submits = [c.unary_unary(SUBMIT_WITNESS) for c in channels]
        for c in channels:
            grpc.channel_ready_future(c).result(timeout=60)
        ready.set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            batch = [submits[i % connections].future(reports[(sent + i) % len(reports)],
                                                      timeout=deadline_s)
                     for i in range(in_flight)]
            sent += len(batch)
            acked += sum(f.exception() is None for f in batch)
    finally:
        for c in channels:
            c.close()
    out.put({"sent": sent, "acked": acked})


def pipeline(port: int, seconds: float, in_flight: int, connections: int, deadline_s: float,
             ready: Any, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """A harder flooder: `in_flight` callers, each sending its next call as soon as its last
    is answered, so that no call waits for a slow neighbour (grpc.aio; caller i on
    connection i mod `connections`)."""
    counts = {"sent": 0, "acked": 0, "stuck": 0}
    reports = signed_ahead(4096)

    async def run() -> None:
        channels = [own_connection(port, aio=True) for _ in range(connections)]
        try:
            submits = [c.unary_unary(SUBMIT_WITNESS) for c in channels]
            await asyncio.gather(*(c.channel_ready() for c in channels))
            ready.set()
            deadline = time.monotonic() + seconds

            async def caller(i: int) -> None:
                submit = submits[i % connections]
                while time.monotonic() < deadline:
                    n = counts["sent"]
                    counts["sent"] += 1
                    try:  # the same bytes again are duplicates: acked, not stored twice
                        await submit(reports[(n * 7 + i) % len(reports)], timeout=deadline_s)
                        counts["acked"] += 1
                    except grpc.aio.AioRpcError:
                        pass

            callers = [asyncio.create_task(caller(i)) for i in range(in_flight)]
            # Bounded: in some runs with a short deadline a few calls never ended (grpcio
            # 1.85), which kept the flooder, and the bench, waiting for good.
            _, stuck = await asyncio.wait(callers, timeout=seconds + 10)
            counts["stuck"] = len(stuck)
            for task in stuck:
                task.cancel()
        finally:
            await asyncio.wait([asyncio.create_task(c.close()) for c in channels], timeout=10)

    asyncio.run(run())
    out.put(counts)


def niced(increment: int, target: Any, *args: Any) -> None:
    """`target(*args)` at a lower priority (`--flooder-nice`): on this machine the flooder takes
    a core of the same two the oracle and the hotspot run on, which an attacker's own machines
    would not; niced, it takes what they leave, so the difference says how much of the
    hotspot's latency is the flooder's CPU rather than the oracle's work."""
    if increment:
        os.nice(increment)
    target(*args)


def hotspot_latencies(port: int, seconds: float, tag: int,
                      failed: Counter[str] | None = None) -> list[float]:
    """One report every 50 ms; the latencies of those acknowledged. A failed call is counted in
    `failed` by its status (without `failed`, it ends the bench)."""
    hotspot = keypair(77)
    latencies = []
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        submit = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness
        deadline = time.monotonic() + seconds
        i = 0
        while time.monotonic() < deadline:
            report = witness_report(hotspot, timestamp_ns=tag * 1_000_000 + i + 1)
            start = time.perf_counter()
            try:
                submit(report, timeout=30)
                latencies.append(time.perf_counter() - start)
            except grpc.RpcError as exc:
                if failed is None:
                    raise
                failed[exc.code().name] += 1
            i += 1
            time.sleep(max(0.0, HOTSPOT_INTERVAL_S - (time.perf_counter() - start)))
    return latencies


def cpu_s(pid: int) -> float:
    """CPU seconds a process has used (user + system; Linux /proc). Of the oracle's main
    process (its event loop; not its signature helpers), per phase: what the flood costs the
    loop, which other load on a shared machine changes much less than latencies."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> dict[str, float]:
    """The oracle's metrics without labels (name -> value), from its /metrics endpoint."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        lines = reply.read().decode().splitlines()
    return {name: float(value) for name, _, value in
            (line.partition(" ") for line in lines if line and not line.startswith("#"))
            if "{" not in name}


def p(latencies: list[float], q: float) -> float:
    """The q-quantile in ms (NaN with no acknowledged call at all)."""
    ordered = sorted(latencies)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--mode", choices=("batch", "pipeline"), default="batch",
                        help="batch: IN_FLIGHT calls, then the next batch when all are "
                             "answered; pipeline: each of IN_FLIGHT callers sends its next "
                             "call as soon as its last is answered")
    parser.add_argument("--in-flight", type=int, default=IN_FLIGHT)
    parser.add_argument("--connections", type=int, default=1,
                        help="the flooder's calls spread over this many connections")
    parser.add_argument("--deadline", type=float, default=30.0,
                        help="the flooder's deadline per call, seconds: a short one gives up "
                             "on held refusals (the client cancels) and sends again")
    parser.add_argument("--no-hotspot-listener", dest="hotspot_listener",
                        action="store_false",
                        help="the oracle without its hotspot listener (connections."
                             "hotspot_listen = \"\"): hotspot and flooder on the first")
    parser.add_argument("--flood-target", choices=("hotspot", "main"), default="hotspot",
                        help="the listener the flooder sends to: the hotspot listener (the "
                             "public address, default) or the first (oracle.listen)")
    parser.add_argument("--flooder-nice", type=int, default=0, metavar="N",
                        help="run the flooder process at nice N (0-19; default 0: the same "
                             "priority as the oracle)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="more settings for the oracle (POCNET_ORACLE_...)")
    args = parser.parse_args()
    if not args.hotspot_listener:
        args.flood_target = "main"  # the only listener
    load_start = os.getloadavg()[0]  # a shared machine: the figures say how busy it was
    tmp = Path(tempfile.mkdtemp(prefix="bench-flood-"))
    metrics_port = free_port()
    hotspot_port = free_port() if args.hotspot_listener else 0
    listener = {"POCNET_ORACLE_CONNECTIONS_HOTSPOT_LISTEN":
                f"127.0.0.1:{hotspot_port}" if hotspot_port else ""}
    proc, port = start_server(tmp, {**PER_KEY_LIFTED,
                                    "POCNET_ORACLE_METRICS_LISTEN": f"127.0.0.1:{metrics_port}",
                                    "POCNET_ORACLE_PAYOUT_LEDGER": str(tmp / "ledger.db"),
                                    **listener, **dict(e.split("=", 1) for e in args.env)})
    hotspot_at = hotspot_port if args.hotspot_listener else port
    flood_at = hotspot_at if args.flood_target == "hotspot" else port
    failed_quiet: Counter[str] = Counter()
    failed_flood: Counter[str] = Counter()
    try:
        repo = open_repository(f"sqlite:///{tmp / 'oracle.db'}")
        allow_maker(repo)  # the onboarded hotspot's maker, as the operator allowlists it
        repo.close()
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            service_pb2_grpc.RegistryServiceStub(channel).AssertLocation(
                assertion(keypair(77), keypair(78)), timeout=30)
        hotspot_latencies(hotspot_at, 1.0, 0)  # warm up
        cpu0 = cpu_s(proc.pid)
        quiet = hotspot_latencies(hotspot_at, args.seconds, 1, failed_quiet)
        cpu1 = cpu_s(proc.pid)
        out: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        ready = multiprocessing.Event()
        flooder = multiprocessing.Process(
            target=niced, args=(args.flooder_nice, flood if args.mode == "batch" else pipeline,
                                flood_at, args.seconds + 1.0, args.in_flight, args.connections,
                                args.deadline, ready, out))
        flooder.start()
        if not ready.wait(120):
            raise RuntimeError("the flooder did not get ready")
        time.sleep(0.5)  # the flood under way
        started = time.monotonic()
        cpu2 = cpu_s(proc.pid)
        loud = hotspot_latencies(hotspot_at, args.seconds, 2, failed_flood)
        cpu3 = cpu_s(proc.pid)
        flood_result = out.get(timeout=120)
        flooder.join(60)
        elapsed = time.monotonic() - started + 1.5
        tarpit = scrape(metrics_port)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    with sqlite3.connect(tmp / "oracle.db") as db:
        others, size = db.execute(
            "SELECT count(*), coalesce(sum(length(raw)), 0) FROM reports WHERE hotspot_key <> ?",
            (keypair(77).public_key.to_bytes(),)).fetchone()
    result = {
        "mode": args.mode, "in_flight": args.in_flight, "connections": args.connections,
        "flood_deadline_s": args.deadline, "hotspot_listener": args.hotspot_listener,
        "flood_target": args.flood_target, "flooder_nice": args.flooder_nice,
        "load_1min_start": load_start, "load_1min_end": os.getloadavg()[0],
        "quiet_p50_ms": p(quiet, 0.5), "quiet_p99_ms": p(quiet, 0.99),
        "flood_p50_ms": p(loud, 0.5), "flood_p99_ms": p(loud, 0.99),
        "quiet_p95_ms": p(quiet, 0.95), "flood_p95_ms": p(loud, 0.95),
        "quiet_max_ms": p(quiet, 1.0), "flood_max_ms": p(loud, 1.0),
        "p99_ratio": p(loud, 0.99) / p(quiet, 0.99),
        "oracle_cpu_quiet_pct": 100 * (cpu1 - cpu0) / args.seconds,
        "oracle_cpu_flood_pct": 100 * (cpu3 - cpu2) / args.seconds,
        "hotspot_reports": len(quiet) + len(loud),
        "hotspot_calls_quiet": len(quiet) + sum(failed_quiet.values()),
        "hotspot_calls_flood": len(loud) + sum(failed_flood.values()),
        "hotspot_failed_quiet": dict(failed_quiet), "hotspot_failed_flood": dict(failed_flood),
        "flood_sent": flood_result["sent"], "flood_acked": flood_result["acked"],
        "flood_stuck_calls": flood_result.get("stuck", 0),
        "flood_refusals_answered_at_once": int(
            tarpit["pocnet_oracle_refusals_answered_at_once_total"]),
        "flood_stored": others, "flood_stored_bytes": size,
        "budget_allows_reports": 200 + 20 * elapsed, "budget_allows_bytes": 81920 + 8192 * elapsed,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:24} {value:.1f}" if isinstance(value, float) else f"{key:24} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
