"""One SQLite connection shared by the threads of a process (a web worker's facade threads).

Each statement runs under the connection's lock and its rows are read at once: no thread's
statement lands inside another thread's transaction, and no half-read SELECT keeps an old
snapshot open (a write from a stale snapshot fails at once with SQLITE_BUSY, whatever the busy
timeout). Writers take the write lock at BEGIN IMMEDIATE (`Transaction`); where SQLite still
answers "locked" or "busy" to a statement outside a transaction, or to BEGIN, nothing was done
and it is retried until `BUSY_SECONDS` have passed. Used by the accounts database
(sim.index.store.sqlite_connection) and the index store (sim.index.store.sqlite).

The accounts database, which `cpw serve`'s workers all write on every request, also has a write
gate: an exclusive flock on the directory that holds it (no file of its own, so nothing new to
inventory or erase), taken before BEGIN IMMEDIATE. Writers of every process then queue in the
kernel and each wakes the moment the one before it commits, where SQLite's busy handler would
sleep (1 ms, then longer) with the process's connection lock held, stalling that process's other
threads meanwhile. The gate adds nothing to correctness: SQLite's locking still decides, and a
process without the gate still waits through the busy timeout.
"""

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

BUSY_SECONDS = 30.0  # how long a writer waits for another process's transaction to end
T = TypeVar("T")


def is_busy(error: sqlite3.OperationalError) -> bool:
    """Whether SQLite refused for another connection's lock (SQLITE_BUSY or SQLITE_LOCKED)."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(error) or "busy" in str(error)


def retrying(attempt: Callable[[], T], seconds: float = BUSY_SECONDS) -> T:
    """`attempt()`, again after a short pause while SQLite says busy, for up to `seconds`."""
    deadline, pause = time.monotonic() + seconds, 0.001
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as error:
            if not is_busy(error) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


class Rows:
    """A statement's outcome, read in full while the connection's lock was held."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._rows = cursor.fetchall() if cursor.description else []
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid
        self.description = cursor.description
        cursor.close()

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class SharedConnection(sqlite3.Connection):
    """A connection the threads of one process share (a web server's workers): `lock` keeps
    one thread's statements and transaction from interleaving with another's."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.lock = threading.RLock()
        self.gate: int | None = None  # the write gate's descriptor (`open_gate`)

    def open_gate(self, directory: Path) -> None:
        """Queue this connection's transactions behind an flock on `directory`."""
        self.gate = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)

    def close(self) -> None:
        with self.lock:
            if self.gate is not None:
                os.close(self.gate)
                self.gate = None
            super().close()

    def execute(self, sql: str, parameters: Sequence[object] | dict = (), /) -> Rows:  # type: ignore[override]
        with self.lock:
            run = super().execute
            if self.in_transaction:  # inside BEGIN IMMEDIATE: the write lock is already held
                return Rows(run(sql, parameters))
            return retrying(lambda: Rows(run(sql, parameters)))


class Transaction:
    """`with Transaction(db):` one IMMEDIATE transaction (the write lock taken at the start, so
    a check and the write that follows it are atomic across processes); rolled back on error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._lock = getattr(db, "lock", None) or threading.RLock()
        self._gate: int | None = None

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            self._gate = getattr(self._db, "gate", None)
            if self._gate is not None:
                fcntl.flock(self._gate, fcntl.LOCK_EX)
            retrying(lambda: self._db.execute("BEGIN IMMEDIATE"))
        except BaseException:
            self._release()
            raise
        return self._db

    def __exit__(self, kind: object, *rest: object) -> None:
        try:
            self._db.execute("ROLLBACK" if kind else "COMMIT")
        finally:
            self._release()

    def _release(self) -> None:
        try:
            if self._gate is not None:
                fcntl.flock(self._gate, fcntl.LOCK_UN)
        finally:
            self._lock.release()


@contextmanager
def joined(db: Any) -> Iterator[None]:
    """The transaction this thread holds open on `db` (a search's session checks inside the
    usage guard's), else a `Transaction` of its own: a batch's writes join the caller's."""
    with getattr(db, "lock", None) or threading.RLock():
        if getattr(db, "in_transaction", False):  # under the lock: this thread's transaction
            yield
            return
        with Transaction(db):
            yield


def gated_write(db: sqlite3.Connection, sql: str, parameters: Sequence[object] = ()) -> Any:
    """One frequent write statement, through the connection's write gate when it has one (a
    connection without, such as a PostgreSQL one, runs it as it is). Inside a transaction this
    thread holds open (a search's session check within the usage guard's), it joins that one."""
    if getattr(db, "gate", None) is None:
        return db.execute(sql, parameters)
    with db.lock:  # type: ignore[attr-defined]
        if db.in_transaction:  # under the lock: the open transaction is this thread's
            return db.execute(sql, parameters)
        with Transaction(db) as gated:
            return gated.execute(sql, parameters)


IN_CHUNK = 500  # values per statement (well under SQLite's limit on bound parameters)
# The lengths an IN list is padded to: a statement's text is then one of a few, compiled once
# and reused from the connection's statement cache, where a list of each new length was a new
# statement to compile (some 100 us for a join), several times a batch.
_IN_LENGTHS = (1, 2, 4, 8, 16, 32, 64, 128, 256, IN_CHUNK)


def _padded(chunk: list) -> list:
    """`chunk` padded with its last value to the next of `_IN_LENGTHS` (a value asked twice
    matches the same rows)."""
    length = next(n for n in _IN_LENGTHS if n >= len(chunk))
    return chunk + [chunk[-1]] * (length - len(chunk))


def select_in(
    db: sqlite3.Connection,
    select: str,
    column: str,
    values: Sequence[object],
    also: tuple[str, Sequence[object]] | None = None,
) -> list:
    """The rows of `select` (a statement without its WHERE) whose `column` is one of `values`
    (and that meet the condition `also`, with its parameters, if given), each row once, read
    with one statement per IN_CHUNK values (a batch's reads)."""
    wanted = list(dict.fromkeys(values))
    condition, bound = also or ("", ())
    where = f"{condition} AND " if condition else ""
    rows: list = []
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = _padded(wanted[start : start + IN_CHUNK])
        marks = ", ".join("?" * len(chunk))
        sql = f"{select} WHERE {where}{column} IN ({marks})"
        rows += db.execute(sql, [*bound, *chunk]).fetchall()
    return rows
