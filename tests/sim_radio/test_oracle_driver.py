"""The simulator's handle on a real oracle (sim_radio/oracle_driver.py): one fresh oracle per
folder, commands through the real `pocnet-oracle`, failures as one line."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pocnet.keys import Network, load_keyfile
from sim_radio.oracle_driver import OracleCommandError, start_oracle


def test_a_fresh_testnet_oracle_with_short_epochs(tmp_path: Path) -> None:
    oracle = start_oracle(tmp_path / "o", epoch_s=3600, stale_after_s=60)
    settings = tomllib.loads(oracle.config.read_text())
    assert settings["oracle"]["network"] == "testnet"
    assert settings["network"]["epoch_s"] == 3600
    assert settings["verifier"]["stale_after_s"] == 60
    key = load_keyfile(settings["oracle"]["key"])
    assert key.network == Network.TESTNET and key.public_key == oracle.key.public_key
    with pytest.raises(OracleCommandError, match="already holds an oracle"):
        start_oracle(tmp_path / "o", epoch_s=3600)


def test_commands_run_the_real_oracle_and_fail_in_one_line(tmp_path: Path) -> None:
    oracle = start_oracle(tmp_path, epoch_s=86_400)
    assert oracle.run("verify")["beacons"] == 0
    with pytest.raises(OracleCommandError, match=r"rewards show: .*no manifest"):
        oracle.run("rewards", "show", "--epoch", "3")


def test_serving_yields_a_loopback_address(tmp_path: Path) -> None:
    import grpc

    from pocnet.wire import service_pb2, service_pb2_grpc

    oracle = start_oracle(tmp_path, epoch_s=86_400)
    with oracle.serving() as address, grpc.insecure_channel(address) as channel:
        assert address.startswith("127.0.0.1:")
        stub = service_pb2_grpc.QueryServiceStub(channel)
        reply = stub.ListReports(service_pb2.ReportsRequest(hotspot_key=bytes(33)), timeout=30)
        assert list(reply.reports) == []
