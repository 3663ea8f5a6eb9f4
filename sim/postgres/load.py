"""Load a deployment's SQLite index into a PostgreSQL server's database by COPY, with the
PostgreSQL backend's own schema (sim.index.store.postgres_backend.copy_index). sim.postgres.deploy
then removes the SQLite index: the deployment is served from the server."""

from pathlib import Path


def load_index(conninfo: str, index_db: Path, *, reader: str | None = None) -> dict[str, int]:
    """Copy the SQLite index at `index_db` into the empty database `conninfo`; rows per table.

    `reader`, when given, is a role granted SELECT on every table (the application's login)."""
    from sim.index.store.backends import backend

    return backend("postgres").copy_index(Path(index_db), conninfo, reader=reader)
