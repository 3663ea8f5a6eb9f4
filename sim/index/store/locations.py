"""Opening an index wherever it lives: a SQLite file (a Path) or a PostgreSQL database (its
libpq conninfo, a str). One place decides, so every caller that is handed a location works on
both backends."""

from pathlib import Path

from sim.index.store.base import IndexStore

IndexLocation = Path | str


def open_index(location: IndexLocation) -> IndexStore:
    """The index at `location`: SqliteStore for a path, PostgresStore for a conninfo."""
    if isinstance(location, Path):
        from sim.index.store.sqlite import SqliteStore

        return SqliteStore.open(location)
    from sim.index.store.postgres import PostgresStore

    return PostgresStore.open(location)


def index_location(store: IndexStore) -> IndexLocation:
    """Where an open store lives (its file, or its database's conninfo)."""
    conninfo = getattr(store, "conninfo", None)
    return conninfo if isinstance(conninfo, str) else Path(store.path)  # type: ignore[attr-defined]
