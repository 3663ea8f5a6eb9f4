"""The accounts database (`accounts.db`): one connection per process, shared by the stores of
accounts, sessions, usage counters and the service's open or closed state.

Every process that serves the index (a CLI command, a web worker, the simulation) opens the same
file, so security state is one truth: a session, a counter or a revocation written by one
process is what the next request in any other process reads. WAL lets readers run beside one
writer; writers wait for each other (busy timeout) rather than fail. The file is owner-only.

The threads of one process share the connection (sim.index.store.sqlite_shared: each statement
under the connection's lock, rows read at once, busy statements and BEGIN IMMEDIATE retried), and
the processes queue their transactions behind a write gate (an flock on the database's directory:
see sqlite_shared).
"""

import sqlite3
from pathlib import Path

from sim.index.store.sqlite_shared import BUSY_SECONDS, SharedConnection, Transaction, retrying
from sim.outputs import private_file

__all__ = ["BUSY_SECONDS", "SharedConnection", "Transaction", "open_database", "retrying"]


def open_database(path: Path, schema: str, added: dict[tuple[str, str], str]) -> sqlite3.Connection:
    """Open (creating owner-only) a SQLite file in WAL mode with `schema`, adding the columns in
    `added` ((table, column) -> type) that an older file lacks; its transactions pass the write
    gate."""
    db = sqlite3.connect(
        private_file(Path(path)),
        isolation_level=None,
        check_same_thread=False,
        timeout=BUSY_SECONDS,
        factory=SharedConnection,
    )
    db.open_gate(Path(path).parent)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    # every request writes sessions (keyed by a random hash) and usage counts: the pages they
    # touch stay in memory rather than being read again (SQLite's default cache is 2 MiB)
    db.execute("PRAGMA cache_size=-65536")
    db.executescript(schema)
    for (table, column), kind in added.items():
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    return db
