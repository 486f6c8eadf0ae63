"""Benchmark: gaming detection measured on the proving ground (issue 13), epoch after epoch.

One pass of a scenario through a real oracle, as an operator runs detection: for each epoch,
`pocnet-oracle import` that epoch's reports, `verify`, `pocnet-oracle detect --apply` over the
epochs so far, then `rewards compute`: the denylist withholds the epoch's shares of the
hotspots it denies, and the next epoch's verification applies it. After each epoch it scores
against the simulator's ground truth, per class: the share of its hotspots on the denylist
(recall; for honest hotspots, the false positives), and the scoreboard's relative reward (class
mean over honest mean, sim_radio/scoreboard.py) in that epoch alone and over the epochs so far.
Recall and the reward over the epochs so far are also given over the members whose cheat
reached the air ("on air"): for relays, RSSI inflators and witness stuffers, those that sent
a report carrying their cheat (a relay whose partner hears nothing relays nothing; an inflator
that hears nothing inflates nothing); for replayers, those one of whose copies someone reported (the
simulator marks each copy's sender; a replayer that heard no beacon, or whose copies no one
heard, replays nothing anyone reports); for the others, those that heard a beacon or had one
of theirs heard. The rest show no detector anything to read in a witness report (a hotspot no
one hears still sends beacon reports: their GPS fixes can give away a false location). The
older count, any report naming the hotspot, is kept beside it for every class ("named"), so
figures taken before the copies were marked still compare.

Cheaters keep cheating whether denied or not, so every epoch's reports are simulated first and
imported one epoch at a time. `--classes` sets which adversary classes run, each at `--share`
(classes are disjoint sets of hotspots, so eight classes at 20 % cannot share one run: give a
few). `--nearest N` takes, of a CSV population (the real 2022 list), the N hotspots nearest
to its densest spot, so a small run is one dense area and not N hotspots strewn over a
continent.

Beside recall, each class's members on air whose place `detect` says no detector could judge
(its "unjudged" list, oracle/detect/reach.py: no reception in time; one lone partner; heard
only by denied hotspots), and "beyond": those of them no reading of their receptions tells
from an honest hotspot (the ones heard only by denied hotspots count unless more silent with
the hotspots about their asserted place than every honest hotspot so heard). For a cheat of
place (attenuators) recall cannot pass on-air less beyond.

The run leaves its ground truth in `--out` (`truth.json`: each hotspot's address and class,
and who was on air), so `--reread DIR` can run another tree's detectors over the same store:
`detect` (without `--apply`) after each epoch of `--report`, over the epochs so far, scored
as the run scored itself. It cannot redo rewards, and the store's verdicts are the run's own
(its denials were applied to the next epoch's verification), so it answers "what would these
detectors deny over that history", not a new run.

Run: .venv/bin/python tests/bench/bench_detect_proving.py SCENARIO [--epochs N] [--share S]
     [--classes scenario|all|A,B,..] [--count N | --nearest N] [--report 1,3,7] [--out DIR]
     [--rows FILE] [--json]
     .venv/bin/python tests/bench/bench_detect_proving.py --reread DIR [--report 7] [--json]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from pocnet.keys import Network, create_keyfile, load_keyfile
from sim_radio.adversaries import BEHAVIOURS, AdversarySpec, witness_reports
from sim_radio.oracle_driver import Oracle, start_oracle
from sim_radio.proving import EPOCH_S, ONBOARD_LEAD_MS, WINDOWS_PER_EPOCH, epoch_aligned
from sim_radio.reports import (
    FLAG_CONSTANT,
    FLAG_INFLATED,
    FLAG_RELAYED,
    FLAG_REPLAYED,
    WitnessReports,
)
from sim_radio.scenario import Scenario, build, load_scenario
from sim_radio.scoreboard import HONEST, Outcome, classes_of, score
from sim_radio.wire_reports import WireWriter


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", type=Path, nargs="?")
    parser.add_argument("--epochs", type=int, default=7)
    parser.add_argument("--share", type=float, help="every class run at this share")
    parser.add_argument("--classes", default="scenario",
                        help="scenario (its own adversaries), all (every behaviour of "
                        "sim_radio/adversaries.py) or a comma-separated list")
    parser.add_argument("--count", type=int, help="replace the population count")
    parser.add_argument("--nearest", type=int, help="of a CSV population, the N hotspots "
                        "nearest to its densest spot")
    parser.add_argument("--report", default="1,3,7", help="epochs to print (all in --json)")
    parser.add_argument("--out", type=Path, help="keep the oracle's files here (an empty or "
                        "new folder; default: a temporary one)")
    parser.add_argument("--rows", type=Path, help="append each epoch's figures to this file as "
                        "one JSON line as soon as it is scored (a long run read before its end)")
    parser.add_argument("--reread", type=Path, metavar="DIR", help="score this tree's "
                        "detectors over a kept --out folder instead of running")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.reread is not None:
        reports = sorted({int(e) for e in args.report.split(",")})
        result = reread(args.reread, reports, _say)
        if args.json:
            print(json.dumps(result, sort_keys=True))
        else:
            _print(result, set(reports))
        return 0
    if args.scenario is None:
        parser.error("give a SCENARIO, or --reread DIR")
    with tempfile.TemporaryDirectory(prefix="pocnet-detect-") as tmp:
        workdir = args.out or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        scenario = _scenario(args, workdir)
        result = run(scenario, args.epochs, workdir, _say, args.rows)
    result["share"] = args.share
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        _print(result, {int(e) for e in args.report.split(",")})
    return 0


def _scenario(args: argparse.Namespace, tmp: Path) -> Scenario:
    scenario = load_scenario(args.scenario)
    if args.classes == "scenario":
        specs = list(scenario.adversaries)
    else:
        names = list(BEHAVIOURS) if args.classes == "all" else args.classes.split(",")
        unknown = [n for n in names if n not in BEHAVIOURS]
        if unknown:
            raise SystemExit(f"unknown class(es): {', '.join(unknown)}")
        own = {a.behaviour: a for a in scenario.adversaries}
        specs = [own.get(n, AdversarySpec(n, 0.0)) for n in names]
    if args.share is not None:
        specs = [replace(a, share=args.share) for a in specs]
    scenario = replace(scenario, adversaries=tuple(specs))
    if args.count is not None:
        scenario = replace(scenario, population={**scenario.population, "count": args.count})
    if args.nearest is not None:
        path = tmp / "population.csv"
        _nearest_to_densest(scenario, args.nearest, path)
        scenario = replace(scenario, population={**scenario.population, "path": str(path)})
    return epoch_aligned(scenario, args.epochs)


def _nearest_to_densest(scenario: Scenario, n: int, out: Path) -> None:
    """Write the n rows of the scenario's CSV nearest to the row with most others within
    n's own radius: one dense area of the real network."""
    p = scenario.population
    source = scenario.population_path()
    raw = source.read_bytes()
    text = (gzip.decompress(raw) if source.suffix == ".gz" else raw).decode("utf-8", "replace")
    rows = list(csv.DictReader(io.StringIO(text)))
    lat_c, lon_c = p.get("lat_column", "lat"), p.get("lon_column", "lng")
    located = []
    for row in rows:
        try:
            lat, lon = float(row[lat_c]), float(row[lon_c])
        except (TypeError, ValueError):
            continue
        if (lat, lon) != (0.0, 0.0):
            located.append((lat, lon, row))

    def dist(a: tuple[float, float, Any], b: tuple[float, float, Any]) -> float:
        x = math.radians(b[1] - a[1]) * math.cos(math.radians((a[0] + b[0]) / 2))
        return math.hypot(x, math.radians(b[0] - a[0])) * 6_371_000

    def nearest(centre: tuple[float, float, Any]) -> list[tuple[float, float, Any]]:
        return sorted(located, key=lambda r: dist(centre, r))[:n]

    centre = min(located[::10], key=lambda c: dist(c, nearest(c)[-1]))
    chosen = nearest(centre)
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for _, _, r in chosen)


def _say(text: str) -> None:
    """Progress on stderr, so `--json` stays one object on stdout."""
    print(text, file=sys.stderr, flush=True)


def run(scenario: Scenario, epochs: int, workdir: Path, say: Any,
        rows_file: Path | None = None) -> dict[str, Any]:
    started = time.monotonic()
    mesh, assignment = build(scenario)
    oracle = start_oracle(workdir / "oracle", EPOCH_S)
    operator_key = workdir / "operator.key"
    operator = create_keyfile(operator_key, Network.TESTNET)
    with oracle.config.open("a", encoding="utf-8") as f:
        f.write(f"[registry]\noperator_keys = [{json.dumps(operator.public_key.address)}]\n")
    writer = WireWriter(assignment, scenario.seed, oracle.key)
    start_ms = scenario.start_ns // 1_000_000
    first = start_ms // (EPOCH_S * 1000)
    files = [workdir / f"epoch-{e}.jsonl" for e in range(epochs)]
    outs = [f.open("w", encoding="utf-8") for f in files]
    outs[0].writelines(writer.onboarding(start_ms - ONBOARD_LEAD_MS))
    n = len(assignment.hotspots)
    on_air = {name: np.zeros(n, bool) for name in ("", *_MARKS, *_SENT)}
    for r in range(scenario.rounds):
        result = mesh.beacon_round(r)
        reports = witness_reports(mesh, result, assignment)
        for name, hotspots in _on_air(reports, n).items():
            on_air[name] |= hotspots
        outs[r // WINDOWS_PER_EPOCH].writelines(writer.round_reports(result, reports).lines)
    for out in outs:
        out.close()
    say(f"simulated {epochs} epoch(s) in {time.monotonic() - started:.0f} s")
    oracle.run("registry", "maker", "add", writer.maker.public_key.address,
               "--quota", str(len(writer.keys)), "--name", "proving ground")
    address = {k.public_key.address: i for i, k in enumerate(writer.keys)}
    classes = classes_of(assignment.dishonest, n)
    (workdir / _TRUTH).write_text(json.dumps({
        "scenario": scenario.name, "first_epoch": first, "epochs": epochs,
        "addresses": [k.public_key.address for k in writer.keys],
        "classes": {name: [int(i) for i in members] for name, members in classes.items()},
        "on_air": {name: np.flatnonzero(v).tolist() for name, v in on_air.items()},
    }))
    totals = [0] * n
    emission = 0
    rows: list[dict[str, Any]] = []
    for e in range(epochs):
        epoch = first + e
        t = time.monotonic()
        imported = oracle.run("import", str(files[e]))
        if refused := sum(imported["rejected"].values()):
            raise SystemExit(f"the oracle refused {refused} records of epoch {e + 1}: "
                             f"{imported['first_rejected'][0]}")
        oracle.run("verify")
        verified_s = time.monotonic() - t
        t = time.monotonic()
        # Every epoch so far: the evidence grows, and each denylist version carries what
        # is still found (publishing drops entries whose expiry has passed on the wall clock).
        # Before the epoch's rewards, as docs/oracle.md has operators do: its denials withhold
        # the epoch's shares (docs/protocol.md §6).
        found = oracle.run("detect", "--epoch", str(epoch), "--epochs", str(e + 1), "--apply",
                           "--operator-key", str(operator_key))
        detect_s = time.monotonic() - t
        t = time.monotonic()
        manifest = oracle.run("rewards", "compute", "--epoch", str(epoch), "--allow-empty")
        verified_s += time.monotonic() - t
        rewards = [0] * n
        for h in manifest["hotspots"]:
            rewards[address[h["hotspot"]]] += h["beacon_amount"] + h["witness_amount"]
        totals = [a + b for a, b in zip(totals, rewards, strict=True)]
        emission += manifest["emission"]
        denied = _denied(found, address)
        in_epoch = {r["class"]: r for r in score(classes, Outcome({}, rewards,
                                                                  manifest["emission"]), None)}
        so_far = {r["class"]: r for r in score(classes, Outcome({}, totals, emission), None)}
        aired_classes, named_classes = _aired(classes, on_air)
        so_far_aired = {r["class"]: r for r in score(aired_classes, Outcome({}, totals, emission),
                                                      None)}
        so_far_named = {r["class"]: r for r in score(named_classes, Outcome({}, totals, emission),
                                                      None)}
        per_class = []
        for recall in _recall(classes, aired_classes, named_classes, denied,
                              _unjudged(found, address)):
            name = recall["class"]
            per_class.append({
                **recall,
                "relative_reward_epoch": in_epoch[name]["relative_reward"],
                "relative_reward_so_far": so_far[name]["relative_reward"],
                "relative_reward_so_far_on_air": so_far_aired[name]["relative_reward"],
                "relative_reward_so_far_named": so_far_named[name]["relative_reward"],
            })
        rows.append({"epoch": e + 1, "witness_reports": found["witness_reports"],
                     "import_verify_reward_s": round(verified_s, 1),
                     "detect_s": round(detect_s, 1), "classes": per_class,
                     "load": os.getloadavg()[0]})
        if rows_file is not None:
            with rows_file.open("a", encoding="utf-8") as f:
                f.write(json.dumps(rows[-1], sort_keys=True) + "\n")
        say(f"epoch {e + 1}: verified in {verified_s:.0f} s, detect {detect_s:.0f} s, "
            f"{len(denied)} denied, load {os.getloadavg()[0]:.1f}")
    return {"scenario": scenario.name, "hotspots": n, "epochs": epochs,
            "classes": sorted(c for c in classes if c != HONEST),
            "wall_s": round(time.monotonic() - started, 1), "by_epoch": rows}


_TRUTH = "truth.json"


def reread(workdir: Path, report: list[int], say: Any) -> dict[str, Any]:
    """This tree's `detect` over a kept run's store after each epoch of `report` (module
    docstring): recall per class as the run counts it, no rewards."""
    started = time.monotonic()
    truth = json.loads((workdir / _TRUTH).read_text())
    home = workdir / "oracle"
    oracle = Oracle(home, home / "oracle.toml", load_keyfile(home / "oracle.key"),
                    home / "payout-ledger.db")
    address = {a: i for i, a in enumerate(truth["addresses"])}
    n = len(address)
    classes = {name: list(members) for name, members in truth["classes"].items()}
    on_air = {}
    for name, members in truth["on_air"].items():
        on_air[name] = np.zeros(n, bool)
        on_air[name][members] = True
    aired_classes, named_classes = _aired(classes, on_air)
    rows = []
    for e in report:
        if not 1 <= e <= truth["epochs"]:
            raise SystemExit(f"epoch {e} is not among the run's 1..{truth['epochs']}")
        t = time.monotonic()
        found = oracle.run("detect", "--epoch", str(truth["first_epoch"] + e - 1),
                           "--epochs", str(e))
        detect_s = time.monotonic() - t
        denied = _denied(found, address)
        per_class = [{**r, "relative_reward_epoch": None, "relative_reward_so_far": None}
                     for r in _recall(classes, aired_classes, named_classes, denied,
                                      _unjudged(found, address))]
        rows.append({"epoch": e, "witness_reports": found["witness_reports"],
                     "detect_s": round(detect_s, 1), "classes": per_class,
                     "load": os.getloadavg()[0]})
        say(f"epoch {e}: detect {detect_s:.0f} s, {len(denied)} denied")
    return {"scenario": truth["scenario"], "hotspots": n, "epochs": truth["epochs"],
            "classes": sorted(c for c in classes if c != HONEST), "share": None,
            "reread": True, "wall_s": round(time.monotonic() - started, 1), "by_epoch": rows}


def _denied(found: dict[str, Any], address: dict[str, int]) -> dict[int, set[str]]:
    """The hotspots `detect` denies (by index), with their reasons."""
    denied: dict[int, set[str]] = {}
    for entry in found["deny"]:
        if entry["kind"] == "hotspot" and entry["subject"][0] in address:
            denied[address[entry["subject"][0]]] = set(entry["reasons"])
    return denied


def _aired(classes: dict[str, list[int]], on_air: dict[str, np.ndarray]
           ) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Per class, its members on air by the class's own count, and by the older one (named)."""
    aired = {name: [i for i in members if on_air[_on_air_key(name)][i]]
             for name, members in classes.items()}
    named = {name: [i for i in members if on_air[""][i]] for name, members in classes.items()}
    return aired, named


def _unjudged(found: dict[str, Any], address: dict[str, int]
              ) -> dict[int, tuple[str, float | None]]:
    """The hotspots whose place `detect` says no detector could judge (by index), each with
    why and, heard only by denied hotspots, its silent links (oracle/detect/reach.py)."""
    return {address[a]: (entry["why"], entry.get("silent_links"))
            for entry in found.get("unjudged", ()) for a in entry["subject"] if a in address}


def _recall(classes: dict[str, list[int]], aired_classes: dict[str, list[int]],
            named_classes: dict[str, list[int]], denied: dict[int, set[str]],
            unjudged: dict[int, tuple[str, float | None]]) -> list[dict[str, Any]]:
    """Per class (honest first), how many of its hotspots are denied, of all, on air, named;
    and of those on air, how many `detect` could not judge the place of, by why. Of those
    heard only by denied hotspots, "past_honest" counts the ones more silent with the
    hotspots about their asserted place than any honest hotspot so heard: the rest no
    reading of their receptions tells from an honest hotspot (docs/benchmarks.md, issue 13)."""
    most_silent = max((unjudged[i][1] or 0.0 for i in classes.get(HONEST, ())
                       if i in unjudged and unjudged[i][0] == "only_denied"), default=0.0)
    out = []
    for name, members in sorted(classes.items(), key=lambda kv: (kv[0] != HONEST, kv[0])):
        hit = [i for i in members if i in denied]
        blind = [unjudged[i] for i in aired_classes[name] if i in unjudged]
        whys = Counter(why for why, _ in blind)
        whys["past_honest"] = sum(why == "only_denied" and (silent or 0.0) > most_silent
                                  for why, silent in blind)
        out.append({
            "class": name, "hotspots": len(members), "denied": len(hit),
            "denied_share": round(len(hit) / len(members), 4) if members else None,
            "on_air": len(aired_classes[name]),
            "denied_on_air": sum(i in denied for i in aired_classes[name]),
            "named": len(named_classes[name]),
            "denied_named": sum(i in denied for i in named_classes[name]),
            "by": sorted({r for i in hit for r in denied[i]}),
            "unjudged_on_air": dict(sorted(whys.items())),
        })
    return out


# Cheats that mark the reports they alter (sim_radio/reports.py): the cheat reached the
# network when a report of the hotspot carries the mark.
_MARKS = {"beacon_relay": FLAG_RELAYED, "rssi_inflation": FLAG_INFLATED,
          "constant_report": FLAG_CONSTANT}
# Cheats whose mark is on others' reports: a replayer's copy is reported by whoever hears it,
# marked with the flag, and the report's `sender` is the replayer.
_SENT = {"replay": FLAG_REPLAYED}


def _on_air_key(name: str) -> str:
    """The key of _on_air's answer that says whether a hotspot of class `name` is on air."""
    return name if name in _MARKS or name in _SENT else ""


def _on_air(reports: WitnessReports, n: int) -> dict[str, np.ndarray]:
    """Per class, the hotspots whose cheat reached the network in this round: a report of
    theirs carrying their cheat's mark (_MARKS), a marked report of a transmission of theirs
    (_SENT: a replayer's copy that someone reported), or, for the cheats that mark nothing (a
    place, an antenna, a clock), any report naming them as witness or heard beaconer (under
    the key "", kept for every class as the older count)."""
    seen = np.zeros(n, bool)
    seen[reports.witness] = True
    seen[reports.beaconer] = True
    out = {"": seen}
    for name, flag in _MARKS.items():
        out[name] = np.zeros(n, bool)
        out[name][reports.witness[(reports.flags & flag) != 0]] = True
    for name, flag in _SENT.items():
        out[name] = np.zeros(n, bool)
        out[name][reports.sender[(reports.flags & flag) != 0]] = True
    return out


def _print(result: dict[str, Any], report: set[int]) -> None:
    print(f"{result['scenario']}: {result['hotspots']} hotspots, share {result['share']}, "
          f"{result['epochs']} epochs, {result['wall_s']:.0f} s")
    print(f"{'epoch':>5} {'class':18} {'hotspots':>8} {'denied':>7} {'on air':>9} "
          f"{'named':>9} {'reward':>7} {'so far':>7} {'beyond':>6}  by")
    for row in result["by_epoch"]:
        if row["epoch"] not in report:
            continue
        for c in row["classes"]:
            rel = c["relative_reward_epoch"]
            cum = c["relative_reward_so_far"]
            print(f"{row['epoch']:>5} {c['class']:18} {c['hotspots']:>8} "
                  f"{c['denied_share']:>7.1%} {c['denied_on_air']:>4}/{c['on_air']:<4} "
                  f"{c['denied_named']:>4}/{c['named']:<4} "
                  f"{'-' if rel is None else f'{rel:.2f}':>7} "
                  f"{'-' if cum is None else f'{cum:.2f}':>7} {_beyond(c):>6}  "
                  f"{', '.join(c['by'])}")


def _beyond(row: dict[str, Any]) -> int:
    """A class's members on air that no reading of their receptions tells from an honest
    hotspot by place (`_recall`)."""
    u = row.get("unjudged_on_air", {})
    return (u.get("none_in_time", 0) + u.get("lone_pair", 0) + u.get("only_denied", 0)
            - u.get("past_honest", 0))


if __name__ == "__main__":
    sys.exit(main())
