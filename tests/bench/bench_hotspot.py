"""Hotspot daemon benchmark (issue 5): memory after simulated operation, idle CPU, startup.

Run: .venv/bin/python tests/bench/bench_hotspot.py [--hours 1] [--idle-s 20] [--starts 3]

1. Memory: a fresh interpreter runs the whole daemon (`hotspot.app.run_daemon`) on a fake
   clock with a SimRadio, an in-process gRPC oracle (the test suite's sink, which verifies and
   stores every report) and a peer radio putting a new beacon plus ten ordinary LoRaWAN
   frames on the air every 10 s of simulated time; the daemon witnesses and uploads them all.
   Resident memory (VmRSS, and the peak VmHWM) is read from /proc/self/status at the end.
2. Idle CPU: a real `pocnet-hotspot run` subprocess, ready and idle, sampled from
   /proc/PID/stat (utime + stime) over --idle-s seconds.
3. Start to ready: wall time from spawning `pocnet-hotspot run` to its "ready" log line.
Targets: RSS ≤ 60 MB, idle CPU ≤ 1 % of one core, start to ready ≤ 3 s.
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


def child_simulation(hours: float) -> None:
    """Runs in its own interpreter so the figure is the daemon's (plus the small sink)."""
    from hotspot_sink_oracle import SinkOracle, SinkServer
    from hotspot_testkit import eventually, make_settings

    from firmware_bridge.types import TxPacket
    from hotspot.app import run_daemon
    from hotspot.clock import NS_PER_S, FakeClock
    from hotspot.outbox import Outbox
    from pocnet.beacon import on_air_frame
    from sim_radio.air import LoopbackAir
    from sim_radio.radio import SimRadio

    tmp = Path(tempfile.mkdtemp(prefix="bench-hotspot-"))
    clock = FakeClock()
    oracle = SinkOracle(now_s=lambda: clock.now_ns() // NS_PER_S)
    server = SinkServer(oracle).start()
    conf = make_settings(tmp, server.endpoint, log={"level": "warning"})
    ready_rss: list[int] = []

    async def go() -> dict:
        air = LoopbackAir()
        peer = SimRadio(air, "peer", clock.now_ns)
        await peer.start()
        stop = asyncio.Event()
        daemon = asyncio.create_task(run_daemon(
            conf, clock=clock, rng=random.Random(5), air=air, shutdown=stop,
            on_ready=lambda m: ready_rss.append(_status_kb("VmRSS"))))
        await eventually(lambda: bool(ready_rss))
        box = Outbox(conf.outbox.path)
        rng = random.Random(9)
        steps = int(hours * 3600 / STEP_S)
        delivered = {"beacon": 0, "witness": 0}
        samples = []
        for step in range(steps):
            # The medium and the sink are test fixtures: keep their bookkeeping out of the
            # figure (LoopbackAir records every frame sent; the sink keeps every report).
            air.sent.clear()
            with oracle.lock:
                for kind, _ in oracle.stored.values():
                    delivered[kind] += 1
                oracle.stored.clear()
                oracle.acked_new.clear()
            if step % 360 == 0:
                samples.append(round(_status_kb("VmRSS") / 1024, 1))
            await peer.transmit(TxPacket(on_air_frame(rng.randbytes(51)), 867_500_000,
                                         "SF12BW125", 14))
            for _ in range(10):
                await peer.transmit(TxPacket(b"\x40" + rng.randbytes(30), 868_100_000,
                                             "SF7BW125", 14))
            await clock.advance(STEP_S)
            await eventually(lambda: box.depth() == 0, timeout_s=30)
        rss = _status_kb("VmRSS")
        hwm = _status_kb("VmHWM")
        stop.set()
        await daemon
        for kind, _ in oracle.stored.values():
            delivered[kind] += 1
        return {"ready_rss_kb": ready_rss[0], "rss_kb": rss, "hwm_kb": hwm,
                "witnesses": delivered["witness"], "beacons": delivered["beacon"],
                "drops": box.drops(), "hours": hours, "hourly_rss_mb": samples}

    try:
        result = asyncio.run(go())
    finally:
        server.stop()
    print(json.dumps(result))


def measure_memory(hours: float) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child-sim", str(hours)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=1.0, help="simulated hours")
    parser.add_argument("--idle-s", type=float, default=20.0)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--child-sim", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_sim is not None:
        child_simulation(args.child_sim)
        return
    t = time.monotonic()
    mem = measure_memory(args.hours)
    sim_wall = time.monotonic() - t
    idle = measure_idle_and_start(args.idle_s, args.starts)
    print(f"simulated {mem['hours']} h in {sim_wall:.1f} s wall: {mem['witnesses']} witnesses, "
          f"{mem['beacons']} beacons delivered, drops {mem['drops'] or 'none'}")
    print(f"RSS at ready {mem['ready_rss_kb'] / 1024:.1f} MB, after {mem['hours']} h "
          f"{mem['rss_kb'] / 1024:.1f} MB (peak {mem['hwm_kb'] / 1024:.1f} MB)   target <= 60 MB")
    print(f"RSS each simulated hour (MB): {mem['hourly_rss_mb']}")
    print(f"idle CPU {idle['idle_cpu_pct']:.2f} % of one core over {idle['idle_s']:.1f} s, "
          f"idle RSS {idle['idle_rss_kb'] / 1024:.1f} MB   target <= 1 %")
    starts = idle["start_ready_s"]
    print(f"start to ready: median {statistics.median(starts):.2f} s, max {max(starts):.2f} s "
          f"over {len(starts)} starts   target <= 3 s")
    print(f"SIGTERM: exit {idle['sigterm_exit']} after {idle['sigterm_stop_s']:.2f} s")


if __name__ == "__main__":
    main()
