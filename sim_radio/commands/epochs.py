"""`pocnet-sim epochs SCENARIO --epochs N`: the proving ground (sim_radio/proving.py).

Simulates N epochs of the scenario, hands every signed report to a real oracle through
`pocnet-oracle import`, runs verification, rewards and the payout with the oracle's own
commands, then does it all again without the scenario's adversaries, and prints the scoreboard
(sim_radio/scoreboard.py). `--out DIR` keeps both oracles (databases, report files, ledgers);
`--links FILE` writes every reception with its verdict (sim_radio/links.py).
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from pocnet.cli import UsageError, integer, print_json, progress_bar

MAX_EPOCHS = 366


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "epochs",
        help="whole epochs of a scenario through a real oracle, and the scoreboard",
        description="Simulate epochs of a scenario, let a real oracle verify, reward and pay "
        "them, and score the outcome against the scenario's ground truth (who cheated).",
    )
    p.add_argument("scenario", type=Path, help="scenario file (see sim_radio/scenarios/)")
    p.add_argument("--epochs", type=integer(1, MAX_EPOCHS), required=True, metavar="N",
                   help="epochs (24 h, four beacon windows each) to simulate")
    p.add_argument("--seed", type=integer(), help="replace the scenario's seed")
    p.add_argument("--links", type=Path, metavar="FILE",
                   help="write every (beacon, witness) reception with its verdict as CSV")
    p.add_argument("--map", type=Path, metavar="FILE.html",
                   help="draw the last epoch (pocnet-oracle map), with each hotspot that is not "
                   "where it asserts shown at its true place too")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="keep the oracles' files here (default: a temporary folder)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from sim_radio.oracle_driver import OracleCommandError
    from sim_radio.population import PopulationError
    from sim_radio.proving import ProvingError, epoch_aligned
    from sim_radio.scenario import ScenarioError, load_scenario

    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed must not be negative, got {args.seed}")
    for option, path in (("--links", args.links), ("--map", args.map)):
        if path is not None and not path.parent.is_dir():
            raise UsageError(f"{option}: folder {path.parent} does not exist")
    if args.out is not None and args.out.exists() and any(args.out.iterdir()):
        raise UsageError(f"--out: {args.out} is not empty")
    try:
        scenario = load_scenario(args.scenario)
        if args.seed is not None:
            scenario = replace(scenario, seed=args.seed)
        scenario = epoch_aligned(scenario, args.epochs)
    except ScenarioError as exc:
        raise UsageError("; ".join(exc.errors)) from None
    except (PopulationError, ProvingError) as exc:
        raise UsageError(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="pocnet-epochs-") as tmp:
        out = args.out or Path(tmp)
        with progress_bar(scenario.name, "window", hidden=args.json,
                          total=2 * scenario.rounds) as bar:
            try:
                result = prove(scenario, args.epochs, out, args.links, bar.update, args.map)
            except (OracleCommandError, PopulationError, ProvingError) as exc:
                raise UsageError(str(exc)) from None
    if args.json:
        print_json(result)
    else:
        _print(result)
    return 0


def prove(scenario: Any, epochs: int, out: Path, links: Path | None, progress: Any,
          map_path: Path | None = None) -> dict:
    """Both passes and the scoreboard, as one JSON-ready dict."""
    import pocnet
    from sim_radio.links import write_links
    from sim_radio.proving import compare_honest, payout_matches_manifest, run_both, scenario_hash
    from sim_radio.scoreboard import cheaters_share, classes_of, score

    run, clean = run_both(scenario, epochs, out, progress)
    n = len(run.assignment.hotspots)
    classes = classes_of(run.assignment.dishonest, n)
    outcome = run.outcome()
    rows = score(classes, outcome, clean.outcome())
    if links is not None:
        write_links(links, run.links, run.verdicts, set(run.verdicts))
    return {
        "made_of": {
            "version": getattr(pocnet, "__version__", None) or _version(),
            "scenario": scenario.name,
            "scenario_file": str(scenario.path),
            "scenario_sha256": scenario_hash(scenario),
            "seed": scenario.seed,
            "propagation": scenario.model.name,
            "epochs": epochs,
            "start_ms": scenario.start_ns // 1_000_000,
        },
        "hotspots": n,
        "scoreboard": rows,
        "cheaters_emission_share": cheaters_share(classes, outcome),
        "honest_verdicts_without_adversaries": compare_honest(run, clean, set(classes["honest"])),
        "payout_matches_manifest": (payout_matches_manifest(run.manifests, run.payouts) and
                                    payout_matches_manifest(clean.manifests, clean.payouts)),
        "epochs_run": [
            {"epoch": m["epoch"], "total_paid": m["total_paid"], "unallocated": m["unallocated"],
             "wallets": len(m["wallets"]), "merkle_root": m["merkle_root"]}
            for m in run.manifests
        ],
        "imported": run.imported,
        "witness_graph": run.links.graph_stats(),
        "timings_s": {"scenario": run.timings_s, "without_adversaries": clean.timings_s},
        "cpu_s": {"scenario": run.cpu_s, "without_adversaries": clean.cpu_s},
        "signatures_reused": {"scenario": run.signatures_reused,
                              "without_adversaries": clean.signatures_reused},
        "map": draw_map(run, map_path, out) if map_path is not None else None,
        "out": str(out),
    }


# Hotspots whose true place is farther than this from the asserted one get an overlay marker.
MOVED_M = 50.0


def draw_map(run: Any, path: Path, out: Path) -> dict:
    """The last epoch through `pocnet-oracle map`, with true places as its overlay (the
    simulator knows them; an operator's map would show GPS fixes there)."""
    import csv

    from pocnet.geo import haversine_m
    from sim_radio.scoreboard import classes_of

    truth = out / "true-places.csv"
    classes = classes_of(run.assignment.dishonest, len(run.assignment.hotspots))
    cheats: dict[int, list[str]] = {}
    for name, members in classes.items():
        for i in members:
            cheats.setdefault(i, []).append(name)
    with truth.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["address", "lat", "lon", "label"])
        for i, (h, claim) in enumerate(zip(run.assignment.hotspots, run.assignment.claims,
                                           strict=True)):
            if haversine_m(h.lat, h.lon, claim.asserted_lat, claim.asserted_lon) > MOVED_M:
                writer.writerow([run.writer_keys[i].public_key.address, h.lat, h.lon,
                                 "true place; " + ", ".join(cheats.get(i, ["honest"]))])
    epoch = run.manifests[-1]["epoch"]
    return run.oracle.run("map", "--epoch", str(epoch), "--out", str(path.resolve()),
                          "--overlay", str(truth), "--title", f"proving ground, epoch {epoch}")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pocnet")
    except PackageNotFoundError:
        return "unknown"


def _print(result: dict) -> None:
    from sim_radio.scoreboard import table

    made = result["made_of"]
    print(f"{made['scenario']}: {result['hotspots']} hotspots, {made['epochs']} epoch(s), "
          f"seed {made['seed']}, {made['propagation']}")
    print(table(result["scoreboard"]))
    share = result["cheaters_emission_share"]
    print(f"cheaters' share of the emission: {'-' if share is None else f'{share * 100:.1f} %'}")
    same = result["honest_verdicts_without_adversaries"]
    print(f"honest reports judged alike without adversaries: {same['same']} of "
          f"{same['compared']} ({same['beaconer_cheats']} differ as the beaconer cheats, "
          f"{same['reciprocity']} by reciprocity, {same['unexplained']} unexplained)")
    print(f"payout equals the manifests: {'yes' if result['payout_matches_manifest'] else 'NO'}")
    g = result["witness_graph"]
    print(f"witness graph: {g['links']} links, median link {g['link_distance_m']['p50']} m, "
          f"median degree {g['degree']['p50']}, {g['isolated_hotspots']} isolated")
