"""A deployment's stores opened by backend name: the one door from the code to a database.

A backend is a module with the functions `create_index`, `load_index`, `open_index`,
`open_access`, `replicate_index` and `memory_usage_counters`; it is imported only when asked
for, so a run on SQLite never loads a server's client library. `sqlite` ships here; a server
backend adds its entry to BACKENDS. What every backend must guarantee: docs/index-design.md,
"The store seam".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from sim.errors import InputError

if TYPE_CHECKING:
    import polars as pl

    # the protocols' modules import this one (sim.index.access.usage)
    from sim.index.access.rules import AccessRules
    from sim.index.access.sessions import SessionStore
    from sim.index.access.store import AccountStore, ServiceState
    from sim.index.access.usage import UsageCounters
    from sim.index.store.base import IndexStore

DEFAULT = "sqlite"
BACKENDS = {
    "sqlite": "sim.index.store.sqlite_backend",
    "postgres": "sim.index.store.postgres_backend",
}
Location = Path | str  # a file for SQLite; a server backend's connection string


@dataclass(frozen=True)
class AccessStores:
    """The accounts database's stores, sharing one connection (or pool) per process."""

    accounts: AccountStore
    service: ServiceState
    sessions: SessionStore
    usage: UsageCounters
    close: Callable[[], None]


def backend(name: str) -> ModuleType:
    """The module implementing backend `name`; a clear error for an unknown one."""
    if name not in BACKENDS:
        raise InputError(f"unknown store backend {name!r}; backends are {sorted(BACKENDS)}")
    return importlib.import_module(BACKENDS[name])


def create_index(location: Location, *, backend_name: str = DEFAULT) -> IndexStore:
    """A new, empty index; refuses to overwrite an existing one."""
    return backend(backend_name).create_index(location)


def load_index(
    location: Location,
    batches: Iterable[Mapping[str, pl.DataFrame]],
    *,
    backend_name: str = DEFAULT,
) -> dict[str, int]:
    """A new index bulk-loaded from batches of frames (one per table in schema.BULK_TABLES,
    consumed one at a time), whole or not at all; returns rows per table."""
    return backend(backend_name).load_index(location, batches)


def open_index(
    location: Location, *, backend_name: str = DEFAULT, read_only: bool = False
) -> IndexStore:
    """An existing index (read-only: nothing is added or migrated)."""
    return backend(backend_name).open_index(location, read_only=read_only)


def open_access(
    location: Location,
    *,
    rules: AccessRules,
    token_key: bytes | None = None,
    backend_name: str = DEFAULT,
) -> AccessStores:
    """The accounts database: accounts and tokens (secrets sealed under `token_key`), sessions,
    usage counters and the service's state."""
    return backend(backend_name).open_access(location, rules=rules, token_key=token_key)


def replicate_index(location: Location, target: Path, *, backend_name: str = DEFAULT) -> None:
    """A consistent copy of the index at `target` (the disaster-recovery replica)."""
    backend(backend_name).replicate_index(location, target)


def memory_usage_counters(backend_name: str = DEFAULT) -> UsageCounters:
    """Usage counters of this process only (tests and tools without a deployment)."""
    return backend(backend_name).memory_usage_counters()
