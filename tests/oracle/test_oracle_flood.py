"""The flood (issue 10 "Done when"): 100 fresh keys sending witness reports as fast as one
client can against one oracle on loopback. The database grows by no more than the budget keys
not onboarded share, and an onboarded hotspot sending meanwhile has every report acknowledged.
Bounded: 5 s of flood, at most 20,000 reports. (Its ack latency against the flood's is measured
by tests/bench/bench_flood.py; figures in docs/benchmarks.md.)"""

from __future__ import annotations

import threading
import time

import grpc
from oracle_client import RunningServer
from oracle_factories import assertion, keypair, witness_report

from pocnet.wire import service_pb2_grpc

FLOOD_S = 5.0
MAX_REPORTS = 20_000
IN_FLIGHT = 128
FRESH_KEYS = 100
BUDGET = {"reports_per_s": 20.0, "reports_burst": 40.0, "bytes_per_s": 4000.0,
          "bytes_burst": 8000.0}


def _flood(address: str, stop: threading.Event, counts: dict[str, int]) -> None:
    keys = [keypair(10_000 + i) for i in range(FRESH_KEYS)]
    with grpc.insecure_channel(address) as channel:
        submit = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness
        pending: list[grpc.Future] = []
        n = 0
        while not stop.is_set() and n < MAX_REPORTS:
            report = witness_report(keys[n % FRESH_KEYS], timestamp_ns=n + 1)
            pending.append(submit.future(report, timeout=30))
            n += 1
            if len(pending) >= IN_FLIGHT:
                for future in pending:
                    counts["acked" if future.exception() is None else
                           future.exception().code().name] += 1
                pending = []
        for future in pending:
            counts["acked" if future.exception() is None else
                   future.exception().code().name] += 1
    counts["sent"] = n


def test_fresh_keys_cannot_grow_the_database_beyond_their_shared_budget(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    settings, operator = oracle_settings
    settings = settings.with_("not_onboarded", **BUDGET).with_(
        "rate_limit", per_key_rate_per_s=1000.0, per_key_burst=1000.0)  # per key: no help
    running = RunningServer(settings, operator)
    hotspot = keypair(77)
    running.oracle.registry.assert_location(assertion(hotspot, keypair(78)))
    counts: dict[str, int] = {"acked": 0, "RESOURCE_EXHAUSTED": 0}
    stop = threading.Event()
    try:
        started = time.monotonic()
        flood = threading.Thread(target=_flood, args=(running.address, stop, counts))
        flood.start()
        ours = []
        with grpc.insecure_channel(running.address) as channel:
            submit = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness
            for i in range(40):  # the onboarded hotspot, meanwhile
                report = witness_report(hotspot, timestamp_ns=i + 1)
                ours.append(submit(report, timeout=30).id)
                time.sleep(FLOOD_S / 40)
        stop.set()
        flood.join(60)
        elapsed_s = time.monotonic() - started
        assert not flood.is_alive()
    finally:
        stop.set()
        running.close()
    assert len(set(ours)) == 40  # every report of the onboarded hotspot acknowledged
    repo_rows = _stored_by_others(settings, hotspot.public_key.to_bytes())
    rows, raw_bytes = repo_rows
    allowed_reports = BUDGET["reports_burst"] + BUDGET["reports_per_s"] * elapsed_s
    allowed_bytes = BUDGET["bytes_burst"] + BUDGET["bytes_per_s"] * elapsed_s
    assert counts["sent"] > 10 * allowed_reports  # it was a flood ...
    assert rows == counts["acked"] and rows <= allowed_reports  # ... and the budget held
    assert raw_bytes <= allowed_bytes
    assert counts["RESOURCE_EXHAUSTED"] == counts["sent"] - counts["acked"]


def _stored_by_others(settings, ours: bytes) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    from oracle.storage import open_repository

    repo = open_repository(settings.oracle.database)
    try:
        with repo.transaction() as tx:
            tx.execute("SELECT count(*), coalesce(sum(length(raw)), 0) FROM reports "
                       "WHERE hotspot_key <> ?", (ours,))
            count, size = tx.fetchone()
    finally:
        repo.close()
    return int(count), int(size)
