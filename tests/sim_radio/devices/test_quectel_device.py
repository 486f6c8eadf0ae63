"""The virtual Quectel modem: the manual's response forms, its error answers, and the pty."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import pytest
import serial

from firmware_bridge.modem_5g import commands as at
from sim_radio.devices import quectel as q


@pytest.fixture
def device() -> q.QuectelDevice:
    dev = q.QuectelDevice(q.QuectelConfig(), now_ns=lambda: 1_368_253_191 * 10**9)
    yield dev
    dev.close()


def _fields(line: str) -> list[str]:
    return at.split_fields(line.split(":", 1)[1])


def test_sa_line_has_the_manual_field_count(device: q.QuectelDevice) -> None:
    line, ok = device.respond('AT+QENG="servingcell"')
    assert ok == "OK"
    assert line.startswith('+QENG: "servingcell","NOCONN","NR5G-SA",')
    assert len(_fields(line)) == 3 + len(at.NR5G_SA_FIELDS)


def test_nsa_is_three_lines_and_lte_one(device: q.QuectelDevice) -> None:
    device.config = q.QuectelConfig(mode="nsa")
    state, lte, nr, ok = device.respond('at+qeng="servingcell"')  # commands are case-blind
    assert state == '+QENG: "servingcell","NOCONN"' and ok == "OK"
    assert lte.startswith('+QENG: "LTE",') and len(_fields(lte)) == 1 + len(at.LTE_FIELDS)
    assert nr.startswith('+QENG:"NR5G-NSA",')
    assert len(_fields(nr)) == 1 + len(at.NR5G_NSA_FIELDS)
    # NSA orders RSRP, SINR, RSRQ
    rsrp, sinr, rsrq = (int(v) for v in _fields(nr)[4:7])
    assert (rsrp, sinr, rsrq) == (-76, 26, -10)
    device.config = q.QuectelConfig(mode="lte")
    (line, ok) = device.respond('AT+QENG="servingcell"')
    assert len(_fields(line)) == 3 + len(at.LTE_FIELDS)


def test_unavailable_values_are_minus_32768(device: q.QuectelDevice) -> None:
    device.config = q.QuectelConfig(unavailable=frozenset({"RSRP", "SINR"}))
    line, _ = device.respond('AT+QENG="servingcell"')
    (cell,) = at.parse_servingcell([line])
    assert line.count("-32768") == 2
    assert cell.rsrp_dbm is None and cell.sinr_db is None and cell.rsrq_db == -10


def test_gnss_session_and_fix_script(device: q.QuectelDevice) -> None:
    assert device.respond("AT+QGPSLOC=2") == ["+CME ERROR: 505"]   # GNSS off
    assert device.respond("AT+QGPSEND") == ["+CME ERROR: 505"]
    assert device.respond("AT+QGPS=1") == ["OK"]
    assert device.respond("AT+QGPS=1") == ["+CME ERROR: 504"]      # already on
    assert device.respond("AT+QGPS?") == ["+QGPS: 1", "OK"]
    assert device.respond("AT+QGPSLOC=2") == ["+CME ERROR: 516"]
    assert device.respond("AT+QGPSLOC=2") == ["+CME ERROR: 516"]
    line, ok = device.respond("AT+QGPSLOC=2")
    assert ok == "OK"
    assert line == "+QGPSLOC: 061951.000,45.18806,5.72452,0.8,212.4,3,0.00,0.0,0.0,110513,09"
    assert at.parse_qgpsloc([line]).lat == 45.18806
    assert device.respond("AT+QGPSEND") == ["OK"]


@pytest.mark.parametrize("command", ["AT+QFOO", "AT+QENG=\"neighbourcell\"", "AT+QGPSLOC=9",
                                     "ATD123;"])
def test_unknown_commands_answer_error(device: q.QuectelDevice, command: str) -> None:
    assert device.respond(command) == ["ERROR"]


def test_identification(device: q.QuectelDevice) -> None:
    assert device.respond("ATI") == ["Quectel", "RM520N-GL", "Revision: RM520NGLAAR03A03M4G", "OK"]


def test_over_the_pty_with_echo_garbage_and_mute() -> None:
    async def main() -> None:
        device = q.QuectelDevice(q.QuectelConfig(mode="lte"))
        serving = asyncio.create_task(device.run())
        port = serial.Serial(device.path, 115200, timeout=0.1)
        try:
            async def exchange(data: bytes, end: bytes = b"") -> bytes:
                """Write; read until the answer ends with `end` (or 0.1 s of silence)."""
                await asyncio.to_thread(port.write, data)
                answer = b""
                while True:
                    chunk = await asyncio.to_thread(port.read, 4096)
                    answer += chunk
                    if not chunk or (end and answer.endswith(end)):
                        return answer

            assert await exchange(b"AT\r", b"OK\r\n") == b"AT\r\nOK\r\n"  # echo on at first
            assert await exchange(b"ATE0\r", b"OK\r\n") == b"ATE0\r\nOK\r\n"
            assert await exchange(b"\xff\xfe\r") == b""           # noise: no answer
            assert await exchange(b"hello\r") == b""              # not AT: ignored
            answer = await exchange(b'AT+QENG="servingcell"\r', b"OK\r\n")
            assert answer.startswith(b'+QENG: "servingcell","NOCONN","LTE"')
            assert await exchange(b"AT+NOPE\r", b"ERROR\r\n") == b"ERROR\r\n"
            device.mute = True
            assert await exchange(b"AT\r") == b""                 # a modem that stopped
        finally:
            port.close()
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving

    asyncio.run(asyncio.wait_for(main(), 10))


def test_cli_arguments_and_serve_reports_the_pty() -> None:
    parser = argparse.ArgumentParser()
    q.add_arguments(parser)
    args = parser.parse_args(["--mode", "nsa", "--fix-after", "0", "--unavailable", "SINR",
                              "--lat", "-33.9"])
    config = q.config_from_args(args)
    assert (config.mode, config.fix_after_queries, config.lat) == ("nsa", 0, -33.9)
    assert config.unavailable == frozenset({"SINR"})
    with pytest.raises(SystemExit):
        parser.parse_args(["--mode", "gsm"])
    ready: list[str] = []

    async def main() -> None:
        is_ready = asyncio.Event()

        def on_ready(path: str) -> None:
            ready.append(path)
            is_ready.set()

        task = asyncio.create_task(q.serve(args, None, on_ready))
        await asyncio.wait_for(is_ready.wait(), 2)
        port = serial.Serial(ready[0], 115200, timeout=0.5)
        try:
            await asyncio.to_thread(port.write, b"ATE0\rAT+QGPS=1\rAT+QGPSLOC=2\r")
            data = b""
            while b"+QGPSLOC:" not in data or not data.endswith(b"OK\r\n"):
                chunk = await asyncio.to_thread(port.read, 4096)
                assert chunk, f"no answer, got {data!r}"
                data += chunk
            assert b"+QGPSLOC: " in data and b",-33.90000," in data
        finally:
            port.close()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(asyncio.wait_for(main(), 10))
    assert ready and ready[0].startswith("/dev/")
