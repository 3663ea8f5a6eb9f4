"""Shared fixtures: a small synthetic England and one PostgreSQL cluster, made once per session."""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
from hypothesis import settings

from sim.deployment.backend import copy_to_postgres, write_backend
from sim.index.layout import Layout
from sim.population.synth import SynthRequest, synthesise
from sim.postgres import server as pg_server
from sim.reference import load_authorities

ROOT = Path(__file__).resolve().parents[1]

# No property test is timed: a deadline fails on a busy machine, not on broken behaviour.
# Under pytest-xdist (`make test`) each worker is a session of its own and would write the one
# example database in .hypothesis/ at the same time as the other: there it is off, and a
# failure prints the blob that replays it (@reproduce_failure) instead.
PARALLEL = {"database": None, "print_blob": True} if os.environ.get("PYTEST_XDIST_WORKER") else {}
settings.register_profile("untimed", deadline=None, **PARALLEL)
settings.load_profile("untimed")
SMALL_SEED = 7


@pytest.fixture(scope="session")
def england_small() -> dict[str, pl.DataFrame]:
    """All 152 authorities at 1% of England (~110,000 children)."""
    codes = tuple(a.code for a in load_authorities())
    return synthesise(SynthRequest(seed=SMALL_SEED, scale=0.01, authority_codes=codes))


@pytest.fixture
def cpw():
    """Run `cpw ARGS...` in a fresh process as a user would; returns the CompletedProcess."""
    return run_cpw


def run_cpw(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd or ROOT,
        timeout=300,
    )


@pytest.fixture
def deployment(built: Path, tmp_path: Path) -> Path:
    """A private copy of the module's deployment (`built` / "dep") and the files beside it.

    A test module that uses it defines `built`: a directory holding a deployment named `dep`.
    """
    shutil.copytree(built / "dep", tmp_path / "dep")
    for side in built.glob("dep.*"):
        shutil.copy2(side, tmp_path / side.name)
    return tmp_path / "dep"


@pytest.fixture(scope="session")
def postgres_root() -> Iterator[Path]:
    """A scratch directory the PostgreSQL OS user can traverse (pytest's own tmp is owner-only)."""
    root = Path(tempfile.mkdtemp(prefix="cpw-pg-"))
    os.chmod(root, 0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_tmp(postgres_root: Path) -> Iterator[Path]:
    """A fresh directory for one test's clusters and deployments, reachable by the server user;
    removed after the test (fixtures that start servers in it stop them first)."""
    path = Path(tempfile.mkdtemp(prefix="t-", dir=postgres_root))
    os.chmod(path, 0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


# The session cluster is thrown away after the run: it need not survive a power cut, so it does
# not wait for the disk (CREATE DATABASE and each commit would otherwise fsync). Tests of crash
# recovery start clusters of their own.
THROWAWAY = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


@pytest.fixture(scope="session")
def postgres_server(postgres_root: Path) -> Iterator[pg_server.Server]:
    """One real PostgreSQL cluster for the whole session: started once, stopped at the end."""
    server = pg_server.init_cluster(postgres_root / "session-cluster", settings=THROWAWAY)
    pg_server.start(server)
    try:
        yield server
    finally:
        pg_server.stop(server, mode="immediate")


@pytest.fixture
def postgres_database(postgres_server: pg_server.Server) -> Iterator[str]:
    """A fresh empty database on the session cluster; yields its conninfo, drops it afterwards."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_server.conninfo(name)
    finally:
        drop_databases(postgres_server, [name])


# -- the backend-parity suite: a test taking `backend` (or a fixture built on it: index_store,
# new_store, on_backend, desk) runs once on SQLite and once on PostgreSQL.
BACKENDS = ("sqlite", "postgres")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test: every test that takes a store through this runs on both."""
    return request.param


@pytest.fixture
def postgres_databases(request: pytest.FixtureRequest) -> Callable[[], str]:
    """A factory of fresh empty databases on the session cluster (dropped after the test)."""
    import psycopg

    server = request.getfixturevalue("postgres_server")
    made: list[str] = []

    def make(template: str | None = None) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        copied = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(server.conninfo(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"{copied}')
        made.append(name)
        return server.conninfo(name)

    yield make
    drop_databases(server, made)


def drop_databases(server: pg_server.Server, names: list[str]) -> None:
    """Drop a test's databases; one the server is still letting go of (a busy machine can take
    longer than DROP ... FORCE waits) is left for the cluster's own removal at session end."""
    import psycopg

    with psycopg.connect(server.conninfo(), autocommit=True) as admin:
        for name in names:
            try:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except psycopg.errors.ObjectInUse:
                continue


@pytest.fixture(scope="session")
def postgres_templates(postgres_server: pg_server.Server) -> dict[str, tuple[str, ...]]:
    """Template databases made once per session, by the content they copy: a test's database
    is then a CREATE DATABASE ... TEMPLATE (a file copy) instead of a load of its own."""
    return {}


def _empty_databases(server: pg_server.Server, *names: str) -> None:
    import psycopg

    with psycopg.connect(server.conninfo(), autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')


@pytest.fixture
def on_backend(backend: str, request: pytest.FixtureRequest) -> Callable[[Path], Path]:
    """Puts a (copied) SQLite deployment on the backend under test: unchanged for SQLite; for
    PostgreSQL, its index and accounts in two fresh databases (backend.toml), copied from
    templates that copy_to_postgres made once for the same SQLite files."""

    def move(deployment: Path) -> Path:
        if backend != "postgres":
            return deployment
        server = request.getfixturevalue("postgres_server")
        templates = request.getfixturevalue("postgres_templates")
        make = request.getfixturevalue("postgres_databases")
        layout = Layout(deployment)
        key = hashlib.sha256(layout.index.read_bytes() + layout.accounts.read_bytes())
        key = key.hexdigest()[:24]
        if key not in templates:
            scratch = Path(tempfile.mkdtemp(prefix="tpl-", dir=deployment.parent))
            shutil.copytree(deployment, scratch / "dep")
            names = (f"tpl_{key}_index", f"tpl_{key}_accounts")
            _empty_databases(server, *names)
            copy_to_postgres(Layout(scratch / "dep"), *(server.conninfo(n) for n in names))
            shutil.rmtree(scratch)
            templates[key] = names
        index, accounts = (make(template) for template in templates[key])
        write_backend(layout, index, accounts)
        for path in (layout.index, layout.accounts):
            for leftover in path.parent.glob(path.name + "*"):
                leftover.unlink()
        return deployment

    return move


@pytest.fixture
def postgres_from_template(request: pytest.FixtureRequest) -> Callable[..., str]:
    """A factory: `(key, fill)` -> the conninfo of a fresh database copied from the template
    `key`, which `fill(conninfo)` makes the first time (and must leave with no connection)."""
    server = request.getfixturevalue("postgres_server")
    templates = request.getfixturevalue("postgres_templates")
    make = request.getfixturevalue("postgres_databases")

    def copy(key: str, fill: Callable[[str], None]) -> str:
        if key not in templates:
            name = f"tpl_{hashlib.sha256(key.encode()).hexdigest()[:24]}"
            _empty_databases(server, name)
            fill(server.conninfo(name))
            templates[key] = (name,)
        return make(templates[key][0])

    return copy
