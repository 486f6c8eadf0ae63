"""Benchmark: gaming detection measured on the proving ground (issue 13).

Runs the adversarial pass of `pocnet-sim epochs` (the scenario through a real oracle), then
`pocnet-oracle detect` over those epochs, and scores what it would deny against the
simulator's ground truth: per cheating class, the share of its hotspots denied (recall), and the
share of honest hotspots denied (false positives). With `--share S` every adversary class of the
scenario is set to share S.

Run: .venv/bin/python tests/bench/bench_detect_proving.py SCENARIO [--epochs N] [--share S]
     [--count N] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from sim_radio.proving import epoch_aligned, run_pass
from sim_radio.scenario import load_scenario
from sim_radio.scoreboard import HONEST, classes_of


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--share", type=float, help="every adversary class at this share")
    parser.add_argument("--count", type=int, help="replace the population count")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    if args.share is not None:
        scenario = replace(scenario, adversaries=tuple(
            replace(a, share=args.share) for a in scenario.adversaries))
    if args.count is not None:
        scenario = replace(scenario, population={**scenario.population, "count": args.count})
    scenario = epoch_aligned(scenario, args.epochs)
    with tempfile.TemporaryDirectory(prefix="pocnet-detect-") as tmp:
        started = time.monotonic()
        run = run_pass("scenario", scenario, args.epochs, Path(tmp) / "scenario")
        simulated_s = time.monotonic() - started
        epochs = [m["epoch"] for m in run.manifests]
        started = time.monotonic()
        found = run.oracle.run("detect", "--epoch", str(epochs[-1]),
                               "--epochs", str(len(epochs)), timeout_s=3600)
        detect_s = time.monotonic() - started
    address = {k.public_key.address: i for i, k in enumerate(run.writer_keys)}
    denied = {address[a] for entry in found["deny"] for a in entry["subject"] if a in address}
    reasons: dict[int, set[str]] = {}
    for entry in found["deny"]:
        for a in entry["subject"]:
            reasons.setdefault(address.get(a, -1), set()).update(entry["reasons"])
    classes = classes_of(run.assignment.dishonest, len(run.assignment.hotspots))
    rows = []
    for name, members in sorted(classes.items(), key=lambda kv: (kv[0] != HONEST, kv[0])):
        hit = [i for i in members if i in denied]
        by = sorted({r for i in hit for r in reasons.get(i, ())})
        rows.append({"class": name, "hotspots": len(members),
                     "denied_share": round(len(hit) / len(members), 3) if members else 0.0,
                     "by": by})
    result = {"scenario": scenario.name, "hotspots": len(run.assignment.hotspots),
              "epochs": epochs, "share": args.share, "simulate_verify_reward_s":
              round(simulated_s, 1), "detect_s": round(detect_s, 1), "rows": rows,
              "witness_reports": found["witness_reports"]}
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(f"{result['scenario']}: {result['hotspots']} hotspots, epochs {epochs}, "
              f"{found['witness_reports']} witness reports; detect {detect_s:.1f} s")
        print(f"{'class':18} {'hotspots':>8} {'denied':>7}  by")
        for row in rows:
            print(f"{row['class']:18} {row['hotspots']:>8} {row['denied_share']:>7.1%}  "
                  f"{', '.join(row['by'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
