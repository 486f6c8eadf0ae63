"""Outbox durability across kill -9 and an oracle outage (issue 5, "Done when").

The real daemon (`pocnet-hotspot run`) runs in a subprocess against an in-test gRPC oracle
that stores what it acks. It is killed with SIGKILL in the middle of uploading, restarted
while the oracle is down, and the oracle comes back: every report must end up stored exactly
once, none lost, and the outbox empty.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hotspot_sink_oracle import SinkOracle, SinkServer

from hotspot.keystore import KeyStore
from hotspot.outbox import Outbox
from hotspot.uploader import BATCH as UPLOAD_BATCH
from pocnet.beacon import beacon_tail_wait_s
from pocnet.wire import reports_pb2

ROOT = Path(__file__).resolve().parents[2]
REPORTS = 120
# From starting a daemon to its first beacon: a busy machine's start plus its first delay.
DAEMON_LEAD_S = 60.0


def wait_for(condition, timeout_s: float = 120.0) -> None:
    """Wait for an event: generous, since a daemon restart on a busy machine takes seconds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def start_daemon(conf: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POCNET_")}
    return subprocess.Popen(
        [sys.executable, "-m", "hotspot.cli", "run", "-c", str(conf)],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )


def depth(path: Path) -> int:
    box = Outbox(path)
    try:
        return box.depth()
    finally:
        box.close()


def queue_witnesses(tmp_path: Path, count: int) -> set[bytes]:
    """A device key and `count` signed witness reports already in the daemon's outbox."""
    keys = KeyStore.create(tmp_path / "hotspot.key")
    box = Outbox(tmp_path / "outbox.sqlite")
    ids = set()
    for n in range(count):
        report = reports_pb2.WitnessReport(pub_key=keys.key_bytes, data=n.to_bytes(51, "big"),
                                           signal=-900, timestamp=n)
        keys.sign(report)
        ids.add(box.enqueue("witness", report, created_ns=n, expires_ns=None))
    box.close()
    return ids


def write_settings(tmp_path: Path, server: SinkServer, beacon: str = "") -> Path:
    conf = tmp_path / "hotspot.toml"
    conf.write_text(
        f'[key]\nfile = "{tmp_path / "hotspot.key"}"\n'
        f'[oracle]\nendpoints = ["{server.endpoint}"]\ntimeout_s = 2.0\n'
        f'[radio]\nkind = "sim"\n[beacon]\nregion = "EU868"\n{beacon}'
        f'[outbox]\npath = "{tmp_path / "outbox.sqlite"}"\n[metrics]\nport = 0\n'
    )
    return conf


@pytest.mark.timeout(600)  # a hang guard over several generous event waits
def test_kill_9_mid_send_and_oracle_outage_lose_nothing(tmp_path: Path) -> None:
    ids = queue_witnesses(tmp_path, REPORTS)
    outbox_path = tmp_path / "outbox.sqlite"
    oracle = SinkOracle()
    oracle.ack_delay_s = 0.01
    server = SinkServer(oracle).start()
    conf = write_settings(tmp_path, server)
    log = tmp_path / "daemon.log"
    try:
        daemon = start_daemon(conf, log)
        wait_for(lambda: oracle.submissions >= 40)
        daemon.send_signal(signal.SIGKILL)
        assert daemon.wait(10) == -signal.SIGKILL
        stored_at_kill = len(oracle.stored)
        left = depth(outbox_path)
        assert stored_at_kill < REPORTS and left > 0
        # Acked reports left the outbox; at most those in flight (one report batch, the
        # uploader's bound) are stored but not acked.
        assert REPORTS - stored_at_kill <= left <= REPORTS - stored_at_kill + UPLOAD_BATCH

        server.stop()                          # the oracle goes down
        before = log.read_bytes().count(b"upload_backoff")
        daemon = start_daemon(conf, log)
        # the daemon retries against a dead oracle, backing off
        wait_for(lambda: log.read_bytes().count(b"upload_backoff") > before)
        assert depth(outbox_path) == left
        server.start()                         # ... and comes back on the same port
        wait_for(lambda: depth(outbox_path) == 0)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(15) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
        server.stop()
    assert set(oracle.stored) == ids                       # none lost
    assert all(n == 1 for n in oracle.acked_new.values())  # each stored and acked once
    assert len(oracle.acked_new) == REPORTS
    assert oracle.submissions - REPORTS <= UPLOAD_BATCH     # only those in flight re-sent
    assert b'"event": "stopped"' in log.read_bytes()


@pytest.mark.timeout(600)  # may first wait out a beacon window's tail (up to ~6 min)
def test_oracle_restart_under_a_connected_daemon_keeps_logs_json(tmp_path: Path) -> None:
    """An oracle upgrade closes the open report stream (HTTP/2 GOAWAY). The daemon must carry
    on, and stdout/stderr must stay one JSON object per line: gRPC's C core prints its own
    plain-text notices there by default, and one such line breaks the documented
    `journalctl -o cat | jq` pipeline."""
    import json

    ids = queue_witnesses(tmp_path, 5)
    oracle = SinkOracle()
    server = SinkServer(oracle).start()
    conf = write_settings(tmp_path, server, "first_delay_min_s = 3\nfirst_delay_max_s = 3\n")
    log = tmp_path / "daemon.log"
    # A start in a beacon window's last minutes would put the first beacon past the window.
    time.sleep(beacon_tail_wait_s(time.time(), DAEMON_LEAD_S))
    daemon = start_daemon(conf, log)
    try:
        wait_for(lambda: len(oracle.stored) == 5)
        assert oracle.sessions == 1                 # a report stream is open
        server.stop()                               # the oracle restarts under it
        server.start()
        # The daemon's first beacon (3 s after start) goes out over a new connection.
        wait_for(lambda: any(kind == "beacon" for kind, _ in oracle.stored.values()))
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(15) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
        server.stop()
    assert ids <= set(oracle.stored)
    lines = log.read_text().splitlines()
    assert any('"event": "beacon_sent"' in line for line in lines)
    for line in lines:
        json.loads(line)
