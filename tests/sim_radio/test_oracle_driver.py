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
    from sim_radio.oracle_driver import CpuTime

    oracle = start_oracle(tmp_path, epoch_s=86_400)
    cpu = CpuTime({})
    with oracle.serving(cpu) as address, grpc.insecure_channel(address) as channel:
        assert address.startswith("127.0.0.1:")
        stub = service_pb2_grpc.QueryServiceStub(channel)
        reply = stub.ListReports(service_pb2.ReportsRequest(hotspot_key=bytes(33)), timeout=30)
        assert list(reply.reports) == []
    assert set(cpu.seconds) == {"serve"} and cpu.seconds["serve"] > 0


def test_serving_takes_no_port_the_callers_own_oracle_holds(tmp_path: Path,
                                                             monkeypatch) -> None:
    """A reader running an oracle of their own in the same terminal names its hotspot listener
    in the environment (docs/oracle.md); the simulator's throw-away oracle must not try to bind
    that port too (its hotspot listener takes a free one, like its first)."""
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        monkeypatch.setenv("POCNET_ORACLE_CONNECTIONS_HOTSPOT_LISTEN",
                           f"127.0.0.1:{held.getsockname()[1]}")
        oracle = start_oracle(tmp_path, epoch_s=86_400)
        with oracle.serving() as address:
            assert address.startswith("127.0.0.1:")


def test_a_command_fed_while_it_runs_gives_its_json_and_cpu_time(tmp_path: Path) -> None:
    from pocnet import signing
    from pocnet.beacon import entropy_data
    from pocnet.report_file import record_line
    from pocnet.wire import entropy_pb2
    from sim_radio.oracle_driver import CpuTime

    oracle = start_oracle(tmp_path, epoch_s=86_400)
    cpu = CpuTime({})
    importing = oracle.stream("import", "-", cpu=cpu)
    with importing as send:
        for ts in (1_780_000_000, 1_780_000_060):
            msg = entropy_pb2.Entropy(data=entropy_data(ts, bytes(32)), timestamp=ts, version=1,
                                      oracle_key=oracle.key.public_key.to_bytes())
            signing.sign(msg, oracle.key)
            send(record_line(ts * 1000, "entropy", msg.SerializeToString()).encode())
    assert importing.result["entropy"] == 2 and importing.result["rejected"] == {}
    assert set(cpu.seconds) == {"import"} and cpu.seconds["import"] > 0


def test_a_fed_command_that_fails_is_one_line(tmp_path: Path) -> None:
    oracle = start_oracle(tmp_path, epoch_s=86_400)
    with pytest.raises(OracleCommandError, match=r"^pocnet-oracle import -: .*line 1"):
        with oracle.stream("import", "-") as send:
            send(b"not a record\n")


def test_writing_to_a_fed_command_does_not_wait_for_it_to_read(tmp_path: Path) -> None:
    """Two chunks, each larger than the widest pipe, handed to an `import` that is stopped
    (SIGSTOP), so it reads nothing: both are taken at once, and all of it is read once the
    import goes on. Written straight into the pipe, the first would wait for the import."""
    import os
    import signal
    import threading

    oracle = start_oracle(tmp_path, epoch_s=86_400)
    importing = oracle.stream("import", "-")
    handed_in = threading.Event()
    blank = b"\n" * (3 << 20)  # blank lines: read and skipped by the import
    with importing as send:
        os.kill(importing.pid, signal.SIGSTOP)
        try:
            writer = threading.Thread(target=lambda: (send(blank), send(blank),
                                                      handed_in.set()))
            writer.start()
            assert handed_in.wait(timeout=600), "write waited for a stopped reader"
        finally:
            os.kill(importing.pid, signal.SIGCONT)
        writer.join()
    assert importing.result["stored"] == 0 and importing.result["rejected"] == {}


def test_a_fed_command_that_ends_early_fails_the_next_write_in_one_line(
        tmp_path: Path) -> None:
    oracle = start_oracle(tmp_path, epoch_s=86_400)
    with pytest.raises(OracleCommandError, match=r"^pocnet-oracle import -: .*line 1"):
        with oracle.stream("import", "-") as send:
            send(b"not a record\n")
            while True:  # until the feeder finds the pipe broken
                send(b"\n" * 65_536)
