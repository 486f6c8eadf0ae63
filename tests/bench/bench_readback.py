"""Benchmark of the proving ground's read-back alone, on an oracle a run kept
(`bench_proving.py --keep DIR` or `pocnet-sim epochs --out DIR`): every verdict read through the
Query service of a `pocnet-oracle serve` started for it, in two ways, alternately:

- `pages`: StreamVerdicts, the simulator's read-back (sim_radio/oracle_driver.query_verdicts);
- `per_poc`: the read-back before it, GetPocVerdicts of 32 beacons a call with four calls in
  flight, then GetReport for each witness whose verdict names no beacon (the beacons and those
  witnesses taken from the pages' rows).

Each round starts its own server, so both pay its start and stop alike; `serve_idle` is a
server started and stopped with no call, the part of `serve_cpu_s` that is not the read-back.
Prints one JSON document: per round the wall seconds of the reading, the server's CPU seconds
(wait4, with its workers) and the client's (its thread), and whether both ways read the same
verdicts.

    python tests/bench/bench_readback.py KEPT/scenario --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import deque
from pathlib import Path
from typing import Any

import grpc

from pocnet.wire import service_pb2, service_pb2_grpc, verdict_pb2
from sim_radio.oracle_driver import CpuTime, Oracle, query_verdicts

POCS_PER_CALL, CALLS_IN_FLIGHT = 32, 4


def per_poc(address: str, beacon_ids: list[bytes], lone: list[bytes]
            ) -> dict[bytes, tuple[bool, str]]:
    """The read-back before StreamVerdicts, as the simulator did it."""
    names = {v.number: v.name for v in verdict_pb2.InvalidReason.DESCRIPTOR.values}
    out: dict[bytes, tuple[bool, str]] = {}
    with grpc.insecure_channel(address) as channel:
        stub = service_pb2_grpc.QueryServiceStub(channel)
        calls: deque[Any] = deque()

        def read(call: Any) -> None:
            for v in call.result().verdicts:
                out[v.report_id] = (True, "") if v.valid else (False, names[v.reason])

        for start in range(0, len(beacon_ids), POCS_PER_CALL):
            request = service_pb2.PocVerdictsRequest(
                beacon_ids=beacon_ids[start:start + POCS_PER_CALL])
            calls.append(stub.GetPocVerdicts.future(request, timeout=60))
            if len(calls) >= CALLS_IN_FLIGHT:
                read(calls.popleft())
        while calls:
            read(calls.popleft())
        for report_id in lone:
            v = stub.GetReport(service_pb2.ReportRequest(id=report_id), timeout=60).summary.verdict
            out[report_id] = (True, "") if v.valid else (False, names[v.reason])
    return out


def beacons_and_lone_witnesses(address: str) -> tuple[list[bytes], list[bytes]]:
    beacons, lone = [], []
    with grpc.insecure_channel(address) as channel:
        stub = service_pb2_grpc.QueryServiceStub(channel)
        after: dict[str, Any] = {}
        while True:
            last = None
            for page in stub.StreamVerdicts(service_pb2.VerdictRowsRequest(
                    from_ms=0, to_ms=2**63 - 1, page_rows=16_384, **after), timeout=120):
                for rid, kind, beacon in zip(page.report_ids, page.kinds, page.beacon_ids,
                                             strict=True):
                    if kind == verdict_pb2.BEACON:
                        beacons.append(rid)
                    elif not beacon:
                        lone.append(rid)
                last = page
            if last is None or not last.more:
                return beacons, lone
            after = {"after_received_ms": last.received_ms[-1],
                     "after_report_id": last.report_ids[-1]}


def measured(oracle: Oracle, read: Any) -> tuple[dict[str, float], Any]:
    cpu = CpuTime({})
    started = time.monotonic()
    with oracle.serving(cpu) as address:
        t, c = time.monotonic(), time.thread_time()
        result = read(address) if read else None
        figures = {"read_wall_s": time.monotonic() - t, "client_cpu_s": time.thread_time() - c}
    figures["wall_s"] = time.monotonic() - started
    figures["serve_cpu_s"] = cpu.seconds["serve"]
    return {k: round(v, 2) for k, v in figures.items()}, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kept", type=Path, help="a pass's folder: oracle.toml, oracle.key, "
                        "oracle.db")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    d = args.kept
    oracle = Oracle(d, d / "oracle.toml", None, d / "payout-ledger.db")  # type: ignore[arg-type]
    out: dict[str, Any] = {"kept": str(d), "load_start": os.getloadavg(), "rounds": []}
    idle, _ = measured(oracle, None)
    out["serve_idle"] = idle
    _, (beacons, lone) = measured(oracle, beacons_and_lone_witnesses)
    out["beacons"], out["lone_witnesses"] = len(beacons), len(lone)
    for _ in range(args.rounds):
        pages, by_pages = measured(oracle, query_verdicts)
        pocs, by_poc = measured(oracle, lambda a: per_poc(a, beacons, lone))
        out["rounds"].append({"pages": pages, "per_poc": pocs, "verdicts": len(by_pages),
                              "same_verdicts": by_pages == by_poc})
    out["load_end"] = os.getloadavg()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
