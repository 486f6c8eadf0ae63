"""The docs' walkthroughs, run as written: a new operator, owner and tester follow them from an
install to a running network, so a command the docs show must work as shown.

Which commands: fenced blocks whose info string is `sh walkthrough` (run, in document order),
`sh walkthrough background` (a server: started, waited for, stopped at the end with Ctrl-C's
SIGINT) and `sh setup` (installing packages: shown for a fresh machine, skipped here, because
this test runs in the project's own virtual environment), under the headings of `SEQUENCE`, in
that order. A plain `sh` block is an example the walkthrough does not run; any other `sh ...`
info string fails the test (a typo'd marker must not silently run less).

How: each block runs in `bash -e -o pipefail` with a scratch HOME (the walkthroughs work in
`~/pocnet-try` and `~/pocnet-sim`), this interpreter's bin folder first on PATH (the
`export PATH=...` of the setup blocks), no other `POCNET_*` variable, and the current folder a
stand-in for a checkout holding a copy of `sim_radio/scenarios/` (the README's commands run
from a checkout). The one change to what a reader runs: ports 7080 and 7081 may be taken on a
shared machine, so the oracle's two addresses are free ports, given through the documented
variables `POCNET_ORACLE_ORACLE_LISTEN`, `POCNET_ORACLE_CONNECTIONS_HOTSPOT_LISTEN` and
`POCNET_HOTSPOT_ORACLE_ENDPOINTS` (the hotspot listener's: docs/oracle.md says so).
`sh walkthrough verdict` is a block the reader runs about 3 minutes later, once the beacon
has its verdict: the test runs it when the oracle has one. Waits poll for the event (the
server's "listening" line, the beacon stored at the oracle, its verdict), bounded in total;
nothing sleeps a fixed time. A hotspot started in a beacon window's last
minutes beacons only once the next window opens: the daemon is started after them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pocnet.beacon import beacon_tail_wait_s

REPO = Path(__file__).resolve().parents[1]
# (document, heading): the walkthrough's parts in the order a reader follows them.
SEQUENCE = (
    ("docs/oracle.md", "## Try it on one machine"),
    ("docs/oracle.md", "### 1. The operator: settings, key, server"),
    ("docs/hotspot.md", "## Try it on one machine"),
    ("docs/oracle.md", "### 3. The operator: the registry, rewards and payout"),
    ("docs/simulator.md", "## Quick start"),
    ("README.md", "### `pocnet-sim` (testers and researchers)"),
)
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
HEADING = re.compile(r"^(#{1,6}) .*$", re.M)
KINDS = {"sh walkthrough": "run", "sh walkthrough background": "background",
         "sh walkthrough verdict": "verdict", "sh setup": "setup"}
BLOCK_TIMEOUT_S = 240.0  # one command may be slow on a busy machine; a hang still ends
READY_TIMEOUT_S = 90.0  # a server's readiness, polled
POLL_S = 0.2
# From starting the daemon to its first beacon: a busy machine's start plus the docs' 1-5 s.
HOTSPOT_LEAD_S = 60.0
# From the beacon to its verdict: the entropy's 180 s (docs/protocol.md §4), the verifier's 4 s
# for late witnesses and 5 s round, and as much again for a busy machine.
VERDICT_TIMEOUT_S = 400.0


@dataclass(frozen=True)
class Block:
    where: str  # document:line, for messages
    kind: str  # run | background | setup
    text: str


def blocks(document: str, heading: str) -> list[Block]:
    """The `sh` blocks directly under `heading` (up to the next heading of any level)."""
    text = (REPO / document).read_text(encoding="utf-8")
    start = text.find(f"\n{heading}\n")
    assert start >= 0, f"{document}: no heading {heading!r}"
    start += len(heading) + 2
    following = HEADING.search(text, start)
    section = text[start:following.start() if following else len(text)]
    found = []
    for fence in FENCE.finditer(section):
        info = " ".join(fence.group(1).split())
        if not info.startswith("sh "):
            continue  # a plain `sh` block is an example, not part of the walkthrough
        line = text.count("\n", 0, start + fence.start()) + 1
        assert info in KINDS, (f"{document}:{line}: ```{info}: a walkthrough block is "
                               f"`sh walkthrough`, `sh walkthrough background` or `sh setup`")
        found.append(Block(f"{document}:{line}", KINDS[info], fence.group(2)))
    return found


def walkthrough() -> list[Block]:
    return [block for document, heading in SEQUENCE for block in blocks(document, heading)]


def _free_ports(n: int) -> list[int]:
    """`n` distinct free ports (each socket held until all are bound)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class Reader:
    """The reader's machine: scratch home and checkout, the environment, running servers."""

    home: Path
    checkout: Path
    env: dict[str, str]
    servers: list[tuple[Block, subprocess.Popen[str], Path]]

    def run(self, block: Block) -> str:
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block.text], cwd=self.checkout, env=self.env,
            capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S, check=False)
        assert done.returncode == 0, (
            f"{block.where} failed (exit {done.returncode}):\n{block.text}\n"
            f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}")
        return done.stdout

    def start(self, block: Block) -> None:
        if "pocnet-hotspot run" in block.text:
            # The docs promise a beacon within seconds, which holds except in a 6-hour
            # window's last minutes (docs/hotspot.md says so): start the daemon after them.
            time.sleep(beacon_tail_wait_s(time.time(), HOTSPOT_LEAD_S))
        log = self.home.parent / f"server-{len(self.servers)}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                ["bash", "-e", "-o", "pipefail", "-c", block.text], cwd=self.checkout,
                env=self.env, stdout=out, stderr=subprocess.STDOUT, text=True,
                start_new_session=True)
        self.servers.append((block, process, log))
        if "pocnet-oracle serve" in block.text:
            self._wait(block, process, log, lambda: "listening on" in log.read_text())
        elif "pocnet-hotspot run" in block.text:
            self._wait(block, process, log, self._beacon_at_oracle)
        else:
            raise AssertionError(f"{block.where}: no readiness check for this server")

    def after_verdict(self, block: Block) -> str:
        """Run `block` once the hotspot's beacon has a verdict, as the reader does later."""
        hotspot = next(process for b, process, _ in self.servers
                       if "pocnet-hotspot run" in b.text)
        deadline = time.monotonic() + VERDICT_TIMEOUT_S
        while not any(r["verdict"] != "pending" for r in self._beacons()):
            assert hotspot.poll() is None, f"the hotspot daemon exited ({hotspot.returncode})"
            assert time.monotonic() < deadline, (
                f"{block.where}: no verdict {VERDICT_TIMEOUT_S:.0f} s on: {self._beacons()}")
            time.sleep(1.0)
        return self.run(block)

    def _beacon_at_oracle(self) -> bool:
        """The daemon's first beacon is stored at the oracle (its `info` lists it)."""
        return bool(self._beacons())

    def _beacons(self) -> list[dict[str, str]]:
        """The hotspot's beacons as the oracle reports them to `info`, none if unreachable."""
        done = subprocess.run(
            ["pocnet-hotspot", "info", "-c", "hotspot.toml", "--json"],
            cwd=self.home / "pocnet-try" / "hotspot", env=self.env, capture_output=True,
            text=True, timeout=BLOCK_TIMEOUT_S, check=False)
        if done.returncode != 0:
            return []
        reports = (json.loads(done.stdout).get("oracle") or {}).get("recent_reports") or []
        return [report for report in reports if report["kind"] == "beacon"]

    @staticmethod
    def _wait(block: Block, process: subprocess.Popen[str], log: Path,
              ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready():
            assert process.poll() is None, (
                f"{block.where} exited ({process.returncode}):\n{log.read_text()}")
            assert time.monotonic() < deadline, (
                f"{block.where} not ready in {READY_TIMEOUT_S:.0f} s:\n{log.read_text()}")
            time.sleep(POLL_S)

    def stop_servers(self) -> list[str]:
        """Ctrl-C each server, newest first; what did not stop cleanly, with its log."""
        problems = []
        for block, process, log in reversed(self.servers):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    problems.append(f"{block.where}: still running 30 s after Ctrl-C")
                    continue
            output = log.read_text()
            if process.returncode not in (0, 130, -signal.SIGINT) or "Traceback" in output:
                problems.append(f"{block.where}: exit {process.returncode}\n{output}")
        return problems


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[Reader]:
    home, checkout = tmp_path / "home", tmp_path / "checkout"
    home.mkdir()
    shutil.copytree(REPO / "sim_radio" / "scenarios", checkout / "sim_radio" / "scenarios")
    port, hotspot_port = _free_ports(2)
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("POCNET_") and name not in ("HOME", "PWD", "OLDPWD")}
    env |= {
        "HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "POCNET_ORACLE_ORACLE_LISTEN": f"127.0.0.1:{port}",
        "POCNET_ORACLE_CONNECTIONS_HOTSPOT_LISTEN": f"127.0.0.1:{hotspot_port}",
        "POCNET_HOTSPOT_ORACLE_ENDPOINTS": f"127.0.0.1:{hotspot_port}",
    }
    machine = Reader(home, checkout, env, [])
    try:
        yield machine
    finally:
        machine.stop_servers()


def test_every_walkthrough_section_has_blocks_of_each_kind_it_needs() -> None:
    """The markers are found (a renamed heading or a typo'd fence would silently run less)."""
    kinds = {(document, heading): [b.kind for b in blocks(document, heading)]
             for document, heading in SEQUENCE}
    assert kinds[SEQUENCE[0]] == ["setup"]
    assert kinds[SEQUENCE[1]].count("background") == 1
    assert kinds[SEQUENCE[2]][0] == "setup" and kinds[SEQUENCE[2]].count("background") == 1
    assert all("run" in found for key, found in kinds.items() if key != SEQUENCE[0])
    assert [kind for found in kinds.values() for kind in found].count("verdict") == 1


# A hang guard: about 4 min on an idle machine (3 of them waiting for the verdict), more when it
# is busy, and up to 6 min more when started at the end of a beacon window.
@pytest.mark.slow(minutes=4)
@pytest.mark.timeout(1500)
def test_walkthrough_runs_as_written(reader: Reader) -> None:
    outputs: dict[str, str] = {}
    skipped = []
    for block in walkthrough():
        if block.kind == "setup":
            skipped.append(block.where)
        elif block.kind == "background":
            reader.start(block)
        elif block.kind == "verdict":
            outputs[block.where] = reader.after_verdict(block)
        else:
            outputs[block.where] = reader.run(block)
    assert len(skipped) == 3, skipped  # oracle.md, hotspot.md, simulator.md: installs

    # What each role should now see, checked against the keys the walkthrough made.
    def address(*args: str) -> str:
        shown = subprocess.run([*args, "--json"], env=reader.env, capture_output=True,
                               text=True, check=True).stdout
        return str(json.loads(shown)["address"])

    try_dir = reader.home / "pocnet-try"
    hotspot = address("pocnet-hotspot", "keys", "show", "--key-file",
                      str(try_dir / "hotspot" / "hotspot.key"))
    text = "\n".join(outputs.values())
    assert re.search(rf"^{hotspot} .*region EU868", text, re.M), "registry list"
    assert "region       EU868 (from oracle)" in text, "hotspot info"
    assert re.search(r"^  \S+ \S+Z beacon\s+pending$", text, re.M), "info: the beacon"
    assert re.search(rf" beacon +\w+ +{hotspot} +not yet verified$", text, re.M), "report list"
    # Its verdict, 3 minutes on: nobody witnessed it (docs/protocol.md §5, HIP-15).
    verdict = outputs[next(b.where for b in walkthrough() if b.kind == "verdict")]
    assert re.search(r"^  \S+ \S+Z beacon\s+invalid gateway_no_valid_witnesses: ", verdict,
                     re.M), "info: the verdict"
    assert re.search(rf" beacon +\w+ +{hotspot} +invalid: gateway_no_valid_witnesses$", verdict,
                     re.M), "report list: the verdict"
    assert re.search(r"epoch \d+: planned 0, signed 0, sent 0, confirmed 0", text)
    versions = dict(re.findall(r"^pocnet-(oracle|hotspot) (\S+)$", text, re.M))
    assert versions.keys() == {"oracle", "hotspot"} and len(set(versions.values())) == 1
    assert "payout equals the manifests: yes" in text, "pocnet-sim epochs"
    assert (reader.checkout / "links.csv").read_text().startswith("epoch,"), "README"
    assert reader.stop_servers() == []
