"""Loading a new PostgreSQL index in bulk: COPY without indexes, then each index built once.

Each frame is written by polars as CSV and streamed to `COPY ... FROM STDIN` a slice at a time,
so no row passes through Python. Indexes, keys and foreign keys are dropped first and made again
after, in the same transaction (one sort per index and one join per foreign key, instead of
millions of ordered inserts and per-row checks), then the tables are analysed and the key
sequences moved past the loaded keys. A failed load, or a row pointing at nothing, rolls back
whole.

The WAL a load writes is what the WAL archive keeps, so the load keeps it to the rows
themselves and one image of each index: the empty tables are truncated in the load's
transaction, so COPY FREEZE writes each row once, already frozen and visible (no vacuum or
hint-bit pass rewrites the pages later), and no index exists while rows arrive (an index
filled row by row logs every leaf insert, and a full image of every leaf page again after
each checkpoint).
"""

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from itertools import groupby

import polars as pl
from psycopg.copy import QueuedLibpqWriter

from sim.errors import InputError
from sim.index.store.postgres_connection import PgConnection
from sim.index.store.postgres_schema import CREATE_INDEXES_PG, SYNC_INDEX_KEYS
from sim.index.store.schema import BULK_TABLES
from sim.postgres.settings import postgres_settings

SLICE_ROWS = 50_000

# The index's keys and foreign keys: dropped for the load (foreign keys first) and added back
# after it (keys first), so each key's index is built by one sort instead of a logged insert
# per copied row, and each foreign key is checked by one join instead of a trigger per row.
_CONSTRAINTS = """
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE contype IN ('p', 'u', 'f') AND connamespace = current_schema()::regnamespace
ORDER BY contype = 'f' DESC, conname
"""


class PostgresBulkLoad:
    """Bulk loading, for PostgresStore (which provides the connection and the transaction)."""

    _db: PgConnection
    conninfo: str

    _transaction: Callable[[], AbstractContextManager[PgConnection]]  # PostgresStore's

    table_counts: Callable[[], dict[str, int]]  # PostgresStore's

    def bulk_load(self, frames: Mapping[str, pl.DataFrame]) -> None:
        """Load index frames (schema.BULK_TABLES) into a new, empty index in one pass."""
        self.bulk_load_batches([frames])

    def bulk_load_batches(self, batches: Iterable[Mapping[str, pl.DataFrame]]) -> None:
        """COPY batches of frames (taken one at a time, so a generator bounds the memory) into
        an empty index without its indexes, then build them, in one transaction."""
        self.bulk_copy(
            (table, columns, frames[table])
            for frames in batches
            for table, columns in BULK_TABLES.items()
            if table in frames
        )

    def bulk_copy(self, pieces: Iterable[tuple[str, tuple[str, ...], pl.DataFrame]]) -> None:
        """COPY (table, columns, frame) pieces, in the order given (a row's references before
        it), into an empty index without its indexes, then build them, in one transaction."""
        with self._transaction() as db:
            counts = self.table_counts()
            if any(counts.values()):
                raise InputError(f"{self.conninfo}: bulk load needs an empty index")
            raw = db.raw
            raw.execute("SET LOCAL synchronous_commit = off")
            memory = postgres_settings().maintenance_work_mem_mb.value  # whatever the server's
            raw.execute(f"SET LOCAL maintenance_work_mem = '{memory}MB'")
            for (name,) in raw.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            ).fetchall():
                raw.execute(f'DROP INDEX "{name}"')
            constraints = raw.execute(_CONSTRAINTS).fetchall()
            for table, name, _ in constraints:
                raw.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            raw.execute(f"TRUNCATE {', '.join(counts)}")  # empty already: lets COPY FREEZE
            for (table, columns), same in groupby(pieces, key=lambda piece: piece[:2]):
                copy_frames(raw, table, columns, (frame for *_, frame in same), bulk=True)
            raw.execute(CREATE_INDEXES_PG)
            for table, name, definition in reversed(constraints):
                raw.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            raw.execute(SYNC_INDEX_KEYS)
        db.raw.execute("ANALYZE")


def copy_frame(raw, table: str, columns: tuple[str, ...], frame: pl.DataFrame) -> None:
    """Stream a frame's rows into `table` (copy_frames, without the sending thread)."""
    copy_frames(raw, table, columns, [frame], bulk=False)


def copy_frames(
    raw, table: str, columns: tuple[str, ...], frames: Iterable[pl.DataFrame], *, bulk: bool
) -> None:
    """Stream frames' rows into `table` as CSV, one COPY for them all (names from schema.py,
    never input).

    Booleans go as 0/1, the integers SQLite stores; polars writes a null as an empty field and
    an empty string as "", which COPY reads back as NULL and '' respectively. `bulk`: the
    table was created or truncated in this transaction (COPY FREEZE), and a thread sends each
    slice while the next is made, so the server parses rows while Python makes them.
    """
    options = "FORMAT csv, FREEZE" if bulk else "FORMAT csv"
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN ({options})"
    cursor = raw.cursor()
    writer = QueuedLibpqWriter(cursor) if bulk else None
    with cursor.copy(statement, writer=writer) as copy:
        for frame in frames:
            if frame.is_empty():  # a table with no rows may come with no columns either
                continue
            selected = frame.select(columns)
            flags = [c for c, kind in selected.schema.items() if kind == pl.Boolean]
            selected = selected.with_columns([pl.col(c).cast(pl.Int8) for c in flags])
            for start in range(0, selected.height, SLICE_ROWS):
                copy.write(selected.slice(start, SLICE_ROWS).write_csv(include_header=False))
