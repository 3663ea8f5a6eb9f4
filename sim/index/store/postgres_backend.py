"""The PostgreSQL backend of sim.index.store.backends: one database for the index
(PostgresStore), one for the accounts database.

The accounts database's stores are the SQLite backend's classes (sqlite_accounts,
sqlite_sessions, sqlite_usage) over a PgConnection: their SQL is written in the subset both
databases accept, and PgConnection speaks sqlite3's calls (postgres_connection says how
`BEGIN IMMEDIATE` becomes an advisory write lock). The schema is the same text, translated
(postgres_schema.postgres_ddl). psycopg is imported only when this module is, so a run on
SQLite never loads it.
"""

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import polars as pl

from sim.errors import InputError
from sim.index.access.rules import AccessRules
from sim.index.store.backends import AccessStores
from sim.index.store.postgres import PostgresStore
from sim.index.store.postgres_bulk import copy_frame
from sim.index.store.postgres_connection import PgConnection
from sim.index.store.postgres_schema import CREATE_TABLES_PG, SYNC_INDEX_KEYS, postgres_ddl
from sim.index.store.sqlite_accounts import _ADDED_COLUMNS, SCHEMA, SqliteAccountStore
from sim.index.store.sqlite_backend import dump_tables
from sim.index.store.sqlite_sessions import SqliteSessionStore
from sim.index.store.sqlite_shared import Transaction
from sim.index.store.sqlite_usage import USAGE_SCHEMA, SqliteUsageCounters

ACCOUNTS_SCHEMA = SCHEMA + USAGE_SCHEMA


def _conninfo(location: Path | str) -> str:
    if not isinstance(location, str):
        raise InputError(f"{location}: the postgres backend needs a conninfo, not a file path")
    return location


def create_index(location: Path | str) -> PostgresStore:
    return PostgresStore.create(_conninfo(location))


def load_index(
    location: Path | str, batches: Iterable[Mapping[str, pl.DataFrame]]
) -> dict[str, int]:
    """COPY in one transaction: a failed load leaves the index empty."""
    store = PostgresStore.create(_conninfo(location))
    try:
        store.bulk_load_batches(batches)
        return store.table_counts()
    finally:
        store.close()


def open_index(location: Path | str, *, read_only: bool = False) -> PostgresStore:
    """`read_only` is the caller's promise here; the database's roles enforce it."""
    return PostgresStore.open(_conninfo(location))


_RELATIONS = tuple(re.findall(r"(?:TABLE|INDEX) IF NOT EXISTS (\w+)", ACCOUNTS_SCHEMA))
"""Every table and index the accounts schema makes."""


def open_accounts_database(conninfo: str) -> PgConnection:
    """The accounts database with its schema: made, under the write lock, only when a table,
    index or column is missing (processes opening a new database at once would otherwise race
    to create the same table). DDL is never run on a database that has it all: even with IF NOT
    EXISTS, PostgreSQL locks each table it names until the transaction ends, and such locks,
    taken while another process's statement holds the next table, end in a deadlock."""
    db = PgConnection(_conninfo(conninfo))
    if not _schema_complete(db):
        with Transaction(db):  # type: ignore[arg-type]
            db.executescript(postgres_ddl(ACCOUNTS_SCHEMA))
            for (table, column), kind in _ADDED_COLUMNS.items():
                kind = postgres_ddl(kind)
                db.executescript(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")
    return db


def _schema_complete(db: PgConnection) -> bool:
    """Whether every relation and added column of the accounts schema exists (catalog reads
    only: no lock on the tables themselves)."""
    present = db.execute(
        "SELECT count(*) FROM unnest(?::text[]) AS r(name) WHERE to_regclass(r.name) IS NOT NULL",
        (list(_RELATIONS),),
    ).fetchone()[0]
    columns = {
        (table, column)
        for table, column in db.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        ).fetchall()
    }
    return present == len(set(_RELATIONS)) and set(_ADDED_COLUMNS) <= columns


def open_access(
    location: Path | str, *, rules: AccessRules, token_key: bytes | None
) -> AccessStores:
    """Every store over one connection to the accounts database."""
    db = open_accounts_database(_conninfo(location))
    accounts = SqliteAccountStore.over(db, token_key)
    return AccessStores(
        accounts=accounts,
        service=accounts,
        sessions=SqliteSessionStore(db, rules),  # type: ignore[arg-type]
        usage=SqliteUsageCounters(db, schema_made=True),  # type: ignore[arg-type]
        close=accounts.close,
    )


def replicate_index(location: Path | str, target: Path) -> None:
    raise InputError(
        "a PostgreSQL index is replicated by streaming replication (cpw deploy --backend "
        "postgres), not by copying a file"
    )


def memory_usage_counters() -> SqliteUsageCounters:
    return SqliteUsageCounters.in_memory()


def copy_from_sqlite(index_db: Path, accounts_db: Path, index: str, accounts: str) -> None:
    """Copy a SQLite index and accounts database into the databases `index` and `accounts`
    (copy_index, copy_accounts)."""
    copy_index(index_db, index)
    copy_accounts(accounts_db, accounts)


def copy_index(index_db: Path, conninfo: str) -> None:
    """Copy a SQLite index into the database `conninfo`, in one transaction. Run again after
    a kill, it completes: a database already holding exactly the SQLite rows is kept, an
    empty one is filled, anything else is refused."""
    rows = dump_tables(index_db, CREATE_TABLES_PG)
    try:
        store = PostgresStore.open(conninfo)
    except InputError:
        store = PostgresStore.create(conninfo)
    try:
        with store._transaction() as db:
            if _fill(db, rows, conninfo):
                db.raw.execute(SYNC_INDEX_KEYS)
    finally:
        store.close()


def copy_accounts(accounts_db: Path, conninfo: str) -> None:
    """Copy a SQLite accounts database into the database `conninfo`, in one transaction (kept
    if it already holds exactly those rows, filled if empty, else refused)."""
    target = open_accounts_database(conninfo)
    try:
        with Transaction(target):  # type: ignore[arg-type]
            _fill(target, dump_tables(accounts_db, ACCOUNTS_SCHEMA), conninfo)
    finally:
        target.close()


def _fill(db: PgConnection, frames: dict[str, pl.DataFrame], conninfo: str) -> bool:
    """COPY the frames into their tables if all are empty (True); keep them if they already
    hold as many rows as the frames (a finished earlier run: False); else refuse."""
    held = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in frames}
    if held == {t: f.height for t, f in frames.items()}:
        return False
    if any(held.values()):
        raise InputError(f"{conninfo}: already holds other rows; use an empty database")
    for table, frame in frames.items():
        if frame.height:
            copy_frame(db.raw, table, tuple(frame.columns), frame)
    return True
