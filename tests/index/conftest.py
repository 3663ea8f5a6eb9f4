"""Fixtures for the index: one small synthetic authority and a freshly built index per test."""

import datetime as dt
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from sim.index.build import build_index, build_index_postgres
from sim.index.shielding import ShieldingRequest, decide_shielding, request_shielding
from sim.index.store import IndexStore, SqliteStore
from sim.index.store.postgres import PostgresStore
from sim.index.store.postgres_schema import CREATE_TABLES_PG as DDL
from sim.index.store.postgres_schema import SYNC_INDEX_KEYS
from sim.population.identifiers import index_ids
from sim.population.synth import SynthRequest, synthesise
from tests.index.support import Desk, make_desk

DECIDER_ROLE = "authority management team"


@pytest.fixture(scope="session")
def index_population() -> dict[str, pl.DataFrame]:
    """Bolton at 2% scale: about 1,250 children, made in well under a second."""
    return synthesise(SynthRequest(seed=1, scale=0.02, authority_codes=("E08000001",)))


def _location(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a new index of `backend` goes: a file, or a fresh database on the test cluster."""
    if backend == "sqlite":
        return tmp_path / "index.db"
    return request.getfixturevalue("postgres_database")


@pytest.fixture
def new_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> IndexStore:
    """A new, empty index of the backend under test; closed after the test."""
    location = _location(backend, request, tmp_path)
    store = SqliteStore.create(location) if backend == "sqlite" else PostgresStore.create(location)
    yield store
    store.close()


@pytest.fixture
def index_store(
    index_population: dict[str, pl.DataFrame],
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> IndexStore:
    """A fresh index built from the population, on each backend; closed after the test."""
    if backend == "sqlite":
        location = tmp_path / "index.db"
        build_index(index_population, location)
        store = SqliteStore.open(location)
    else:  # a copy of one index built from the population once per session
        copy = request.getfixturevalue("postgres_from_template")
        location = copy(
            "index_population", lambda into: build_index_postgres(index_population, into)
        )
        store = PostgresStore.open(location)
    yield store
    store.close()


@pytest.fixture
def empty_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path):
    """A factory of empty stores of the backend under test, cheap enough for property tests:
    `empty_store(slot)` is a new SQLite file, or the slot's PostgreSQL database emptied (its
    keys numbered from 1 again). Reopening a slot closes the store it gave before."""
    databases: dict[int, str] = {}
    given: dict[int, IndexStore] = {}

    def make(slot: int = 0) -> IndexStore:
        if slot in given:
            given.pop(slot).close()
        if backend == "sqlite":
            store = SqliteStore.create(Path(tempfile.mkdtemp(dir=tmp_path)) / "index.db")
        elif slot not in databases:
            databases[slot] = request.getfixturevalue("postgres_databases")()
            store = PostgresStore.create(databases[slot])
        else:
            store = PostgresStore.open(databases[slot])
            for table in reversed(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", DDL)):
                store._db.execute(f"DELETE FROM {table}")  # a few rows: cheaper than TRUNCATE
            store._db.executescript(SYNC_INDEX_KEYS)
        given[slot] = store
        return store

    yield make
    for store in given.values():
        store.close()


@pytest.fixture
def sqlite_index_store(index_population: dict[str, pl.DataFrame], tmp_path: Path) -> SqliteStore:
    """A fresh SQLite index: for tests of SQLite's own files (WAL, pragmas, free pages)."""
    build_index(index_population, tmp_path / "index.db")
    store = SqliteStore.open(tmp_path / "index.db")
    yield store
    store.close()


def fresh_ids(count: int, start: int = 900_000) -> list[str]:
    """Valid index IDs that the synthetic population does not use (another authority's)."""
    return [raw.decode() for raw in index_ids(150, np.arange(start, start + count))]


def child_record(index_id: str, **overrides: object) -> dict:
    """A complete, valid record as a feed would send it."""
    record = {
        "index_id": index_id,
        "authority_code": "E08000001",
        "name": {"forename": "Amelia", "middle_names": "Rose", "surname": "Thwaite"},
        "former_names": [],
        "gender": "female",
        "date_of_birth": "2004-03-07",
        "address": {"address_line": "1 Mill Lane", "town": "Bolton", "postcode": "BL1 1AA"},
        "carers": [
            {
                "forename": "Joan",
                "surname": "Thwaite",
                "relationship": "mother",
                "phone": "07700900001",
            }
        ],
        "services": [
            {
                "kind": "school",
                "organisation_code": "156000",
                "organisation_name": "Greer Primary School",
                "contact": {"name": "Ann Head", "role": "head teacher", "phone": "01204 000000"},
            },
            {
                "kind": "gp_practice",
                "organisation_code": "B33600",
                "organisation_name": "McLean Surgery",
            },
        ],
    }
    record.update(overrides)
    return record


def shield(store: SqliteStore, child_id: str, criterion: str = "domestic abuse refuge") -> int:
    """Request and approve a shield for one child, as two management-team members would."""
    at = dt.datetime(2009, 3, 1, 10, 0)
    event = request_shielding(
        store,
        ShieldingRequest(
            child_id=child_id, criterion=criterion, requested_by="mt-1", requested_at=at
        ),
    )
    decide_shielding(store, event.request_id, "mt-2", DECIDER_ROLE, True, at)
    return event.request_id


@pytest.fixture
def make_record():
    """A factory of valid record dicts: make_record(index_id, **overrides)."""
    return child_record


@pytest.fixture
def new_ids():
    """A factory of unused valid index IDs: new_ids(count, start=900_000)."""
    return fresh_ids


@pytest.fixture
def shield_child():
    """Shield a child through the full request/decision path: shield_child(store, child_id)."""
    return shield


@pytest.fixture
def desk(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Desk]:
    """A desk on each backend: accounts.db, or a fresh PostgreSQL database."""
    postgres = backend == "postgres"
    d = make_desk(tmp_path, request.getfixturevalue("postgres_database") if postgres else None)
    yield d
    d.control.close()
    d.log.close()
