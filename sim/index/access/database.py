"""The accounts database (`accounts.db`): one connection per process, shared by the stores of
accounts, sessions, usage counters and the service's open or closed state.

Every process that serves the index (a CLI command, a web worker, the simulation) opens the same
file, so security state is one truth: a session, a counter or a revocation written by one
process is what the next request in any other process reads. WAL lets readers run beside one
writer; writers wait for each other (busy timeout) rather than fail. The file is owner-only.
"""

import sqlite3
import sys
import threading
from pathlib import Path

from sim.index.store.postgres_schema import postgres_ddl
from sim.outputs import private_file

BUSY_SECONDS = 30.0  # how long a writer waits for another process's transaction to end


def integrity_errors() -> tuple[type[Exception], ...]:
    """A duplicate key (a username taken) on either backend. psycopg is imported only when a
    PostgreSQL database is opened (it costs every command a tenth of a second otherwise), and
    without it no PostgreSQL error can arise."""
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.IntegrityError, *((psycopg.IntegrityError,) if psycopg else ()))


# Where the accounts database lives: a SQLite file (a Path) or a PostgreSQL database (a conninfo).
AccountsLocation = Path | str


class SharedConnection(sqlite3.Connection):
    """A connection the threads of one process share (a web server's workers): `lock` keeps
    one thread's transaction from interleaving with another's."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.lock = threading.RLock()


def open_database(
    path: AccountsLocation, schema: str, added: dict[tuple[str, str], str]
) -> sqlite3.Connection:
    """Open (creating owner-only) a SQLite file in WAL mode with `schema`, adding the columns in
    `added` ((table, column) -> type) that an older file lacks; or, for a conninfo, the
    PostgreSQL database it names, with the same schema (postgres_schema.postgres_ddl)."""
    if isinstance(path, str):
        return _open_postgres(path, schema, added)  # type: ignore[return-value]
    db = sqlite3.connect(
        private_file(Path(path)),
        isolation_level=None,
        check_same_thread=False,
        timeout=BUSY_SECONDS,
        factory=SharedConnection,
    )
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.executescript(schema)
    for (table, column), kind in added.items():
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    return db


def _open_postgres(conninfo: str, schema: str, added: dict[tuple[str, str], str]):
    """The schema is made under the write lock: processes opening a new database at once would
    otherwise race to create the same table."""
    from sim.index.store.postgres_connection import PgConnection

    db = PgConnection(conninfo)
    with Transaction(db):  # type: ignore[arg-type]
        db.executescript(postgres_ddl(schema))
        for (table, column), kind in added.items():
            kind = postgres_ddl(kind)
            db.executescript(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")
    return db


def ensure_schema(db: sqlite3.Connection, schema: str) -> None:
    """Create `schema` (CREATE ... IF NOT EXISTS, written for SQLite) on either backend."""
    if not isinstance(db, sqlite3.Connection):  # a PgConnection
        with Transaction(db):  # type: ignore[arg-type]
            db.executescript(postgres_ddl(schema))
    else:
        db.executescript(schema)


class Transaction:
    """`with Transaction(db):` one IMMEDIATE transaction (the write lock taken at the start, so
    a check and the write that follows it are atomic across processes); rolled back on error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._lock = getattr(db, "lock", None) or threading.RLock()

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise
        return self._db

    def __exit__(self, kind: object, *rest: object) -> None:
        try:
            self._db.execute("ROLLBACK" if kind else "COMMIT")
        finally:
            self._lock.release()
