"""Benchmark of the SQLite side of `pocnet-oracle import` at a week's scale, without the rest.

Signing and checking millions of reports takes hours on this machine; what changes with scale is
SQLite's: report ids are random, so each insert lands on its own page of the id index, and the
WAL grows with every batch unless it starts over. This inserts synthetic rows shaped like the
proving ground's (random ids, 2,000 hotspots, ~96 witnesses a beacon sharing its data) through
`Repository.insert_reports`, in batches as the importer stores them, and prints the CPU
microseconds a report for each quarter-million (the rows' own generation, ~10 µs, included
alike in every setting) and the WAL's largest size.

    python tests/bench/bench_import_inserts.py --reports 1500000                 # the importer's
    python tests/bench/bench_import_inserts.py --reports 1500000 --batch 2000 \\
        --cache-kib 32768 --no-checkpoint                                         # before
    python tests/bench/bench_import_inserts.py --reports 1000000 --without reports_data  # its cost
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import tempfile
import time
from pathlib import Path

from oracle.importer import BATCH
from oracle.storage.repository import NewReport
from oracle.storage.sqlite import BULK_CACHE_KIB, SqliteRepository

HOTSPOTS = 2000
WITNESSES_PER_BEACON = 96  # the city's median degree at 2,000 hotspots × 7 epochs
STEP = 250_000  # rows a figure


def rows(count: int, seed: int = 1):  # type: ignore[no-untyped-def]
    rnd = random.Random(seed)
    keys = [b"\x01" + rnd.randbytes(32) for _ in range(HOTSPOTS)]
    received_ms = 1_767_000_000_000
    data = b""
    for n in range(count):
        beacon = n % (WITNESSES_PER_BEACON + 1) == 0
        if beacon:
            data = rnd.randbytes(51)
        received_ms += 3
        yield NewReport(
            hashlib.sha256(b"%d" % n).digest(), "beacon" if beacon else "witness",
            keys[rnd.randrange(HOTSPOTS)], received_ms, rnd.randbytes(250), data,
            rnd.randbytes(32) if beacon else None, received_ms + 200_000 if beacon else 0,
            450_000_000, 57_000_000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_500_000)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--cache-kib", type=int, default=BULK_CACHE_KIB)
    parser.add_argument("--no-checkpoint", action="store_true",
                        help="leave the WAL to the background checkpointer (before this change)")
    parser.add_argument("--without", action="append", default=[], metavar="INDEX",
                        help="drop this index of `reports` first: what it costs an insert "
                             "(docs/benchmarks.md, \"The import's inserts and indexes\")")
    parser.add_argument("--build-after", action="store_true",
                        help="create the indexes --without dropped again after the last insert "
                             "(counted): rows first, an index after")
    parser.add_argument("--index", action="append", default=[], metavar="SQL",
                        help="a CREATE INDEX statement to run first (an index in place of one "
                             "--without dropped)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        db = Path(tmp) / "oracle.db"
        repo = SqliteRepository(db, args.cache_kib)
        repo.migrate()
        dropped = []
        for index in args.without:
            with repo.transaction() as tx:
                tx.execute("SELECT sql FROM sqlite_master WHERE name = ?", (index,))
                dropped.append(tx.fetchone()[0])
                tx.execute(f"DROP INDEX {index}")
        for statement in args.index:
            with repo.transaction() as tx:
                tx.execute(statement)
        us_per_report: list[float] = []
        first_started = time.process_time()
        largest_wal = 0
        batch: list[NewReport] = []
        started = time.process_time()
        load_at_start = [round(x, 2) for x in os.getloadavg()]
        for n, row in enumerate(rows(args.reports), 1):
            batch.append(row)
            if len(batch) == args.batch or n == args.reports:
                repo.insert_reports(batch)
                batch = []
                largest_wal = max(largest_wal, os.path.getsize(f"{db}-wal"))
                if not args.no_checkpoint:
                    repo.checkpoint()
            if n % STEP == 0:
                now = time.process_time()
                us_per_report.append(round((now - started) / STEP * 1e6, 1))
                started = now
        build_s = 0.0
        if args.build_after:
            build_started = time.process_time()
            for statement in dropped:
                with repo.transaction() as tx:
                    tx.execute(statement)
            repo.checkpoint()
            build_s = time.process_time() - build_started
        repo.close()
    print(json.dumps({
        "reports": args.reports, "batch": args.batch, "cache_kib": args.cache_kib,
        "checkpoint_each_batch": not args.no_checkpoint, "without": args.without,
        "index": args.index, "build_after_cpu_s": round(build_s, 2),
        "cpu_us_per_report_by_quarter_million": us_per_report,
        "cpu_us_per_report": round((time.process_time() - first_started) / args.reports * 1e6, 1),
        "largest_wal_mb": largest_wal >> 20,
        "load_average_at_start": load_at_start,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
