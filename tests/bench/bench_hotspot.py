"""Hotspot daemon benchmark (issues 5 and 15): memory after simulated days, idle CPU, startup,
and what each dependency costs.

Run: .venv/bin/python tests/bench/bench_hotspot.py [--hours 24] [--idle-s 20] [--starts 3] [--json]

1. Memory: a fresh interpreter runs the whole daemon (`hotspot.app.run_daemon`) on a fake
   clock with a SimRadio and a peer radio putting a new beacon plus ten ordinary LoRaWAN
   frames on the air every 10 s of simulated time; the daemon witnesses and uploads them all to
   a real gRPC oracle (the test suite's sink, which verifies and stores every report) that runs
   in this, the parent, process, so the figure is the daemon's alone. The sink reads the
   daemon's fake time from a small shared file. Resident memory (VmRSS, and the peak VmHWM) is
   read from /proc/self/status every simulated hour and at the end.
2. Idle CPU: a real `pocnet-hotspot run` subprocess, ready and idle, sampled from
   /proc/PID/stat (utime + stime) over --idle-s seconds.
3. Start to ready: wall time from spawning `pocnet-hotspot run` to its "ready" log line.
4. Imports: each dependency imported alone in a fresh interpreter (its cost by itself), and the
   daemon's own chain imported step by step in one interpreter (what each adds on top of what
   came before), both as VmRSS deltas; and which optional heavy modules the daemon loaded.
Targets (issue 15): RSS <= 40 MB after 24 simulated hours, idle CPU <= 1 % of one core, start
to ready <= 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "hotspot"))

STEP_S = 10


def _status_kb(field: str, pid: str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


# Modules a small hotspot must not load unless its configuration uses them (issue 15).
# grpc (grpcio) is the oracle's; the hotspot's client is grpclib.
OPTIONAL_HEAVY = ("cryptography", "prometheus_client", "pyubx2", "pynmeagps", "serial", "numpy",
                  "h3", "shapely", "http.server", "email", "grpc")


class _SharedTime:
    """The daemon's fake time, published for the sink oracle in the parent process (8 bytes,
    little endian ns, in a file both open)."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def write_ns(self, now_ns: int) -> None:
        os.pwrite(self._fd, now_ns.to_bytes(8, "little"), 0)

    def read_s(self) -> int:
        return int.from_bytes(os.pread(self._fd, 8, 0), "little") // 1_000_000_000


def child_simulation(hours: float, endpoint: str, time_file: str) -> None:
    """Runs in its own interpreter, with no oracle in it, so the figure is the daemon's."""
    from hotspot_testkit import eventually, make_settings

    from firmware_bridge.types import TxPacket
    from hotspot.app import run_daemon
    from hotspot.clock import FakeClock
    from hotspot.outbox import Outbox
    from pocnet.beacon import on_air_frame
    from sim_radio.air import LoopbackAir
    from sim_radio.radio import SimRadio

    shared = _SharedTime(Path(time_file))

    class PublishedClock(FakeClock):
        """FakeClock whose every step is visible to the sink (it signs entropy at that time)."""

        @property
        def _now_ns(self) -> int:
            return self._published_ns

        @_now_ns.setter
        def _now_ns(self, value: int) -> None:
            self._published_ns = value
            shared.write_ns(value)

    tmp = Path(tempfile.mkdtemp(prefix="bench-hotspot-"))
    clock = PublishedClock()
    conf = make_settings(tmp, endpoint, log={"level": "warning"})
    ready_rss: list[int] = []
    daemon_metrics: list = []

    def on_ready(metrics: object) -> None:
        ready_rss.append(_status_kb("VmRSS"))
        daemon_metrics.append(metrics)

    async def go() -> dict:
        air = LoopbackAir()
        peer = SimRadio(air, "peer", clock.now_ns)
        await peer.start()
        stop = asyncio.Event()
        daemon = asyncio.create_task(run_daemon(
            conf, clock=clock, rng=random.Random(5), air=air, shutdown=stop,
            on_ready=on_ready))
        await eventually(lambda: bool(ready_rss))
        box = Outbox(conf.outbox.path)
        (metrics,) = daemon_metrics

        def witnessed() -> float:
            counter = metrics.witnesses_sent
            # Before issue 15 the counter was prometheus_client's: the same script measures
            # the older commits for the before/after figures.
            return counter.get() if hasattr(counter, "get") else counter._value.get()

        rng = random.Random(9)
        steps = int(hours * 3600 / STEP_S)
        samples = []
        for step in range(steps):
            # The medium is a test fixture: keep its record of every frame out of the figure.
            air.sent.clear()
            if step % 360 == 0:
                samples.append(round(_status_kb("VmRSS") / 1024, 1))
            await peer.transmit(TxPacket(on_air_frame(rng.randbytes(51)), 867_500_000,
                                         "SF12BW125", 14))
            for _ in range(10):
                await peer.transmit(TxPacket(b"\x40" + rng.randbytes(30), 868_100_000,
                                             "SF7BW125", 14))
            await clock.advance(STEP_S)
            # Fake time must not outrun the disk: the step is done once its beacon is witnessed
            # (committed on the outbox's worker thread) and every report acknowledged.
            await eventually(lambda n=step + 1: witnessed() >= n and box.depth() == 0,
                             timeout_s=30)
        rss = _status_kb("VmRSS")
        hwm = _status_kb("VmHWM")
        anon = _status_kb("RssAnon")
        threads = _status_kb("Threads")
        stop.set()
        await daemon
        loaded = sorted(m for m in OPTIONAL_HEAVY if m in sys.modules)
        return {"ready_rss_kb": ready_rss[0], "rss_kb": rss, "hwm_kb": hwm,
                "rss_anon_kb": anon, "threads": threads, "drops": box.drops(), "hours": hours,
                "hourly_rss_mb": samples, "optional_heavy_loaded": loaded}

    print(json.dumps(asyncio.run(go())))


def measure_memory(hours: float) -> dict:
    from hotspot_sink_oracle import SinkOracle, SinkServer

    with tempfile.TemporaryDirectory(prefix="bench-hotspot-time-") as tmp:
        time_file = Path(tmp) / "now"
        shared = _SharedTime(time_file)
        shared.write_ns(0)
        oracle = SinkOracle(now_s=shared.read_s)
        server = SinkServer(oracle).start()
        try:
            out = subprocess.run([sys.executable, __file__, "--child-sim", str(hours),
                                  server.endpoint, str(time_file)], cwd=ROOT,
                                 capture_output=True, text=True)
        finally:
            server.stop()
        if out.returncode != 0:
            raise RuntimeError(f"simulation failed:\n{out.stderr[-3000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
        with oracle.lock:
            kinds = [kind for kind, _ in oracle.stored.values()]
        result["witnesses"] = kinds.count("witness")
        result["beacons"] = kinds.count("beacon")
        return result


# What the daemon imports, in the order it first needs it: each step's cost is what it adds
# on top of the steps before (shared modules are counted once, where first loaded).
IMPORT_CHAIN = (
    ("asyncio (+ ssl, libcrypto)", "import asyncio"),
    ("sqlite3", "import sqlite3"),
    ("protobuf + wire messages", "import pocnet.wire.reports_pb2, pocnet.wire.service_pb2"),
    ("pynacl + base58 (pocnet.keys)", "import pocnet.keys"),
    ("grpclib client + h2 + stubs", "import grpclib.client, pocnet.wire.service_grpc"),
    ("hotspot daemon code (hotspot.app)", "import hotspot.app"),
)
# Each dependency by itself, in a fresh interpreter (includes what it shares with the others).
IMPORT_ALONE = (
    ("asyncio", "import asyncio"),
    ("ssl", "import ssl"),
    ("grpc + grpc.aio (grpcio, the oracle's)", "import grpc, grpc.aio"),
    ("grpclib client + h2 + stubs", "import grpclib.client, pocnet.wire.service_grpc"),
    ("cryptography Ed25519", "import cryptography.hazmat.primitives.asymmetric.ed25519"),
    ("pynacl signing", "import nacl.bindings"),
    ("prometheus_client", "import prometheus_client"),
    ("pyubx2", "import pyubx2"),
    ("pyserial", "import serial"),
    ("numpy", "import numpy"),
    ("protobuf + wire messages", "import pocnet.wire.reports_pb2, pocnet.wire.service_pb2"),
    ("hotspot.app (everything the daemon imports)", "import hotspot.app"),
)
_IMPORT_PROBE = """
import json, sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
steps = json.loads(sys.argv[1])
out = [rss()]
for code in steps:
    try:
        exec(code)
    except ImportError:
        out.append(None)
        continue
    out.append(rss())
print(json.dumps(out))
"""


def _probe_imports(codes: list[str]) -> list[int | None]:
    out = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, json.dumps(codes)], cwd=ROOT,
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'proto'}"})
    return json.loads(out.stdout)


def measure_imports() -> dict:
    """VmRSS deltas in MB: the chain step by step, and each dependency alone."""
    chain = _probe_imports([code for _, code in IMPORT_CHAIN])
    cumulative = [{"step": "interpreter (python -c)", "mb": round(chain[0] / 1024, 1)}]
    prev = chain[0]
    for (name, _), kb in zip(IMPORT_CHAIN, chain[1:], strict=True):
        cumulative.append({"step": name, "mb": round((kb - prev) / 1024, 1)})
        prev = kb
    alone = {}
    for name, code in IMPORT_ALONE:
        base, after = _probe_imports([code])
        alone[name] = None if after is None else round((after - base) / 1024, 1)
    return {"interpreter_mb": round(chain[0] / 1024, 1), "chain": cumulative,
            "chain_total_mb": round(chain[-1] / 1024, 1), "alone": alone}


def _start_daemon(tmp: Path, endpoint: str) -> tuple[subprocess.Popen, float]:
    """Spawn `pocnet-hotspot run`; return it and the seconds until its "ready" line."""
    conf = tmp / "hotspot.toml"
    conf.write_text(
        f'[key]\nfile = "{tmp / "hotspot.key"}"\n[oracle]\nendpoints = ["{endpoint}"]\n'
        f'[radio]\nkind = "sim"\n[outbox]\npath = "{tmp / "outbox.sqlite"}"\n'
        f'[metrics]\nport = 0\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("POCNET_")}
    started = time.monotonic()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "pocnet-hotspot"), "run",
                             "-c", str(conf)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if '"event": "ready"' in line:
            return proc, time.monotonic() - started
    raise RuntimeError("daemon exited before ready")


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def measure_idle_and_start(idle_s: float, starts: int) -> dict:
    from hotspot_sink_oracle import SinkOracle, SinkServer

    from hotspot.keystore import KeyStore

    server = SinkServer(SinkOracle()).start()
    tmp = Path(tempfile.mkdtemp(prefix="bench-hotspot-idle-"))
    KeyStore.create(tmp / "hotspot.key")
    start_times = []
    try:
        for _ in range(starts):
            proc, ready_s = _start_daemon(tmp, server.endpoint)
            start_times.append(ready_s)
            proc.terminate()
            proc.wait(15)
        proc, _ = _start_daemon(tmp, server.endpoint)
        time.sleep(2.0)  # let the first session and region lookup finish
        hz = os.sysconf("SC_CLK_TCK")
        t0, c0 = time.monotonic(), _cpu_ticks(proc.pid)
        time.sleep(idle_s)
        t1, c1 = time.monotonic(), _cpu_ticks(proc.pid)
        rss = _status_kb("VmRSS", str(proc.pid))
        proc.terminate()
        stop_t = time.monotonic()
        code = proc.wait(15)
        stop_s = time.monotonic() - stop_t
    finally:
        server.stop()
    return {
        "idle_cpu_pct": 100.0 * (c1 - c0) / hz / (t1 - t0),
        "idle_s": t1 - t0,
        "idle_rss_kb": rss,
        "start_ready_s": start_times,
        "sigterm_exit": code,
        "sigterm_stop_s": stop_s,
    }


def _machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": model,
            "cores": os.cpu_count(), "load_avg": [round(x, 2) for x in os.getloadavg()],
            "python": sys.version.split()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (24)")
    parser.add_argument("--idle-s", type=float, default=20.0, help="idle CPU sample (20 s)")
    parser.add_argument("--starts", type=int, default=3, help="timed starts (3)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--child-sim", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_sim is not None:
        hours, endpoint, time_file = args.child_sim
        child_simulation(float(hours), endpoint, time_file)
        return
    machine = _machine()
    say = (lambda *a: None) if args.json else print
    say(f"{machine['date']}, {machine['cpu']} x{machine['cores']}, load {machine['load_avg']}"
        " (shared machine)")
    imports = measure_imports()
    say(f"imports: interpreter {imports['interpreter_mb']} MB; then "
        + ", ".join(f"{s['step']} +{s['mb']}" for s in imports["chain"][1:])
        + f" = {imports['chain_total_mb']} MB")
    say("each alone (MB): " + ", ".join(f"{k} {v}" for k, v in imports["alone"].items()))
    say(f"simulating {args.hours} h ...")
    t = time.monotonic()
    mem = measure_memory(args.hours)
    mem["wall_s"] = round(time.monotonic() - t, 1)
    idle = measure_idle_and_start(args.idle_s, args.starts)
    machine["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    starts = idle["start_ready_s"]
    summary = {
        "rss_mb": round(mem["rss_kb"] / 1024, 1),
        "idle_cpu_pct": round(idle["idle_cpu_pct"], 3),
        "start_ready_median_s": round(statistics.median(starts), 3),
        "targets": {"rss_mb": 40, "idle_cpu_pct": 1.0, "start_ready_s": 1.0},
    }
    if args.json:
        print(json.dumps({"machine": machine, "summary": summary, "memory": mem,
                          "idle": idle, "imports": imports}, indent=2))
        return
    print(f"simulated {mem['hours']} h in {mem['wall_s']} s wall: {mem['witnesses']} witnesses, "
          f"{mem['beacons']} beacons delivered, drops {mem['drops'] or 'none'}")
    print(f"RSS at ready {mem['ready_rss_kb'] / 1024:.1f} MB, after {mem['hours']} h "
          f"{mem['rss_kb'] / 1024:.1f} MB (peak {mem['hwm_kb'] / 1024:.1f} MB, anonymous "
          f"{mem['rss_anon_kb'] / 1024:.1f} MB, {mem['threads']} threads)   target <= 40 MB")
    print(f"RSS each simulated hour (MB): {mem['hourly_rss_mb']}")
    print(f"optional heavy modules loaded: {mem['optional_heavy_loaded'] or 'none'}")
    print(f"idle CPU {idle['idle_cpu_pct']:.2f} % of one core over {idle['idle_s']:.1f} s, "
          f"idle RSS {idle['idle_rss_kb'] / 1024:.1f} MB   target <= 1 %")
    print(f"start to ready: median {statistics.median(starts):.2f} s, max {max(starts):.2f} s "
          f"over {len(starts)} starts   target <= 1 s")
    print(f"SIGTERM: exit {idle['sigterm_exit']} after {idle['sigterm_stop_s']:.2f} s")
    print(f"load average at the end {machine['load_avg_end']}")


if __name__ == "__main__":
    main()
