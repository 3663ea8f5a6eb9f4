"""Load the index into PostgreSQL: every table of the SQLite index, copied with COPY.

One function, `load_index`, so the PostgreSQL records store's own bulk load can replace it: it
reads the tables `build_index` wrote and streams each one with COPY FROM STDIN, declaring column
types from SQLite's declared affinities.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg
from psycopg import sql

TYPES = {"INTEGER": "bigint", "REAL": "double precision", "BLOB": "bytea", "TEXT": "text"}
BATCH = 10_000


def _pg_type(declared: str) -> str:
    for affinity, pg_type in TYPES.items():
        if affinity in declared.upper():
            return pg_type
    return "text"


def load_index(conninfo: str, index_db: Path, *, reader: str | None = None) -> dict[str, int]:
    """Copy every table of the SQLite index at `index_db` into the database; rows per table.

    `reader`, when given, is a role granted SELECT on every table (the application's login)."""
    counts: dict[str, int] = {}
    source = f"file:{Path(index_db)}?mode=ro"
    with closing(sqlite3.connect(source, uri=True)) as lite, psycopg.connect(conninfo) as conn:
        tables = [
            name
            for (name,) in lite.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        for table in tables:
            columns = [(row[1], _pg_type(row[2] or "")) for row in lite.execute(
                f'PRAGMA table_info("{table}")'
            )]  # fmt: skip
            conn.execute(
                sql.SQL("CREATE TABLE {} ({})").format(
                    sql.Identifier(table),
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
                        for name, kind in columns
                    ),
                )
            )
            names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in columns)
            copy = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), names)
            rows = lite.execute(
                f'SELECT {", ".join(chr(34) + n + chr(34) for n, _ in columns)} FROM "{table}"'
            )
            count = 0
            with conn.cursor().copy(copy) as pipe:
                while batch := rows.fetchmany(BATCH):
                    for row in batch:
                        pipe.write_row(row)
                    count += len(batch)
            counts[table] = count
            if "child_key" in {name for name, _ in columns}:
                conn.execute(
                    sql.SQL("CREATE INDEX ON {} (child_key)").format(sql.Identifier(table))
                )
            if reader:
                conn.execute(
                    sql.SQL("GRANT SELECT ON {} TO {}").format(
                        sql.Identifier(table), sql.Identifier(reader)
                    )
                )
    return counts
