"""Benchmark of the proving ground (`pocnet-sim epochs`): hotspots × epochs through a real
oracle, twice (with and without adversaries), with where the time goes.

Targets (issue 11): 2,000 hotspots × 7 epochs ≤ 10 min; 10,000 hotspots × 1 epoch ≤ 10 min.
The scenario is sim_radio/scenarios/city.toml (or `--scenario country`, the national
population) with its population count replaced; with
`--class-share S` every adversary class gets share S (the baseline of docs/benchmarks.md uses
0.10). Prints one JSON document: wall time, per-pass wall and CPU seconds of each step (the
two passes run side by side; on a shared machine the CPU seconds say where the work goes; the
simulator's are `simulate_and_sign`, its own thread, plus `sign_workers`, its signing
processes), the load average at the start and at the end, the scoreboard, and `phases`: the
run's process tree sampled from /proc each second (Linux), its wall and CPU seconds by phase
(`simulate_and_import` while an import runs, then `verify`, `rewards`, `payout`, `read_back`;
the passes overlap, a phase is named by the earliest step any pass is in) and `cores_busy` =
CPU / wall, 2.0 on two cores when nothing waits; with how often the imports' main threads
waited for input (the simulator behind them).

    python tests/bench/bench_proving.py --hotspots 2000 --epochs 7
    python tests/bench/bench_proving.py --hotspots 2000 --epochs 7 --keep-density
    python tests/bench/bench_proving.py --hotspots 2000 --epochs 1 --class-share 0.10
    python tests/bench/bench_proving.py --scenario country --hotspots 10000 --epochs 1
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "sim_radio" / "scenarios"
BEHAVIOURS = ("false_location", "rssi_inflation", "attenuator", "shared_antenna",
              "collusion_ring", "beacon_relay", "replay", "clock_offset")


def scenario_text(name: str, hotspots: int, class_share: float | None,
                  keep_density: bool = False) -> str:
    text = (SCENARIOS / f"{name}.toml").read_text()
    if keep_density:
        text = _at_the_same_density(text, hotspots)
    text = re.sub(r"(?m)^count = \d+", f"count = {hotspots}", text, count=1)
    if class_share is not None:
        text = re.sub(r"(?m)^share = [0-9.]+", f"share = {class_share}", text)
        missing = [b for b in BEHAVIOURS if f"[adversaries.{b}]" not in text]
        text += "".join(f"\n[adversaries.{b}]\nshare = {class_share}\n" for b in missing)
    return text


def _at_the_same_density(text: str, hotspots: int) -> str:
    """The scenario's geography stretched about its box's centre so that `hotspots` stand as
    densely as its own count does: box, cluster centres and radii scaled by sqrt(ratio). A
    network of that size as real cities are (the shipped city's density is fitted to one),
    not the same city packed ever tighter."""
    count = int(re.search(r"(?m)^count = (\d+)", text).group(1))  # type: ignore[union-attr]
    factor = (hotspots / count) ** 0.5
    box = [float(v) for v in re.search(  # type: ignore[union-attr]
        r"(?m)^box = \[([^\]]*)\]", text).group(1).split(",")]
    mid_lat, mid_lon = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2

    def lat(v: float) -> float:
        return round(mid_lat + (v - mid_lat) * factor, 5)

    def lon(v: float) -> float:
        return round(mid_lon + (v - mid_lon) * factor, 5)

    text = re.sub(r"(?m)^box = \[[^\]]*\]",
                  f"box = [{lat(box[0])}, {lon(box[1])}, {lat(box[2])}, {lon(box[3])}]", text)
    return re.sub(
        r"lat = ([0-9.]+), lon = ([0-9.]+), weight = ([0-9.]+), radius_km = ([0-9.]+)",
        lambda m: (f"lat = {lat(float(m[1]))}, lon = {lon(float(m[2]))}, weight = {m[3]}, "
                   f"radius_km = {round(float(m[4]) * factor, 3)}"), text)


# Phases by the oracle commands alive, earliest step first (the two passes overlap).
PHASES = (("import", "simulate_and_import"), ("verify", "verify"), ("rewards", "rewards"),
          ("payout", "payout"), ("serve", "read_back"))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class PhaseSampler(threading.Thread):
    """Each second, the CPU seconds of a process tree (its root's own and reaped children's
    from /proc, plus its live descendants'), booked to the phase of that second; and whether
    each import's main thread waits on its input pipe (kernel wait channel). Linux only."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True, name="phases")
        self._root, self._done = root, threading.Event()
        self.phases: dict[str, dict[str, float]] = {}
        self.waits = {"import_samples": 0, "import_waiting_for_input": 0}

    def run(self) -> None:
        last_t, last_cpu = time.monotonic(), 0.0
        while not self._done.wait(1.0):
            try:
                procs = _tree(self._root)
            except OSError:
                return
            now, cpu = time.monotonic(), sum(p[1] for p in procs.values())
            phase = self._phase(procs)
            slot = self.phases.setdefault(phase, {"wall_s": 0.0, "cpu_s": 0.0})
            slot["wall_s"] += now - last_t
            slot["cpu_s"] += max(cpu - last_cpu, 0.0)
            last_t, last_cpu = now, cpu

    def _phase(self, procs: dict[int, tuple[str, float]]) -> str:
        commands = set()
        for pid, (cmd, _) in procs.items():
            words = cmd.split()
            program = next((i for i, w in enumerate(words) if w.endswith("pocnet-oracle")), None)
            if program is not None and program + 1 < len(words):
                command = words[program + 1]
                commands.add(command)
                if command == "import":
                    self.waits["import_samples"] += 1
                    if "pipe_read" in _wchan(pid, pid):
                        self.waits["import_waiting_for_input"] += 1
        return next((name for command, name in PHASES if command in commands), "other")

    def stop(self) -> dict[str, Any]:
        self._done.set()
        self.join()
        phases = {name: {"wall_s": round(v["wall_s"], 1), "cpu_s": round(v["cpu_s"], 1),
                         "cores_busy": round(v["cpu_s"] / v["wall_s"], 2) if v["wall_s"] else 0}
                  for name, v in self.phases.items()}
        return {"phases": phases, "waits": self.waits}


def _tree(root: int) -> dict[int, tuple[str, float]]:
    """pid -> (command line, CPU seconds) of `root` and its live descendants: each process's
    own and its reaped children's, so a command that ended is still counted (in its parent's)."""
    parents: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2:].split()
        stats[int(entry)] = fields
        parents.setdefault(int(fields[1]), []).append(int(entry))
    if root not in stats:
        raise OSError(f"process {root} ended")
    out: dict[int, tuple[str, float]] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        fields = stats.get(pid)
        if fields is None:
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        out[pid] = (cmd, sum(int(f) for f in fields[11:15]) / CLOCK_TICKS)
        todo.extend(parents.get(pid, []))
    return out


def _wchan(pid: int, tid: int) -> str:
    try:
        return Path(f"/proc/{pid}/task/{tid}/wchan").read_text()
    except OSError:
        return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("city", "country"), default="city")
    parser.add_argument("--hotspots", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=7)
    parser.add_argument("--class-share", type=float)
    parser.add_argument("--keep", type=Path, help="keep the oracles' files here")
    parser.add_argument("--keep-density", action="store_true",
                        help="stretch the geography so the hotspots stand as densely as in the "
                             "scenario itself (a larger city, not a denser one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-proving-") as tmp:
        scenario = Path(tmp) / f"{args.scenario}.toml"
        scenario.write_text(scenario_text(args.scenario, args.hotspots, args.class_share,
                                          args.keep_density))
        out = args.keep or Path(tmp) / "out"
        load_at_start = [round(x, 2) for x in os.getloadavg()]
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "sim_radio.cli", "epochs", str(scenario), "--epochs",
             str(args.epochs), "--json", "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )
        sampler = PhaseSampler(child.pid)
        tracing = Path("/proc").is_dir()
        if tracing:
            sampler.start()
        stdout, stderr = child.communicate()
        wall_s = time.monotonic() - started
        traced = sampler.stop() if tracing else {}
    if child.returncode != 0:
        print(stderr, file=sys.stderr)
        return 1
    result = json.loads(stdout)
    print(json.dumps({
        "scenario": args.scenario, "hotspots": result["hotspots"], "epochs": args.epochs,
        "class_share": args.class_share, "keep_density": args.keep_density,
        "wall_s": round(wall_s, 1), "timings_s": result["timings_s"], "cpu_s": result["cpu_s"],
        "signatures_reused": result.get("signatures_reused"),
        **traced,
        "load_average_at_start": load_at_start,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "imported": result["imported"], "witness_graph": result["witness_graph"],
        "scoreboard": result["scoreboard"],
        "cheaters_emission_share": result["cheaters_emission_share"],
        "payout_matches_manifest": result["payout_matches_manifest"],
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
