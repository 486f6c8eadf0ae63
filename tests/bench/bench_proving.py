"""Benchmark of the proving ground (`pocnet-sim epochs`): hotspots × epochs through a real
oracle, twice (with and without adversaries), with where the time goes.

Targets (issue 11): 2,000 hotspots × 7 epochs ≤ 10 min; 10,000 hotspots × 1 epoch ≤ 10 min.
The scenario is sim_radio/scenarios/city.toml (or `--scenario country`, the national
population) with its population count replaced; with
`--class-share S` every adversary class gets share S (the baseline of docs/benchmarks.md uses
0.10). Prints one JSON document: wall time, per-pass wall and CPU seconds of each step (the
two passes run side by side; on a shared machine the CPU seconds say where the work goes; the
simulator's are `simulate_and_sign`, its own thread, plus `sign_workers`, its signing
processes), the load average at the start and at the end, the scoreboard.

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
import time
from pathlib import Path

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
        done = subprocess.run(
            [sys.executable, "-m", "sim_radio.cli", "epochs", str(scenario), "--epochs",
             str(args.epochs), "--json", "--out", str(out)],
            capture_output=True, text=True, check=False, cwd=ROOT,
        )
        wall_s = time.monotonic() - started
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return 1
    result = json.loads(done.stdout)
    print(json.dumps({
        "scenario": args.scenario, "hotspots": result["hotspots"], "epochs": args.epochs,
        "class_share": args.class_share, "keep_density": args.keep_density,
        "wall_s": round(wall_s, 1), "timings_s": result["timings_s"], "cpu_s": result["cpu_s"],
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
