"""Which backend holds a deployment's index and accounts, recorded in the deployment itself.

A deployment on SQLite keeps both as files in its tree (index/index.db, accounts/accounts.db)
and has no backend file. A deployment on PostgreSQL records, in `backend.toml`, the libpq
conninfo of each database: a unix socket directory, a port, a user and a database name, and
never a password (the local cluster authenticates by peer or trust on its socket), so the file
holds nothing secret. Every process that opens the deployment reads it, so all of them meet the
same databases.

`copy_to_postgres` moves a SQLite deployment's index and accounts into two empty PostgreSQL
databases, row for row and in the order written: what the backend-parity tests run on, and a
way to move a rehearsal deployment onto a server.
"""

import sqlite3
import tomllib
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sim.errors import InputError
from sim.index.deployment.layout import Layout
from sim.outputs import write_private

BACKENDS = ("sqlite", "postgres")


@dataclass(frozen=True)
class Backend:
    """Where a deployment's index and accounts live: files (Path) or databases (conninfo)."""

    name: str
    index: Path | str
    accounts: Path | str


def backend_file(layout: Layout) -> Path:
    return layout.root / "backend.toml"


def read_backend(layout: Layout) -> Backend:
    """The deployment's backend: SQLite files unless backend.toml names PostgreSQL databases."""
    path = backend_file(layout)
    if not path.is_file():
        return Backend("sqlite", layout.index, layout.accounts)
    try:
        raw = tomllib.loads(path.read_text())
        name, index, accounts = raw["backend"], raw["index"], raw["accounts"]
    except (OSError, ValueError, KeyError):
        raise InputError(f"{path}: not a readable backend record") from None
    if name != "postgres" or not isinstance(index, str) or not isinstance(accounts, str):
        raise InputError(f"{path}: backend must be 'postgres' with index and accounts conninfo")
    if "password" in index or "password" in accounts:
        raise InputError(f"{path}: a conninfo must not hold a password (use the unix socket)")
    return Backend(name, index, accounts)


def write_backend(layout: Layout, index: str, accounts: str) -> Path:
    """Record that the deployment's index and accounts are the PostgreSQL databases named."""
    for conninfo in (index, accounts):
        if "password" in conninfo:
            raise InputError("a conninfo must not hold a password (use the unix socket)")
    path = backend_file(layout)
    lines = ['backend = "postgres"', f"index = {_quoted(index)}", f"accounts = {_quoted(accounts)}"]
    write_private(path, "\n".join(lines) + "\n")
    return path


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sqlite_tables(path: Path, schema: str) -> dict[str, pl.DataFrame]:
    """Every table of a SQLite file in rowid order (the order its rows were written), tables in
    the order `schema` creates them (so a row's references are loaded before it)."""
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
            rows = cursor.fetchall()
            frames[name] = pl.DataFrame(
                rows, schema=columns, orient="row", infer_schema_length=None
            )
    return frames


def copy_to_postgres(layout: Layout, index: str, accounts: str) -> Backend:
    """Copy the SQLite index and accounts of `layout` into the databases `index` and
    `accounts`, record them in backend.toml, then remove the SQLite files (one copy only).

    Each database is filled in one transaction, and backend.toml is written only after both,
    so a run killed at any point is completed by running it again: a database already holding
    exactly the SQLite rows is kept, an empty one is filled, anything else is refused."""
    from sim.index.access.database import Transaction, open_database
    from sim.index.access.store import _ADDED_COLUMNS, SCHEMA
    from sim.index.access.usage import USAGE_SCHEMA
    from sim.index.store.postgres import PostgresStore
    from sim.index.store.postgres_schema import CREATE_TABLES_PG, SYNC_INDEX_KEYS

    current = read_backend(layout)
    if current.name != "sqlite":
        raise InputError(f"{layout.root}: already on {current.name}")
    rows = _sqlite_tables(layout.index, CREATE_TABLES_PG)
    try:
        store = PostgresStore.open(index)
    except InputError:
        store = PostgresStore.create(index)
    try:
        with store._transaction() as db:
            if _fill(db, rows, index):
                db.raw.execute(SYNC_INDEX_KEYS)
    finally:
        store.close()
    schema = SCHEMA + USAGE_SCHEMA
    target = open_database(accounts, schema, _ADDED_COLUMNS)
    try:
        with Transaction(target):
            _fill(target, _sqlite_tables(layout.accounts, schema), accounts)  # type: ignore[arg-type]
    finally:
        target.close()
    write_backend(layout, index, accounts)
    for path in (layout.index, layout.accounts):
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
    return read_backend(layout)


def _fill(db, frames: dict[str, pl.DataFrame], conninfo: str) -> bool:
    """COPY the frames into their tables if all are empty (True); keep them if they already
    hold as many rows as the frames (a finished earlier run: False); else refuse."""
    from sim.index.store.postgres_bulk import copy_frame

    held = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in frames}
    if held == {t: f.height for t, f in frames.items()}:
        return False
    if any(held.values()):
        raise InputError(f"{conninfo}: already holds other rows; use an empty database")
    for table, frame in frames.items():
        if frame.height:
            copy_frame(db.raw, table, tuple(frame.columns), frame)
    return True
