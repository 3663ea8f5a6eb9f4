"""The live feed's updates on whichever backend holds the index (sqlite_live, postgres_live)."""

from sim.index.store.base import IndexStore
from sim.index.store.sqlite import SqliteStore
from sim.index.store.sqlite_live import Delivery


def _backend(store: IndexStore):
    if isinstance(store, SqliteStore):
        from sim.index.store import sqlite_live

        return sqlite_live
    from sim.index.store import postgres_live

    return postgres_live


def deliver(store: IndexStore, delivery: Delivery) -> None:
    """Apply a day's updates in one transaction: births, then moves, services and deaths."""
    _backend(store).deliver(store, delivery)


def authorities_of(store: IndexStore, child_ids: list[str]) -> dict[str, str]:
    """The authority the index holds for each child it knows (one query)."""
    return _backend(store).authorities_of(store, child_ids)


def scratch(store: IndexStore) -> None:
    """Commits without waiting for the disk: for a simulation's throwaway working copy."""
    _backend(store).scratch(store)


__all__ = ["Delivery", "authorities_of", "deliver", "scratch"]
