"""Load a deployment's SQLite index into PostgreSQL with the PostgreSQL records store's own
schema and COPY (sim.index.store.postgres*), as `copy_to_postgres` copies a deployment's index:
every table in the order the schema creates it, in one transaction, then the key sequences
brought level with the rows. The SQLite index stays (the archive still reads it)."""

from __future__ import annotations

from pathlib import Path

from psycopg import sql


def load_index(conninfo: str, index_db: Path, *, reader: str | None = None) -> dict[str, int]:
    """Copy the SQLite index at `index_db` into the empty database `conninfo`; rows per table.

    `reader`, when given, is a role granted SELECT on every table (the application's login)."""
    from sim.index.deployment.backend import _sqlite_tables
    from sim.index.store.postgres import PostgresStore
    from sim.index.store.postgres_bulk import copy_frame
    from sim.index.store.postgres_schema import CREATE_TABLES_PG, SYNC_INDEX_KEYS

    store = PostgresStore.create(conninfo)
    try:
        with store._transaction() as db:
            for table, frame in _sqlite_tables(Path(index_db), CREATE_TABLES_PG).items():
                if frame.height:
                    copy_frame(db.raw, table, tuple(frame.columns), frame)
            db.raw.execute(SYNC_INDEX_KEYS)
            if reader:
                db.raw.execute(
                    sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(
                        sql.Identifier(reader)
                    )
                )
        return store.table_counts()
    finally:
        store.close()
