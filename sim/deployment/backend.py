"""Which backend holds a deployment's index and accounts, recorded in the deployment itself.

A deployment on SQLite keeps both as files in its tree (index/index.db, accounts/accounts.db)
and has no backend file. A deployment on PostgreSQL records, in `backend.toml`, the libpq
conninfo of each database: a unix socket directory, a port, a user and a database name, and
never a password (the local cluster authenticates by peer or trust on its socket), so the file
holds nothing secret. Every process that opens the deployment reads it, so all of them meet the
same databases. The record is read and written by sim.index.layout (read_backend,
write_backend); this module opens what it names and moves a deployment onto a server.

`copy_to_postgres` moves a SQLite deployment's index and accounts into two empty PostgreSQL
databases, row for row and in the order written: what the backend-parity tests run on, and a
way to move a rehearsal deployment onto a server.
"""

from sim.errors import InputError
from sim.index.layout import Backend, Layout, read_backend, write_backend
from sim.index.store import IndexStore, backends

__all__ = ["copy_to_postgres", "open_deployment_index", "read_backend", "write_backend"]


def open_deployment_index(layout: Layout, *, read_only: bool = False) -> IndexStore:
    """The deployment's index on whichever backend holds it."""
    where = read_backend(layout)
    return backends.open_index(where.index, backend_name=where.name, read_only=read_only)


def copy_to_postgres(layout: Layout, index: str, accounts: str) -> Backend:
    """Copy the SQLite index and accounts of `layout` into the databases `index` and
    `accounts`, record them in backend.toml, then remove the SQLite files (one copy only).

    Each database is filled in one transaction, and backend.toml is written only after both,
    so a run killed at any point is completed by running it again: a database already holding
    exactly the SQLite rows is kept, an empty one is filled, anything else is refused."""
    current = read_backend(layout)
    if current.name != "sqlite":
        raise InputError(f"{layout.root}: already on {current.name}")
    backends.backend("postgres").copy_from_sqlite(layout.index, layout.accounts, index, accounts)
    write_backend(layout, index, accounts)
    for path in (layout.index, layout.accounts):
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
    return read_backend(layout)
