"""Where the index and its accounts database are kept: the store seam (small protocols per
concept, `protocols`; the whole index store, `base.IndexStore`), the factory that opens a
deployment's stores by backend name (`backends`), and the SQLite backend (`sqlite*`)."""

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
