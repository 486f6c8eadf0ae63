"""`pocnet-oracle import`: a file of wire reports stored through ingest's checks, with the file's
receive times as the oracle's clock, and verified as if received then (docs/protocol.md §5)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from oracle_factories import allow_maker, assertion, beacon_report, keypair, witness_report

from oracle.cli import main
from oracle.storage import open_repository
from pocnet import signing
from pocnet.beacon import entropy_data
from pocnet.keys import Network, create_keyfile
from pocnet.report_file import record_line
from pocnet.wire import entropy_pb2

ENTROPY_TS_S = 1_780_000_000  # 2026-05-28, long before the test runs: no wall clock involved
LIFETIME_S = 180  # docs/protocol.md §4: entropy is valid for 180 s from its timestamp


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'oracle.db'}"
    monkeypatch.setenv("POCNET_ORACLE_ORACLE_DATABASE", url)
    monkeypatch.setenv("POCNET_ORACLE_ORACLE_KEY", str(tmp_path / "oracle.key"))
    repo = open_repository(url)  # the operator's `serve --create`, and its maker allowlist
    allow_maker(repo)
    repo.close()
    return create_keyfile(tmp_path / "oracle.key")


def _entropy(signer, timestamp_s: int = ENTROPY_TS_S) -> entropy_pb2.Entropy:  # type: ignore[no-untyped-def]
    msg = entropy_pb2.Entropy(data=entropy_data(timestamp_s, bytes(32)), timestamp=timestamp_s,
                              version=1, oracle_key=signer.public_key.to_bytes())
    return signing.sign(msg, signer)


def _write(path: Path, records: list[tuple[int, str, bytes]]) -> str:
    path.write_text("".join(record_line(ms, kind, raw) for ms, kind, raw in records))
    return str(path)


def _beacon_reason(capsys, report) -> str | None:  # type: ignore[no-untyped-def]
    code, out, _ = _run(capsys, "report", "show", signing.report_id(report).hex(), "--json")
    assert code == 0, out
    verdict = json.loads(out)["summary"]["verdict"]
    return None if verdict["valid"] else verdict["reason"]


@pytest.mark.parametrize(("received_s", "expired"), [(LIFETIME_S, False), (LIFETIME_S + 1, True)])
def test_the_files_receive_time_is_the_oracles_clock(env, tmp_path: Path, capsys, received_s: int,
                                                     expired: bool) -> None:  # type: ignore[no-untyped-def]
    hotspot = keypair(1)
    entropy = _entropy(env)
    beacon = beacon_report(hotspot, entropy.data, ENTROPY_TS_S)
    received_ms = (ENTROPY_TS_S + received_s) * 1000
    path = _write(tmp_path / "in.jsonl", [
        (1, "assertion", assertion(hotspot, keypair(900)).SerializeToString()),
        (ENTROPY_TS_S * 1000, "entropy", entropy.SerializeToString()),
        (received_ms, "beacon", beacon.SerializeToString()),
    ])
    code, out, err = _run(capsys, "import", path, "--json")
    assert code == 0, err
    assert json.loads(out) | {"first_rejected": []} == {
        "stored": 1, "duplicates": 0, "entropy": 1, "assertions": 1, "rejected": {},
        "first_rejected": [],
        "last_received_ms": received_ms}
    repo = open_repository(f"sqlite:///{tmp_path / 'oracle.db'}")
    try:
        assert repo.report(signing.report_id(beacon)).received_ms == received_ms
    finally:
        repo.close()
    assert _run(capsys, "verify", "--json")[0] == 0
    reason = _beacon_reason(capsys, beacon)
    assert (reason == "entropy_expired") is expired, reason


def test_refused_records_are_counted_and_the_rest_stored(env, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    good, forged, other_net = keypair(2), keypair(3), keypair(4, Network.TESTNET)
    stranger = keypair(5)
    unsigned_by_owner = assertion(good, keypair(901))
    unsigned_by_owner.owner_signature = bytes(64)
    records = [
        (1, "entropy", _entropy(stranger).SerializeToString()),  # not this oracle's entropy
        (2, "witness", witness_report(good).SerializeToString()),
        (3, "witness", witness_report(forged, signer=good).SerializeToString()),
        (4, "witness", witness_report(other_net).SerializeToString()),
        (5, "beacon", b"\xff\xff"),
        (6, "assertion", unsigned_by_owner.SerializeToString()),
    ]
    code, out, err = _run(capsys, "import", _write(tmp_path / "in.jsonl", records), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["stored"] == 1 and result["entropy"] == 0
    assert [r["line"] for r in result["first_rejected"]] == [1, 3, 4, 5, 6]
    assert sum(result["rejected"].values()) == 5 and result["assertions"] == 0
    # Another oracle's entropy is accepted when the operator names its key.
    code, out, _ = _run(capsys, "import", _write(tmp_path / "e.jsonl", records[:1]), "--json",
                        "--entropy-key", stranger.public_key.address)
    assert code == 0 and json.loads(out)["entropy"] == 1


def test_a_line_that_is_no_record_stops_the_import_and_a_rerun_stores_nothing_twice(
    env, tmp_path: Path, capsys  # type: ignore[no-untyped-def]
) -> None:
    first = record_line(10, "witness", witness_report(keypair(6)).SerializeToString())
    path = tmp_path / "in.jsonl"
    path.write_text(first + '{"received_ms": "soon", "kind": "witness", "report": ""}\n')
    code, _, err = _run(capsys, "import", str(path))
    assert code == 2 and "line 2" in err and err.count("\n") == 1
    path.write_text(first)
    code, out, _ = _run(capsys, "import", str(path), "--json")
    assert code == 0 and json.loads(out)["stored"] == 0 and json.loads(out)["duplicates"] == 1


@pytest.mark.parametrize("line", ['{"received_ms": 1, "kind": "vote", "report": ""}',
                                  '{"received_ms": -1, "kind": "beacon", "report": ""}',
                                  '{"received_ms": 1, "kind": "beacon", "report": "***"}',
                                  "not json"])
def test_malformed_lines_are_one_line_errors(env, tmp_path: Path, capsys, line: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n")
    code, _, err = _run(capsys, "import", str(path))
    assert code == 2 and "line 1" in err and err.count("\n") == 1


def test_missing_file_is_one_line(env, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    fresh = tmp_path / "fresh.db"
    monkeypatch.setenv("POCNET_ORACLE_ORACLE_DATABASE", f"sqlite:///{fresh}")
    code, _, err = _run(capsys, "import", str(tmp_path / "none.jsonl"), "--create")
    assert code == 2 and "none.jsonl" in err and err.count("\n") == 1
    assert not fresh.exists()  # nothing created for a file that is not there


def test_only_create_makes_a_database(env, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    fresh = tmp_path / "fresh.db"
    monkeypatch.setenv("POCNET_ORACLE_ORACLE_DATABASE", f"sqlite:///{fresh}")
    empty = _write(tmp_path / "empty.jsonl", [])
    code, _, err = _run(capsys, "import", empty)
    assert code == 2 and "no database at" in err and not fresh.exists()
    code, _, _ = _run(capsys, "import", empty, "--create", "--json")
    assert code == 0 and fresh.exists()


@pytest.mark.parametrize("workers", [0, 2])
def test_worker_processes_store_and_refuse_exactly_what_the_inline_check_does(
    tmp_path: Path, workers: int
) -> None:
    """Signatures checked by worker processes, three reports a batch (so several batches are
    in flight): forged reports are refused with ingest's own reason, by line, in line order
    even when a later line's other fault is found first; the rest stored once each."""
    from oracle.importer import Importer
    from pocnet.report_file import parse_line

    honest = [witness_report(keypair(10 + i)) for i in range(6)]
    forged = [witness_report(keypair(20), signer=keypair(21)),
              witness_report(keypair(22), signer=keypair(23))]
    records = [honest[0], forged[0], honest[1], honest[2], honest[3], forged[1], None,
               honest[4], honest[5], honest[0]]
    lines = [record_line(1_000 + n, "witness",
                         b"\xff\xff" if r is None else r.SerializeToString()).encode()
             for n, r in enumerate(records)]
    repo = open_repository(f"sqlite:///{tmp_path / 'oracle.db'}")
    try:
        importer = Importer(repo, Network.MAINNET, [], workers=workers, batch=3)
        result = importer.run(lines)
        assert (result.stored, result.duplicates) == (6, 1)
        assert [n for n, _ in result.first_rejected] == [2, 6, 7]
        for (n, reason), bad in zip(result.first_rejected[:2], forged, strict=True):
            assert reason == f"bad signature for {keypair(int(n == 6) * 2 + 20).public_key}"
            assert repo.report(signing.report_id(bad)) is None
        first_seen: dict[bytes, int] = {}
        for n, line in enumerate(lines, 1):
            if records[n - 1] in honest:
                first_seen.setdefault(signing.report_id(records[n - 1]), parse_line(line, n)[0])
        assert {i: repo.report(i).received_ms for i in first_seen} == first_seen
    finally:
        repo.close()


def test_workers_must_be_a_count(env, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "in.jsonl", [])
    with pytest.raises(SystemExit) as stop:
        main(["import", path, "--workers", "-1"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "--workers" in err and err.count("\n") == 1


class _CountingRepository:
    """A real SQLite repository that counts its write transactions (each one a commit, and an
    fsync under synchronous=FULL)."""

    def __new__(cls, url: str):  # type: ignore[no-untyped-def]
        from oracle.storage.sqlite import SqliteRepository

        class Counting(SqliteRepository):
            transactions = 0

            def transaction(self, immediate: bool = True):  # type: ignore[no-untyped-def]
                Counting.transactions += 1
                return super().transaction(immediate)

        repo = open_repository(url)
        repo.__class__ = Counting
        return repo


def test_an_imports_entropy_is_stored_in_a_few_transactions_not_one_each(tmp_path: Path) -> None:
    """60 entropy records around three witnesses: two commits (the entropy read so far, then the
    reports), not one per entropy record as before (61); each record stored, also those read
    before a line that stops the import."""
    from oracle.importer import Importer
    from pocnet.keys import Keypair
    from pocnet.report_file import ReportFileError

    oracle_key = Keypair.generate(Network.MAINNET)
    entropies = [_entropy(oracle_key, ENTROPY_TS_S + 60 * i) for i in range(60)]
    records = [(1, "entropy", e.SerializeToString()) for e in entropies[:30]]
    records += [(2, "witness", witness_report(keypair(40 + i)).SerializeToString())
                for i in range(3)]
    records += [(3, "entropy", e.SerializeToString()) for e in entropies[30:]]
    lines = [record_line(*r).encode() for r in records]
    repo = _CountingRepository(f"sqlite:///{tmp_path / 'oracle.db'}")
    try:
        before = type(repo).transactions
        result = Importer(repo, Network.MAINNET, [oracle_key.public_key], workers=0).run(lines)
        assert (result.entropy, result.stored) == (60, 3)
        assert type(repo).transactions - before == 2
        assert all(repo.entropy(e.data) is not None for e in entropies)

        later = [_entropy(oracle_key, ENTROPY_TS_S + 60 * (100 + i)) for i in range(2)]
        with pytest.raises(ReportFileError):
            Importer(repo, Network.MAINNET, [oracle_key.public_key], workers=0).run(
                [record_line(4, "entropy", e.SerializeToString()).encode() for e in later]
                + [b"not json\n"])
        assert all(repo.entropy(e.data) is not None for e in later)
    finally:
        repo.close()


@pytest.mark.parametrize("workers", [0, 2])
def test_a_transaction_holds_several_signature_batches(tmp_path: Path, workers: int) -> None:
    """13 reports and a forged one, signatures checked 2 at a time, 6 a transaction: two
    transactions (once 6 have their signatures answered, then the 7 left at the end), not one
    per signature batch (7); each report stored once, the forged one refused and the other
    report of its signature batch kept.
    Each page of the random id index a transaction dirties is then written for more reports
    (docs/benchmarks.md, "The import's main process, leaner")."""
    from oracle.importer import Importer

    reports = [witness_report(keypair(500 + i)) for i in range(13)]
    forged = witness_report(keypair(520), signer=keypair(521))
    records = [*reports[:7], forged, *reports[7:]]
    lines = [record_line(1_000 + n, "witness", r.SerializeToString()).encode()
             for n, r in enumerate(records)]
    repo = _CountingRepository(f"sqlite:///{tmp_path / 'oracle.db'}")
    try:
        before = type(repo).transactions
        result = Importer(repo, Network.MAINNET, [], workers=workers, batch=6,
                          check_batch=2).run(lines)
        assert type(repo).transactions - before == 2
        assert (result.stored, result.duplicates) == (13, 0)
        assert [n for n, _ in result.first_rejected] == [8]
        assert repo.count_reports() == 13
        assert all(repo.report(signing.report_id(r)) is not None for r in reports)
    finally:
        repo.close()


def test_the_import_opens_sqlite_with_a_page_cache_for_its_batches(env, tmp_path: Path) -> None:
    """A transaction of 100,000 reports dirties ~90 % of the random id index's pages at a
    week's size (~150 MB of ~160), the table's and the other indexes' besides: the import's
    connection caches 512 MiB (other commands and the server keep 32 MiB per connection), so
    they are not spilled into the WAL before the commit."""
    from oracle.commands._database import open_database

    for bulk, kib in ((True, 512 * 1024), (False, 32 * 1024)):
        _, repo = open_database(None, None, bulk=bulk)
        try:
            assert repo.pragma("cache_size") == -kib
        finally:
            repo.close()


def test_an_imports_wal_starts_over_between_batches(tmp_path: Path) -> None:
    """Twelve batches leave a WAL no larger than one batch does: each batch is checkpointed
    before the next, so the next starts the WAL over (before: the WAL held every batch, 2.5 GB
    at a million reports, and each page read searched its index)."""
    import os

    from oracle.importer import Importer

    reports = [witness_report(keypair(200 + i)) for i in range(600)]
    lines = [record_line(1_000 + n, "witness", r.SerializeToString()).encode()
             for n, r in enumerate(reports)]
    wal_bytes = []
    for name, count in (("one", 50), ("twelve", 600)):
        repo = open_repository(f"sqlite:///{tmp_path / name}.db")
        try:
            result = Importer(repo, Network.MAINNET, [], workers=0, batch=50).run(lines[:count])
            assert result.stored == count
            wal_bytes.append(os.path.getsize(tmp_path / f"{name}.db-wal"))
        finally:
            repo.close()
    assert wal_bytes[1] < 2 * wal_bytes[0], wal_bytes


def test_the_objects_made_before_an_import_are_left_out_of_the_collectors_passes(
    tmp_path: Path,
) -> None:
    """While an import runs, what existed before it (modules, the country borders) is frozen
    out of the garbage collector's passes (each full pass over it cost ~30 ms, one a batch);
    afterwards, also when a line stops the import, the collector is as it was."""
    import gc

    from oracle.importer import Importer
    from pocnet.report_file import ReportFileError

    lines = [record_line(1_000 + n, "witness",
                         witness_report(keypair(300 + n)).SerializeToString()).encode()
             for n in range(3)]
    frozen_while_running: list[int] = []
    repo = open_repository(f"sqlite:///{tmp_path / 'oracle.db'}")
    try:
        assert gc.get_freeze_count() == 0
        result = Importer(repo, Network.MAINNET, [], workers=0).run(
            lines, progress=lambda _: frozen_while_running.append(gc.get_freeze_count()))
        assert result.stored == 3
        assert frozen_while_running and min(frozen_while_running) > 0
        assert gc.get_freeze_count() == 0
        with pytest.raises(ReportFileError):
            Importer(repo, Network.MAINNET, [], workers=0).run([b"not json\n"])
        assert gc.get_freeze_count() == 0
    finally:
        repo.close()


def test_the_import_reads_a_pipe_ahead_of_its_checks() -> None:
    """Whoever writes the file into a pipe (the proving ground's simulator) is not held while
    the import checks and stores: 4 MiB, 64 times what a pipe holds, are taken from the pipe
    before the import reads a byte (before, the writer waited for each 64 KiB to drain), and
    then read back whole, in order."""
    import os
    import threading

    from oracle.importer import read_ahead

    data = bytes(range(256)) * (4 * 4096)
    r, w = os.pipe()
    source = os.fdopen(r, "rb")

    def write() -> None:
        with os.fdopen(w, "wb") as sink:
            sink.write(data)

    writer = threading.Thread(target=write)
    with read_ahead(source) as ahead:
        writer.start()
        writer.join(60)  # an event, not a timing: without reading ahead it never ends
        finished = not writer.is_alive()
        assert ahead.read() == data
    writer.join()
    source.close()
    assert finished


def test_a_read_error_reaches_the_import_after_what_was_read_before_it() -> None:
    from oracle.importer import read_ahead

    class Failing(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def read1(self, n: int) -> bytes:
            self.calls += 1
            if self.calls == 1:
                return b"first line\n"
            raise OSError("disk gone")

    with read_ahead(Failing()) as ahead:  # type: ignore[arg-type]
        assert ahead.readline() == b"first line\n"
        with pytest.raises(OSError, match="disk gone"):
            ahead.readline()


def test_progress_counts_every_record_in_calls_of_up_to_progress_every(tmp_path: Path) -> None:
    """The progress callback hears of every record read, refused ones too, and of no blank
    line, a call per PROGRESS_EVERY records and one for the rest (a call a record cost
    ~0.3 µs of the main process's ~45)."""
    from oracle.importer import PROGRESS_EVERY, Importer

    records = 2 * PROGRESS_EVERY + 7
    lines = [b"\n", b"  \t\r\n"] + [record_line(1_000 + n, "witness", b"\xff").encode()
                                    for n in range(records)]  # undecodable: refused
    calls: list[int] = []
    repo = open_repository(f"sqlite:///{tmp_path / 'oracle.db'}")
    try:
        result = Importer(repo, Network.MAINNET, [], workers=0).run(lines, progress=calls.append)
    finally:
        repo.close()
    assert sum(result.rejected.values()) == records
    assert calls == [PROGRESS_EVERY, PROGRESS_EVERY, 7]
