"""The live index on a PostgreSQL primary, read for the archive as the archivist.

After the switch-off the primary refuses every login but one: the archivist's (sim.postgres.
topology ARCHIVIST_ROLE, read-only; decommission.postgres leaves its pg_hba.conf line). The
archive reads the held children's rows through it, in one REPEATABLE READ, READ ONLY
transaction, so every read sees the same snapshot and a row's `ctid` names it throughout.

The tables, columns and foreign keys are read from the server's catalog, as decommission.held
reads SQLite's; the archived part is written with the SQLite schema the server's was generated
from (sim.index.store.schema, postgres_schema.postgres_ddl), so it opens as an index store in
memory like a part archived from a SQLite index. The PostgreSQL-only `rowid` ordering column is
not archived: it orders the rows, which SQLite numbers again as they are inserted.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from decommission.held import Link, SqliteRows
from decommission.inventory import Store
from sim.errors import WorkbenchError
from sim.index.store import IndexStore
from sim.index.store.postgres import PostgresStore
from sim.index.store.postgres_connection import PgConnection
from sim.index.store.schema import CREATE_TABLES
from sim.postgres import server as pg
from sim.postgres.topology import ARCHIVIST_ROLE

ORDER_COLUMN = "rowid"
"""The identity column postgres_schema adds to tables read in the order written."""
CONNECT_TIMEOUT_SECONDS = 10

TABLES_SQL = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname
"""
COLUMNS_SQL = """
SELECT a.attname FROM pg_attribute a
WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
"""
LINKS_SQL = """
SELECT a.attname, p.relname, pa.attname
FROM pg_constraint k
JOIN pg_class p ON p.oid = k.confrelid
JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1]
WHERE k.contype = 'f' AND k.conrelid = to_regclass(%s) ORDER BY k.conname
"""


class ArchivistRefused(WorkbenchError):
    """The primary could not be read as the archivist (stopped, gone, or refusing)."""


def store_conninfo(deployment: Path, store: Store) -> str:
    """The archivist's login to the store's database on the server whose data directory is
    the store's path."""
    server = pg.open_server(Path(deployment) / store.path)
    return f"{server.conninfo(store.database or '')} user={ARCHIVIST_ROLE}"


def reachable(deployment: Path, store: Store) -> bool:
    """Whether the archivist can read the store now (a data directory that is gone, a server
    stopped or destroyed: no)."""
    if not (Path(deployment) / store.path / pg.SERVER_FILE).is_file():
        return False
    try:
        conninfo = store_conninfo(deployment, store)
        psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
    except (psycopg.Error, WorkbenchError, OSError, ValueError):
        return False
    return True


class PostgresRows:
    """A database on the primary, read in one read-only snapshot (decommission.held.Rows)."""

    def __init__(self, connection: psycopg.Connection, conninfo: str) -> None:
        self.db, self.conninfo = connection, conninfo
        self._columns: dict[str, list[str]] = {}
        self._stores: list[PostgresStore] = []

    @classmethod
    @contextlib.contextmanager
    def connect(cls, deployment: Path, store: Store) -> Iterator[PostgresRows]:
        conninfo = store_conninfo(deployment, store)
        try:
            connection = psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_SECONDS)
        except psycopg.OperationalError as error:
            last = (str(error).strip().splitlines() or ["no answer"])[-1]
            raise ArchivistRefused(
                f"{store.path} ({store.database}): cannot be read as {ARCHIVIST_ROLE}: {last} "
                "(start the servers with `cpw postgres start`, then resume)"
            ) from None
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        rows = cls(connection, conninfo)
        try:
            yield rows
        finally:
            for store in rows._stores:
                store.close()
            connection.close()

    def _all(self, statement: str | sql.Composable, *params: Any) -> list[tuple]:
        return self.db.execute(statement, params or None).fetchall()  # type: ignore[arg-type]

    def tables(self) -> list[str]:
        return [row[0] for row in self._all(TABLES_SQL)]

    def _stored(self, table: str) -> list[str]:
        if table not in self._columns:
            self._columns[table] = [row[0] for row in self._all(COLUMNS_SQL, table)]
        return self._columns[table]

    def columns(self, table: str) -> list[str]:
        """The table's columns as archived (the ordering column left out)."""
        return [name for name in self._stored(table) if name != ORDER_COLUMN]

    def _ordered(self, table: str) -> bool:
        return ORDER_COLUMN in self._stored(table)

    def links(self, table: str) -> list[Link]:
        return [Link(table, column, parent, key) for column, parent, key in
                self._all(LINKS_SQL, table)]  # fmt: skip

    def rowids(self, table: str, column: str, values: Any) -> set[Any]:
        if not values:
            return set()
        statement = sql.SQL("SELECT ctid::text FROM {} WHERE {} = ANY(%s)").format(
            sql.Identifier(table), sql.Identifier(column)
        )
        return {row[0] for row in self._all(statement, sorted(values, key=str))}

    def values(self, table: str, column: str, rowids: set[Any]) -> set[Any]:
        if not rowids:
            return set()
        statement = sql.SQL("SELECT {} FROM {} WHERE ctid = ANY(%s::tid[])").format(
            sql.Identifier(column), sql.Identifier(table)
        )
        return {row[0] for row in self._all(statement, sorted(rowids)) if row[0] is not None}

    def rows(self, table: str, rowids: set[Any]) -> list[list[Any]]:
        order = ORDER_COLUMN if self._ordered(table) else self.columns(table)[0]
        statement = sql.SQL("SELECT {} FROM {} WHERE ctid = ANY(%s::tid[]) ORDER BY {}").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in self.columns(table)),
            sql.Identifier(table),
            sql.Identifier(order),
        )
        return [list(row) for row in self._all(statement, sorted(rowids))]

    def schema(self) -> dict[str, str]:
        """The SQLite form of the tables the server holds (the text its schema came from)."""
        db = sqlite3.connect(":memory:")
        try:
            db.executescript(CREATE_TABLES)
            written = SqliteRows(db).schema()
        finally:
            db.close()
        held = set(self.tables())
        return {table: text for table, text in written.items() if table in held}

    def count(self, table: str, by: str | None = None) -> Any:
        if by is None:
            statement = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            return self._all(statement)[0][0]
        statement = sql.SQL("SELECT {}, count(*) FROM {} GROUP BY 1 ORDER BY 1").format(
            sql.Identifier(by), sql.Identifier(table)
        )
        return dict(self._all(statement))

    def index_store(self) -> IndexStore:
        """The index store over the archivist's own (read-only) connection, for its readers of
        holds and requests; closed with this reader."""
        self._stores.append(PostgresStore(PgConnection(self.conninfo)))
        return self._stores[-1]
