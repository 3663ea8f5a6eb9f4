"""A PostgreSQL connection that speaks the small part of sqlite3's interface the stores use.

The index's read paths and the access stores were written against sqlite3: `execute` with `?`
placeholders, rows read by position or by name, `executescript`, and `BEGIN IMMEDIATE` for a
write that must follow its own check atomically across processes. This class gives the same
calls on psycopg 3, so that SQL written once in the portable subset runs on both backends.

`BEGIN IMMEDIATE` becomes a transaction that first takes one transaction-scoped advisory lock
per database: like SQLite's write lock, it serialises every writer that asks for it, in any
process, and is released by COMMIT or ROLLBACK (or by the server if the process dies).
Outside such a transaction every statement commits on its own (autocommit), as with sqlite3's
`isolation_level=None`.
"""

import contextlib
import functools
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg.rows import RowMaker

from sim.errors import InputError, WorkbenchError

# The advisory lock a `BEGIN IMMEDIATE` takes: one number for the whole database.
WRITE_LOCK = 0x43505721  # "CPW!"
REFUSALS = ("pg_hba.conf rejects", "permission denied for database", "no pg_hba.conf entry")
"""What a server says when it refuses a login by rule (not because it is down)."""


class ServerRefused(InputError):
    """The server refuses this login by rule (a decommissioned server's pg_hba.conf): the
    typed refusal that shows the path is shut, unlike a server that is down or unreachable."""


def refused(error: Exception) -> bool:
    return any(marker in str(error) for marker in REFUSALS)


class Row(tuple):
    """A result row readable by position or by column name, and convertible with dict()."""

    _names: tuple[str, ...]

    def __new__(cls, values: Sequence[Any], names: tuple[str, ...]) -> "Row":
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self) -> tuple[str, ...]:
        return self._names


def _row_factory(cursor: psycopg.Cursor) -> RowMaker[Row]:
    names = tuple(column.name for column in cursor.description or ())
    return lambda values: Row(values, names)


@functools.lru_cache(maxsize=512)
def to_postgres(sql: str) -> str:
    """sqlite3's `?` placeholders as psycopg's `%s` (a literal `%` doubled). The stores' SQL
    never holds a `?` or `%` inside a string literal."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """One autocommit psycopg connection with sqlite3's `execute`/`executemany`/`executescript`.

    `lock` keeps one thread's transaction from interleaving with another's, as
    sim.index.store.sqlite_shared.SharedConnection does for SQLite.
    """

    def __init__(self, conninfo: str) -> None:
        self.lock = threading.RLock()
        self.conninfo = conninfo
        self.raw = self._connect()
        self.row_factory: object = None  # sqlite3 compatibility: rows are always Row

    def _connect(self) -> psycopg.Connection:
        try:
            return psycopg.connect(self.conninfo, autocommit=True, row_factory=_row_factory)
        except psycopg.OperationalError as error:
            text = str(error).strip()
            last = text.splitlines()[-1] if text else "refused"
            if refused(error):
                raise ServerRefused(f"PostgreSQL ({self.conninfo}): refused: {last}") from None
            first = text.splitlines()[0] if text else "refused"
            raise InputError(f"PostgreSQL ({self.conninfo}): cannot connect: {first}") from None

    @contextlib.contextmanager
    def _lost(self) -> Iterator[None]:
        """A connection the server ended (terminated by an administrator, restarted): one new
        connection is tried, so the caller learns whether the server now refuses it by rule
        (ServerRefused) or the statement just failed (the original error, on a new connection)."""
        try:
            yield
        except psycopg.OperationalError:
            if not (self.raw.closed or self.raw.broken):
                raise
            self.raw = self._connect()  # ServerRefused, or InputError if down or unreachable
            raise

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (sqlite3's attribute; read under `lock`)."""
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> psycopg.Cursor:
        """One statement; under `lock`, so another thread's statement never runs inside (and
        never aborts) a transaction this connection has open for a thread."""
        command = sql.strip().upper()
        with self.lock, self._lost():
            if command == "BEGIN IMMEDIATE":
                cursor = self.raw.execute("BEGIN")
                self.raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                return cursor
            if not params:  # no placeholders to convert: psycopg reads the text as written
                cursor = self.raw.execute(sql)  # type: ignore[arg-type]
            else:
                cursor = self.raw.execute(to_postgres(sql), tuple(params))
        if command == "COMMIT" and cursor.statusmessage == "ROLLBACK":
            raise WorkbenchError(f"PostgreSQL ({self.conninfo}): the transaction was rolled back")
        return cursor

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor:
        with self.lock, self._lost():
            cursor = self.raw.cursor()
            cursor.executemany(to_postgres(sql), [tuple(row) for row in rows])
        return cursor

    def executescript(self, script: str) -> None:
        """Several statements without parameters, in one round trip."""
        with self.lock, self._lost():
            self.raw.execute(script)  # type: ignore[arg-type]

    def close(self) -> None:
        self.raw.close()
