"""Durability: `pocnet-oracle serve` is SIGKILLed repeatedly while a client submits reports;
after each restart every acknowledged report is stored exactly once (docs/architecture.md:
acknowledge after the commit, never before)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
from oracle_factories import keypair, witness_report

from pocnet.keys import create_keyfile
from pocnet.wire import service_pb2_grpc

KILLS = 3
# Each round kills the server once this many of the round's reports are acknowledged, while
# the client keeps submitting: an event, not a wall-clock window, so a busy machine only makes
# the round slower (never too short to acknowledge anything).
ACKS_PER_ROUND = 64
ROUND_TIMEOUT_S = 120.0


def _start(tmp: Path) -> tuple[subprocess.Popen[str], int]:
    env = dict(os.environ, POCNET_ORACLE_RATE_LIMIT_PER_KEY_BURST="100000",
               POCNET_ORACLE_RATE_LIMIT_PER_KEY_RATE_PER_S="100000",
               POCNET_ORACLE_VERIFIER_INTERVAL_S="3600")
    proc = subprocess.Popen(
        [sys.executable, "-m", "oracle.cli", "serve", "--create", "--listen", "127.0.0.1:0",
         "--json",
         "--database", f"sqlite:///{tmp / 'oracle.db'}", "--key", str(tmp / "oracle.key")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else "no output"
    return proc, json.loads(line)["port"]


def _load(port: int, reports: list, acked: dict, stop: threading.Event, start: int) -> None:  # type: ignore[type-arg]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = service_pb2_grpc.IngestServiceStub(channel)
        futures = []
        i = start
        while not stop.is_set() and i < len(reports):
            futures.append((reports[i], stub.SubmitWitness.future(reports[i], timeout=30)))
            i += 1
            if len(futures) >= 32:
                _collect(futures, acked)
        _collect(futures, acked)


def _collect(futures: list, acked: dict) -> None:  # type: ignore[type-arg]
    for _report, future in futures:
        try:
            ack = future.result()
        except grpc.RpcError:
            continue  # not acknowledged: the server died first; the client would resend
        acked[ack.id] = ack.received_ms
    futures.clear()


def _wait_for_acks(acked: dict, at_least: int, loader: threading.Thread) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + ROUND_TIMEOUT_S
    while len(acked) < at_least:
        assert loader.is_alive(), "the client stopped before the server acknowledged enough"
        assert time.monotonic() < deadline, f"{len(acked)} acks after {ROUND_TIMEOUT_S} s"
        time.sleep(0.01)


def test_acknowledged_reports_survive_sigkill(tmp_path: Path) -> None:
    create_keyfile(tmp_path / "oracle.key")
    keys = [keypair(500 + i) for i in range(40)]
    reports = [witness_report(keys[i % 40], timestamp_ns=i + 1) for i in range(12_000)]
    acked: dict[bytes, int] = {}
    sent = 0
    for _ in range(KILLS):
        proc, port = _start(tmp_path)
        stop = threading.Event()
        before = len(acked)
        loader = threading.Thread(target=_load, args=(port, reports, acked, stop, sent))
        loader.start()
        # Real load against a real process (the point of the test), killed mid-load.
        _wait_for_acks(acked, before + ACKS_PER_ROUND, loader)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        stop.set()
        loader.join(60)
        assert not loader.is_alive()
        sent = max(sent, len(acked)) + 2000  # skip past whatever was in flight
        sent = min(sent, len(reports) - 1)
    # Restart once more: every acked report is there, once, with the acked receive time.
    proc, port = _start(tmp_path)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = service_pb2_grpc.IngestServiceStub(channel)
            sample = reports[:50]
            for report in sample:
                ack = stub.SubmitWitness(report, timeout=5)
                if ack.id in acked:
                    assert ack.duplicate and ack.received_ms == acked[ack.id]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    with sqlite3.connect(tmp_path / "oracle.db") as db:
        rows = dict(db.execute("SELECT id, received_ms FROM reports").fetchall())
        (count,) = db.execute("SELECT count(*) FROM reports").fetchone()
    assert count == len(rows)
    missing = [i for i in acked if i not in rows]
    assert not missing, f"{len(missing)} acknowledged reports lost"
    assert all(rows[i] == ms for i, ms in acked.items())
