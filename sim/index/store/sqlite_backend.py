"""The embedded SQLite backend of sim.index.store.backends: one file for the index, one for the
accounts database (accounts, tokens, sessions, usage counters, service state)."""

import sqlite3
from collections.abc import Iterable, Mapping
from contextlib import closing
from pathlib import Path

import polars as pl

from sim.errors import InputError
from sim.index.access.rules import AccessRules
from sim.index.store.backends import AccessStores
from sim.index.store.sqlite import SqliteStore
from sim.index.store.sqlite_accounts import SqliteAccountStore
from sim.index.store.sqlite_sessions import SqliteSessionStore
from sim.index.store.sqlite_usage import SqliteUsageCounters


def create_index(location: Path | str) -> SqliteStore:
    return SqliteStore.create(Path(location))


def load_index(
    location: Path | str, batches: Iterable[Mapping[str, pl.DataFrame]]
) -> dict[str, int]:
    """Loaded into a side file, renamed to `location` when complete."""
    path = Path(location)
    if path.exists():
        raise InputError(f"{path}: already exists; an index is built once, then updated")
    building = path.with_name(path.name + ".building")
    for leftover in building.parent.glob(building.name + "*"):
        leftover.unlink()
    store = SqliteStore.create(building)
    try:
        store.bulk_load_batches(batches)
        rows = store.table_counts()
    finally:
        store.close()
    building.rename(path)
    return rows


def open_index(location: Path | str, *, read_only: bool = False) -> SqliteStore:
    path = Path(location)
    return SqliteStore.open_read_only(path) if read_only else SqliteStore.open(path)


def open_access(
    location: Path | str, *, rules: AccessRules, token_key: bytes | None
) -> AccessStores:
    """Every store over one shared connection to accounts.db (owner-only, WAL)."""
    accounts = SqliteAccountStore(Path(location), token_key)
    return AccessStores(
        accounts=accounts,
        service=accounts,
        sessions=SqliteSessionStore(accounts.db, rules),
        usage=SqliteUsageCounters(accounts.db),
        close=accounts.close,
    )


def replicate_index(location: Path | str, target: Path) -> None:
    store = SqliteStore.open(Path(location))
    try:
        store.replicate(target)
    finally:
        store.close()


def memory_usage_counters() -> SqliteUsageCounters:
    return SqliteUsageCounters.in_memory()


def dump_tables(path: Path, schema: str) -> dict[str, pl.DataFrame]:
    """Every table of a SQLite file in rowid order (the order its rows were written), tables in
    the order `schema` creates them (so a row's references come before it): what a copy to
    another backend loads."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        names = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        names.sort(key=lambda name: schema.find(f" {name} ("))
        frames = {}
        for name in names:
            cursor = db.execute(f'SELECT * FROM "{name}" ORDER BY rowid')
            columns = [c[0] for c in cursor.description]
            frames[name] = pl.DataFrame(
                cursor.fetchall(), schema=columns, orient="row", infer_schema_length=None
            )
    return frames
