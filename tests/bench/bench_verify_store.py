"""Benchmark: `pocnet-oracle verify`'s CPU per report on a kept store, this tree against another.

A store is an oracle folder a proving-ground run kept (`pocnet-sim epochs SCENARIO --epochs N
--out DIR`: DIR/scenario holds oracle.toml and oracle.db, SQLite). For each pair, the store is
copied twice; each copy is opened once by its own tree (so its migrations are applied before
the timing), then every verdict is deleted and every beacon set back to pending, and the two
`verify` runs start side by side (which one starts first alternates): on a shared machine both
see the same load, and the ratio is what counts. CPU = user + sys of the `verify` process,
wall = from its start to its exit.
After each pair the two copies' verdicts are compared field by field (all but
`verified_at_ms`), and each report's status as `report list` reads it.

    python tests/bench/bench_verify_store.py DIR/scenario --against /path/to/main/.venv/bin/python
    python tests/bench/bench_verify_store.py DIR/scenario --against ... --pairs 4 --json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

VERDICTS = (
    "SELECT report_id, kind, hotspot_key, beacon_id, received_ms, valid, reason, selected, "
    "location_trust, passed_regular, witnesses, detail FROM verdicts ORDER BY report_id"
)
OPEN = ("import sys; from oracle.storage import open_repository; "
        "open_repository(sys.argv[1]).close()")
STATUS = ("from oracle.storage import open_repository; import sys, json; "
          "r = open_repository(sys.argv[1])")


def _copy(store: Path, into: Path, python: str) -> Path:
    store, into = store.resolve(), into.resolve()
    into.mkdir()
    db = into / "oracle.db"
    shutil.copyfile(store / "oracle.db", db)
    (into / "oracle.key").write_bytes((store / "oracle.key").read_bytes())
    text = (store / "oracle.toml").read_text()
    lines = [
        f'key = "{into / "oracle.key"}"' if line.startswith("key =")
        else f'database = "sqlite:///{db}"' if line.startswith("database =") else line
        for line in text.splitlines()
    ]
    (into / "oracle.toml").write_text("\n".join(lines) + "\n")
    # Migrated before the timing, by the tree's own code: run from the copy's folder, as
    # `python -c` puts the working directory first on the path (a tree's `oracle` there).
    subprocess.run([python, "-c", OPEN, f"sqlite:///{db}"], check=True, cwd=into)
    with sqlite3.connect(db) as con:
        con.execute("DELETE FROM verdicts")
        con.execute("UPDATE reports SET status = 'pending', claimed_by = NULL, "
                    "claim_until_ms = NULL WHERE kind IN (0, 1)")
        if con.execute("SELECT 1 FROM sqlite_master WHERE name = 'witness_sweep'").fetchall():
            con.execute("UPDATE witness_sweep SET swept_ms = -1")
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("VACUUM")
    return into


def _verify(python: str, folder: Path, out: dict[str, Any]) -> None:
    exe = str(Path(python).parent / "pocnet-oracle")
    started = time.monotonic()
    proc = subprocess.Popen([exe, "verify", "--config", str(folder / "oracle.toml"), "--json"],
                            stdout=subprocess.PIPE, cwd=folder)
    assert proc.stdout is not None
    text = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{exe} verify exited {proc.returncode}")
    out.update(json.loads(text), cpu_s=round(usage.ru_utime + usage.ru_stime, 2),
               wall_s=round(time.monotonic() - started, 2))


def _statuses(python: str, folder: Path) -> list[tuple[str, str]]:
    """Each report's (id, status) as its own tree's `find_reports` reads it."""
    code = (STATUS + "; from oracle.storage.repository import ReportFilter; "
            "print(json.dumps([(x.id.hex(), x.status) for x in "
            "r.find_reports(ReportFilter(), 10**9, 0)]))")
    text = subprocess.run([python, "-c", code, f"sqlite:///{folder / 'oracle.db'}"],
                          check=True, capture_output=True, text=True, cwd=folder).stdout
    return sorted(tuple(x) for x in json.loads(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path, help="an oracle folder (oracle.toml, oracle.db)")
    parser.add_argument("--against", required=True, help="the other tree's python")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ours = sys.executable
    with sqlite3.connect(args.store / "oracle.db") as con:
        reports = con.execute("SELECT count(*) FROM reports WHERE kind IN (0, 1)").fetchone()[0]
    runs = []
    for pair in range(args.pairs):
        with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
            folders = {"other": _copy(args.store, Path(tmp) / "other", args.against),
                       "ours": _copy(args.store, Path(tmp) / "ours", ours)}
            pythons = {"other": args.against, "ours": ours}
            order = ["other", "ours"] if pair % 2 == 0 else ["ours", "other"]
            results: dict[str, dict[str, Any]] = {name: {} for name in order}
            load = os.getloadavg()[0]
            threads = [threading.Thread(target=_verify,
                                        args=(pythons[n], folders[n], results[n]))
                       for n in order]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            verdicts = {}
            for name, folder in folders.items():
                with sqlite3.connect(folder / "oracle.db") as con:
                    verdicts[name] = con.execute(VERDICTS).fetchall()
            same = verdicts["ours"] == verdicts["other"]
            same_status = (_statuses(args.against, folders["other"])
                           == _statuses(ours, folders["ours"]))
            run = {"pair": pair, "first": order[0], "load_start": round(load, 2),
                   "load_end": round(os.getloadavg()[0], 2),
                   "other_cpu_s": results["other"]["cpu_s"], "ours_cpu_s": results["ours"]["cpu_s"],
                   "other_wall_s": results["other"]["wall_s"],
                   "ours_wall_s": results["ours"]["wall_s"],
                   "ratio": round(results["ours"]["cpu_s"] / results["other"]["cpu_s"], 3),
                   "verdicts": len(verdicts["ours"]), "verdicts_identical": same,
                   "statuses_identical": same_status}
            runs.append(run)
            if not args.json:
                print(run, flush=True)
    total_other = sum(r["other_cpu_s"] for r in runs)
    total_ours = sum(r["ours_cpu_s"] for r in runs)
    summary = {"reports": reports, "pairs": runs,
               "other_us_per_report": round(total_other / len(runs) / reports * 1e6, 1),
               "ours_us_per_report": round(total_ours / len(runs) / reports * 1e6, 1),
               "ratio": round(total_ours / total_other, 3)}
    print(json.dumps(summary, indent=2) if args.json else
          f"{reports} reports: other {summary['other_us_per_report']} µs, ours "
          f"{summary['ours_us_per_report']} µs a report, ratio {summary['ratio']}")


if __name__ == "__main__":
    main()
