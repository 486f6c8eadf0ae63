"""`pocnet-sim run SCENARIO`: run a whole simulated network and say what each hotspot heard.

Each round is one 6-hour beacon window in which every hotspot beacons once. The report gives,
per hotspot, the witness reports it would submit (count, RSSI and SNR mean/min/max), how many
of those a cheat produced or altered, and the cheats the scenario gave it, so the oracle's
detection can be scored against the truth.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from pocnet.cli import UsageError, integer, print_json, progress_bar


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "run",
        help="run a scenario's beacon rounds on the in-process mesh",
        description="Run a scenario (TOML) on the in-process radio mesh and report, per "
        "hotspot, what it heard and whether the scenario made it dishonest.",
    )
    p.add_argument("scenario", type=Path, help="scenario file (see sim_radio/scenarios/)")
    p.add_argument("--rounds", type=integer(), help="beacon rounds (6-hour windows) to run")
    p.add_argument("--seed", type=integer(), help="replace the scenario's seed")
    p.add_argument(
        "--population",
        type=Path,
        metavar="CSV",
        help="take hotspot positions from this CSV (lat/lng columns, .gz allowed)",
    )
    p.add_argument(
        "--receptions",
        action="store_true",
        help="also list, per hotspot, every beacon it heard: round, beaconer, RSSI, SNR and "
        "any cheat flags (large for big scenarios)",
    )
    p.add_argument("--links", type=Path, metavar="FILE",
                   help="write every (beacon, witness) reception as CSV (sim_radio/links.py); "
                   "the JSON then holds the witness graph's statistics")
    p.add_argument("--json", action="store_true", help="full per-hotspot structure as JSON")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    from sim_radio.adversaries import FLAG_NAMES, witness_reports
    from sim_radio.population import PopulationError
    from sim_radio.scenario import ScenarioError, build, load_scenario

    if args.rounds is not None and not 1 <= args.rounds <= 10_000:
        raise UsageError(f"--rounds must be 1..10000, got {args.rounds}")
    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed must not be negative, got {args.seed}")
    if args.links is not None and not args.links.parent.is_dir():
        raise UsageError(f"--links: folder {args.links.parent} does not exist")
    try:
        scenario = load_scenario(args.scenario, args.population)
        if args.rounds is not None:
            scenario = replace(scenario, rounds=args.rounds)
        if args.seed is not None:
            scenario = replace(scenario, seed=args.seed)
        mesh, assignment = build(scenario)
    except ScenarioError as exc:  # CLI errors are one line: the mistakes joined by "; "
        raise UsageError("; ".join(exc.errors)) from None
    except PopulationError as exc:
        raise UsageError(str(exc)) from None

    n = len(mesh.hotspots)
    count = np.zeros(n, np.int64)
    rssi_sum, snr_sum = np.zeros(n), np.zeros(n)
    rssi_min, snr_min = np.full(n, np.inf), np.full(n, np.inf)
    rssi_max, snr_max = np.full(n, -np.inf), np.full(n, -np.inf)
    beacons = np.zeros(n, np.int64)
    flagged = {name: np.zeros(n, np.int64) for name in FLAG_NAMES.values()}
    rounds: list[dict[str, int]] = []
    heard_lists: list[list[dict[str, Any]]] | None = (
        [[] for _ in range(n)] if args.receptions else None
    )
    links = None
    if args.links is not None:
        from sim_radio.links import LinkLog

        links = LinkLog(assignment)
    with progress_bar(scenario.name, "beacon", hidden=args.json,
                      total=n * scenario.rounds) as bar:
        for r in range(scenario.rounds):
            result = mesh.beacon_round(r, progress=bar.update)
            reports = witness_reports(mesh, result, assignment)
            w = reports.witness
            beacons += np.bincount(result.transmissions.tx, minlength=n)
            count += np.bincount(w, minlength=n)
            rssi_sum += np.bincount(w, reports.rssi_dbm, minlength=n)
            snr_sum += np.bincount(w, reports.snr_db, minlength=n)
            np.minimum.at(rssi_min, w, reports.rssi_dbm)
            np.maximum.at(rssi_max, w, reports.rssi_dbm)
            np.minimum.at(snr_min, w, reports.snr_db)
            np.maximum.at(snr_max, w, reports.snr_db)
            for bit, name in FLAG_NAMES.items():
                flagged[name] += np.bincount(w[(reports.flags & bit) != 0], minlength=n)
            rounds.append({**result.stats, "round": r, "witness_reports": len(reports)})
            if heard_lists is not None:
                _collect_receptions(heard_lists, r, reports, mesh.hotspots, FLAG_NAMES)
            if links is not None:
                links.add_round(r, reports)

    hotspots = []
    for i, h in enumerate(mesh.hotspots):
        c = int(count[i])
        claim = assignment.claims[i]
        hotspots.append(
            {
                "id": h.node_id,
                "lat": h.lat,
                "lon": h.lon,
                "height_m": h.height_m,
                "gain_dbi_x10": h.gain_dbi_x10,
                "radio": h.radio_kind,
                "region": h.region,
                "asserted": {"lat": claim.asserted_lat, "lon": claim.asserted_lon},
                "gps": None
                if claim.gps_lat is None
                else {"lat": claim.gps_lat, "lon": claim.gps_lon},
                "clock_offset_s": claim.clock_offset_ns / 1e9,
                "beacons": int(beacons[i]),
                "heard": c,
                "rssi_dbm": _stats(c, rssi_sum[i], rssi_min[i], rssi_max[i]),
                "snr_db": _stats(c, snr_sum[i], snr_min[i], snr_max[i]),
                "flagged_reports": {k: int(v[i]) for k, v in flagged.items() if v[i]},
                "dishonest": [d.as_dict() for d in assignment.dishonest.get(i, ())],
                "cable_loss_db": h.cable_loss_db,
                "indoor": h.indoor,
                "entry_loss_db": h.entry_loss_db,
                "noise_excess_db": h.noise_excess_db,
            }
        )
        if heard_lists is not None:
            hotspots[-1]["receptions"] = heard_lists[i]
    summary = {
        "scenario": scenario.name,
        "file": str(scenario.path),
        "seed": scenario.seed,
        "region": scenario.region,
        "propagation": scenario.model.name,
        "hotspots": n,
        "dishonest": len(assignment.dishonest),
        "rounds": rounds,
        "index_range_m": round(mesh.range_m, 1),
        "channel": scenario.channel.name,
        "siting": None if scenario.siting is None else scenario.siting.name,
    }
    if links is not None:
        from sim_radio.links import write_links

        write_links(args.links, links)
        summary["witness_graph"] = links.graph_stats()
    if args.json:
        print_json({**summary, "hotspot_reports": hotspots})
        return 0
    try:
        _print_text(summary, hotspots)
    except BrokenPipeError:  # `pocnet-sim run X | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _collect_receptions(
    into: list[list[dict[str, Any]]],
    round_index: int,
    reports: Any,
    hotspots: Any,
    flag_names: dict[int, str],
) -> None:
    """Append each witness report of one round to its witness's list, as a radio saw it."""
    for k in range(len(reports)):
        flags = int(reports.flags[k])
        into[int(reports.witness[k])].append(
            {
                "round": round_index,
                "from": hotspots[int(reports.beaconer[k])].node_id,
                "rssi_dbm": float(reports.rssi_dbm[k]),
                "snr_db": float(reports.snr_db[k]),
                "flags": [name for bit, name in flag_names.items() if flags & bit],
            }
        )


def _stats(count: int, total: float, lo: float, hi: float) -> dict[str, float] | None:
    if not count:
        return None
    return {"mean": round(total / count, 2), "min": float(lo), "max": float(hi)}


def _print_text(summary: dict[str, Any], hotspots: list[dict[str, Any]]) -> None:
    out = sys.stdout
    heard = sum(r["witness_reports"] for r in summary["rounds"])
    out.write(
        f"{summary['scenario']}: {summary['hotspots']} hotspots ({summary['dishonest']} "
        f"dishonest), {len(summary['rounds'])} round(s), {summary['propagation']}, seed "
        f"{summary['seed']}: {heard} witness reports\n"
    )
    out.write(
        f"{'hotspot':<14} {'heard':>6} {'rssi mean/min/max dBm':>23} "
        f"{'snr mean/min/max dB':>22}  dishonest\n"
    )
    for h in hotspots:
        rssi, snr = h["rssi_dbm"], h["snr_db"]
        r = f"{rssi['mean']:.1f}/{rssi['min']:.0f}/{rssi['max']:.0f}" if rssi else "-"
        s = f"{snr['mean']:.2f}/{snr['min']:.2f}/{snr['max']:.2f}" if snr else "-"
        cheats = ",".join(d["behaviour"] for d in h["dishonest"]) or "-"
        out.write(f"{h['id']:<14} {h['heard']:>6} {r:>23} {s:>22}  {cheats}\n")
        for rx in h.get("receptions", ()):
            flags = f"  [{','.join(rx['flags'])}]" if rx["flags"] else ""
            out.write(
                f"    round {rx['round']} from {rx['from']}: {rx['rssi_dbm']:.0f} dBm, "
                f"SNR {rx['snr_db']:.2f} dB{flags}\n"
            )
