"""`pocnet-hotspot info` with several oracle endpoints: each is tried in turn, and gRPC's own
log lines stay off the owner's terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hotspot_sink_oracle import SinkOracle, SinkServer
from hotspot_testkit import make_settings

from hotspot.outbox import Outbox

REPO = Path(__file__).resolve().parents[2]
DEAD = "127.0.0.1:1"  # nothing listens on port 1: refused at once


def _conf(tmp: Path, endpoints: list[str]) -> Path:
    make_settings(tmp, endpoints[0])  # creates the key
    conf = tmp / "hotspot.toml"
    conf.write_text(
        f'[key]\nfile = "{tmp / "hotspot.key"}"\n[oracle]\nendpoints = {json.dumps(endpoints)}\n'
        f'timeout_s = 2.0\n[radio]\nkind = "sim"\n[outbox]\npath = "{tmp / "o.sqlite"}"\n'
    )
    return conf


def _info(conf: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("POCNET_", "GRPC_"))}
    return subprocess.run([sys.executable, "-m", "hotspot.cli", "info", "-c", str(conf), *extra],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def test_the_next_endpoint_answers_when_the_first_is_down(tmp_path: Path) -> None:
    server = SinkServer(SinkOracle()).start()
    try:
        conf = _conf(tmp_path, [DEAD, server.endpoint])
        done = _info(conf, "--json")
        text = _info(conf)
    finally:
        server.stop()
    assert done.returncode == 0 and done.stderr == "", done.stderr
    oracle = json.loads(done.stdout)["oracle"]
    assert oracle["reachable"] is True and oracle["endpoint"] == server.endpoint
    assert [t["endpoint"] for t in oracle["tried"]] == [DEAD]
    assert text.returncode == 0 and text.stderr == "", text.stderr
    assert f"oracle       unreachable at {DEAD}: " in text.stdout
    assert f"oracle       connected to {server.endpoint}" in text.stdout


def test_every_endpoint_down_is_reported_each_and_exits_0(tmp_path: Path) -> None:
    conf = _conf(tmp_path, [DEAD, "127.0.0.1:2"])
    done = _info(conf, "--json")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    oracle = json.loads(done.stdout)["oracle"]
    assert oracle["reachable"] is False
    assert [t["endpoint"] for t in oracle["tried"]] == [DEAD, "127.0.0.1:2"]
    text = _info(conf)
    assert text.stderr == "" and text.stdout.count("oracle       unreachable at ") == 2


def test_a_failed_tls_handshake_stays_off_the_terminal(tmp_path: Path) -> None:
    """TLS to a plaintext oracle: the handshake fails below our code (grpcio's C core printed
    "Handshake failed with error SSL_ERROR_SSL ..." on stderr itself; asyncio's SSL transport
    may log it too); the owner sees only our answer."""
    server = SinkServer(SinkOracle()).start()
    try:
        conf = _conf(tmp_path, [server.endpoint])
        conf.write_text(conf.read_text().replace("timeout_s = 2.0\n",
                                                 "timeout_s = 2.0\ntls = true\n"))
        done = _info(conf)
    finally:
        server.stop()
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert f"oracle       unreachable at {server.endpoint}: " in done.stdout


def test_the_owner_is_told_why_the_hotspot_is_denied(tmp_path: Path) -> None:
    from pocnet.wire import registry_pb2

    oracle = SinkOracle()
    oracle.denial = registry_pb2.Denial(reason="detect epoch 20400: signal_excess",
                                        evidence='[{"links":9}]', expires_at_ms=1_763_000_000_000)
    server = SinkServer(oracle).start()
    try:
        conf = _conf(tmp_path, [server.endpoint])
        done = _info(conf, "--json")
        text = _info(conf)
    finally:
        server.stop()
    oracle_out = json.loads(done.stdout)["oracle"]
    assert oracle_out["denied"] is True
    assert oracle_out["denial"] == {"reason": "detect epoch 20400: signal_excess",
                                    "evidence": '[{"links":9}]', "until": "2025-11-13 02:13:20Z"}
    assert ("denied       detect epoch 20400: signal_excess, until 2025-11-13 02:13:20Z; "
            'evidence [{"links":9}]') in text.stdout


def test_the_owner_is_told_which_pairs_are_denied(tmp_path: Path) -> None:
    """Keys behind one antenna: the pair's witnessing is refused, whichever of the two asks."""
    from pocnet.keys import Keypair
    from pocnet.wire import registry_pb2

    partner = Keypair.from_seed(b"p" * 32).public_key
    oracle = SinkOracle()
    server = SinkServer(oracle).start()
    try:
        conf = _conf(tmp_path, [server.endpoint])
        me = bytes.fromhex(json.loads(_info(conf, "--json").stdout)["public_key"])
        oracle.denied_edges = [registry_pb2.DeniedEdge(
            a=partner.to_bytes(), b=me, reason="detect epoch 20400: shared_reception",
            expires_at_ms=1_763_000_000_000)]
        done = _info(conf, "--json")
        text = _info(conf)
    finally:
        server.stop()
    oracle_out = json.loads(done.stdout)["oracle"]
    assert oracle_out["denied"] is False and oracle_out["denial"] is None
    assert oracle_out["denied_edges"] == [{
        "with": partner.address, "reason": "detect epoch 20400: shared_reception",
        "evidence": None, "until": "2025-11-13 02:13:20Z"}]
    assert (f"denied pair  with {partner.address}: detect epoch 20400: shared_reception, "
            "until 2025-11-13 02:13:20Z") in text.stdout


def test_the_owner_sees_whether_the_last_beacon_and_witness_were_on_gps_time(
        tmp_path: Path) -> None:
    conf = _conf(tmp_path, [DEAD])
    outbox = Outbox(tmp_path / "o.sqlite")
    stamp = 1_796_515_200_000_000_000
    outbox.set_state("last_beacon", {"timestamp_ns": stamp, "frequency_hz": 868_100_000,
                                     "gps_time": True})
    outbox.set_state("last_witness", {"timestamp_ns": stamp, "frequency_hz": 868_300_000,
                                      "gps_time": False})
    outbox.close()
    text = _info(conf).stdout
    assert "last beacon  2026-12-06 00:00:00Z on 868.1 MHz, on GPS time\n" in text
    assert "last witness 2026-12-06 00:00:00Z on 868.3 MHz\n" in text
    assert json.loads(_info(conf, "--json").stdout)["last_beacon"]["gps_time"] is True
