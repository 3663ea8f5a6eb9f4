"""Where the index is kept: a storage interface and its SQLite backend."""

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
