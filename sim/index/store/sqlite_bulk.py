"""Loading a new SQLite index in bulk: without a journal or indexes, one batch at a time.

Each index is sorted once after the load, far cheaper than 11 M ordered inserts; batches come
from an iterable, so a generator (sim/feeds/build.py) bounds the memory to a batch.
"""

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path

import polars as pl

from sim.errors import InputError
from sim.index.store.schema import BULK_TABLES, CREATE_INDEXES

BATCH_ROWS = 500_000


class SqliteBulkLoad:
    """Bulk loading, for SqliteStore (which provides the connection and the transaction)."""

    _db: sqlite3.Connection
    path: Path

    _transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]  # SqliteStore's

    table_counts: Callable[[], dict[str, int]]  # SqliteStore's

    def bulk_load(self, frames: Mapping[str, pl.DataFrame]) -> None:
        """Load index frames (schema.BULK_TABLES) into a new, empty index in one pass."""
        self.bulk_load_batches([frames])

    def bulk_load_batches(self, batches: Iterable[Mapping[str, pl.DataFrame]]) -> None:
        """Load batches of frames without a journal and without indexes, then sort each index
        once. Batches are consumed one at a time, so a generator bounds the memory to a batch.

        The store is new, so a failed load leaves nothing worth keeping; WAL is restored after.
        """
        if self.table_counts()["child"]:
            raise InputError(f"{self.path}: bulk load needs an empty index")
        db = self._db
        for name in _index_names(db):
            db.execute(f'DROP INDEX "{name}"')
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            "foreign_keys = OFF",
            "threads = 2",
        ):
            db.execute(f"PRAGMA {pragma}")
        with self._transaction():
            for frames in batches:
                for table, columns in BULK_TABLES.items():
                    frame = frames.get(table)
                    if frame is not None and not frame.is_empty():
                        _insert(db, table, columns, frame)
        db.executescript(CREATE_INDEXES + "PRAGMA analysis_limit = 1000; ANALYZE;")
        for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"):
            db.execute(f"PRAGMA {pragma}")


def _insert(
    db: sqlite3.Connection, table: str, columns: tuple[str, ...], frame: pl.DataFrame
) -> None:
    """Insert a frame's rows, a slice at a time (table and columns come from schema.py)."""
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    for start in range(0, frame.height, BATCH_ROWS):
        db.executemany(sql, frame.slice(start, BATCH_ROWS).select(columns).iter_rows())


def _index_names(db: sqlite3.Connection) -> list[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    return [row[0] for row in rows]
