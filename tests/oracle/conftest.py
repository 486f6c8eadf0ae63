"""Oracle test fixtures: one `repo` fixture parametrised over SQLite and PostgreSQL.

PostgreSQL: a throwaway cluster per test session from Debian's `postgresql` binaries, run as
the `postgres` user (initdb refuses root), listening on a free 127.0.0.1 port with its socket
in its own temp folder; one fresh database per test. The PostgreSQL params are skipped only
when no server binary is installed. fsync is off in this throwaway cluster: durability is
tested on SQLite with SIGKILL; here we test the SQL.
"""

from __future__ import annotations

import dataclasses
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from oracle.storage import open_repository
from oracle.storage.repository import Repository

# One database for the session, a schema per test: a fresh database copies its template's files
# (~8 MB each, and its WAL), and deleting hundreds of them at the end took a minute on a busy
# machine; a schema costs a catalogue row. A test's URL sets its schema as the search path, so
# the code under test sees an empty database of its own.
TEST_DATABASE = "pocnet_tests"


def _pg_bindir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists() and Path(candidate, "pg_ctl").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*cmd: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return list(cmd)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str | None]:
    """Base URL of a running throwaway cluster, or None when PostgreSQL is not installed."""
    bindir = _pg_bindir()
    if bindir is None:
        yield None
        return
    base = Path(tempfile.mkdtemp(prefix="pocnet-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data = base / "data"
    port = _free_port()
    subprocess.run(
        _as_postgres(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                     "--no-sync", "-E", "UTF8"),
        check=True, capture_output=True,
    )
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
                     "-l", str(base / "log"), "-w", "start"),
        check=True, capture_output=True,
    )
    try:
        url = f"postgresql://postgres@127.0.0.1:{port}"
        import psycopg

        with psycopg.connect(f"{url}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {TEST_DATABASE}")
        yield url
    finally:
        subprocess.run(
            _as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


_db_numbers = itertools.count()


@pytest.fixture
def pg_url(pg_server: str | None) -> Iterator[str]:
    """A fresh, empty database on the session cluster: a schema of its own, and no session
    left behind by an earlier test (advisory locks, like the oracle's migration and pruning
    locks, belong to the database, not to a schema)."""
    if pg_server is None:
        pytest.skip("PostgreSQL server binaries not installed")
    import psycopg

    name = f"t{os.getpid()}_{next(_db_numbers)}"
    admin = f"{pg_server}/{TEST_DATABASE}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    yield f"{admin}?options=-csearch_path%3D{name}"
    with psycopg.connect(admin, autocommit=True) as conn:  # tests run one at a time
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'oracle.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def repo(database_url: str) -> Iterator[Repository]:
    repository = open_repository(database_url)
    try:
        yield repository
    finally:
        repository.close()


@pytest.fixture
def signature_processes(request: pytest.FixtureRequest) -> int:
    """1 = signatures checked in the helper process (production default), 0 = inline."""
    return int(getattr(request, "param", 1))


@pytest.fixture
def oracle_settings(tmp_path: Path, signature_processes: int):  # type: ignore[no-untyped-def]
    from oracle_factories import keypair

    from oracle.settings import Settings, validate
    from pocnet.keys import create_keyfile

    create_keyfile(tmp_path / "oracle.key")
    operator = keypair(999)
    base = Settings()
    settings = dataclasses.replace(
        base,
        oracle=dataclasses.replace(base.oracle, key=str(tmp_path / "oracle.key"),
                                   database=f"sqlite:///{tmp_path / 'oracle.db'}"),
        # Generous: a signed init checked in the helper process on a busy machine must never
        # miss it. The test of the timeout itself sets its own short one.
        server=dataclasses.replace(base.server, session_init_timeout_s=30.0, grace_s=0),
        rate_limit=dataclasses.replace(base.rate_limit, per_key_rate_per_s=1, per_key_burst=20),
        ingest=dataclasses.replace(base.ingest, signature_processes=signature_processes),
        registry=dataclasses.replace(base.registry,
                                     operator_keys=(operator.public_key.address,)),
    )
    return validate(settings), operator


@pytest.fixture
def server(oracle_settings):  # type: ignore[no-untyped-def]
    from oracle_client import RunningServer

    running = RunningServer(*oracle_settings)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def channel(server):  # type: ignore[no-untyped-def]
    import grpc

    with grpc.insecure_channel(server.address) as ch:
        yield ch
