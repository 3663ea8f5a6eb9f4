"""Loading a new PostgreSQL index in bulk: COPY without indexes, then each index built once.

Each frame is written by polars as CSV and streamed to `COPY ... FROM STDIN` a slice at a time,
so no row passes through Python. Indexes and foreign keys are dropped first and made again
after, in the same transaction (one sort per index and one join per foreign key, instead of
millions of ordered inserts and per-row checks), then the tables are analysed and the key
sequences moved past the loaded keys. A failed load, or a row pointing at nothing, rolls back
whole.
"""

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager

import polars as pl

from sim.errors import InputError
from sim.index.store.postgres_connection import PgConnection
from sim.index.store.postgres_schema import CREATE_INDEXES_PG, SYNC_INDEX_KEYS
from sim.index.store.schema import BULK_TABLES

BATCH_ROWS = 500_000

# The index's foreign keys: dropped for the load and added back after it, so each is checked
# once over the whole table instead of by a trigger per copied row.
_FOREIGN_KEYS = """
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE contype = 'f' AND connamespace = current_schema()::regnamespace ORDER BY conname
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
        if self.table_counts()["child"]:
            raise InputError(f"{self.conninfo}: bulk load needs an empty index")
        with self._transaction() as db:
            raw = db.raw
            raw.execute("SET LOCAL synchronous_commit = off")
            raw.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for (name,) in raw.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            ).fetchall():
                raw.execute(f'DROP INDEX "{name}"')
            references = raw.execute(_FOREIGN_KEYS).fetchall()
            for table, name, _ in references:
                raw.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for frames in batches:
                for table, columns in BULK_TABLES.items():
                    frame = frames.get(table)
                    if frame is not None and not frame.is_empty():
                        copy_frame(raw, table, columns, frame)
            raw.execute(CREATE_INDEXES_PG)
            for table, name, definition in references:  # each checked by one join, not per row
                raw.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            raw.execute(SYNC_INDEX_KEYS)
        db.raw.execute("ANALYZE")


def copy_frame(raw, table: str, columns: tuple[str, ...], frame: pl.DataFrame) -> None:
    """Stream a frame's rows into `table` as CSV (names from schema.py, never input).

    Booleans go as 0/1, the integers SQLite stores; polars writes a null as an empty field and
    an empty string as "", which COPY reads back as NULL and '' respectively.
    """
    selected = frame.select(columns)
    selected = selected.with_columns(
        [pl.col(c).cast(pl.Int8) for c, kind in selected.schema.items() if kind == pl.Boolean]
    )
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
    with raw.cursor().copy(sql) as copy:
        for start in range(0, selected.height, BATCH_ROWS):
            copy.write(selected.slice(start, BATCH_ROWS).write_csv(include_header=False))
