"""Where the index is kept: a storage interface, its SQLite backend (here) and its PostgreSQL
backend (sim.index.store.postgres, imported only when used: psycopg is slow to import)."""

from sim.index.store.base import (
    Block,
    Candidate,
    CandidateName,
    CandidateQuery,
    Hold,
    IndexStore,
    RetentionClock,
    RetentionOutcome,
    Shield,
    StoredRecord,
    StoredRequest,
)
from sim.index.store.sqlite import SqliteStore

__all__ = [
    "Block",
    "Candidate",
    "CandidateName",
    "CandidateQuery",
    "Hold",
    "IndexStore",
    "RetentionClock",
    "RetentionOutcome",
    "Shield",
    "SqliteStore",
    "StoredRecord",
    "StoredRequest",
]
