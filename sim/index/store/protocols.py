"""The store seam for the index's own database: a few small protocols, one per concept.

Each caller depends on the protocol it needs (search on CandidateSearch, view on RecordReader,
shielding on ShieldingStore, ...), so a second backend only has to keep these promises; the
whole set, with `close`, is IndexStore (sim.index.store.base). What a backend must guarantee:
docs/index-design.md, "The store seam". The accounts database has its own protocols beside the
code that uses them (sim.index.access.store, sessions and usage).
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

import polars as pl

from sim.index.records import ChildRecord
from sim.index.store.base import (
    Candidate,
    CandidateQuery,
    ExactHit,
    Hold,
    NameKey,
    RetentionClock,
    RetentionOutcome,
    StoredRecord,
    StoredRequest,
)
from sim.index.store.delivery import Delivery

__all__ = [
    "CandidateSearch",
    "IndexCensus",
    "LiveUpdates",
    "RecordReader",
    "RecordWriter",
    "RetentionStore",
    "ShieldingStore",
    "SubjectAccessStore",
]


class CandidateSearch(Protocol):
    """Blocking lookups for search: identity fields only, never a hidden field."""

    def find_candidates(self, query: CandidateQuery) -> list[Candidate]: ...

    def exact_name_hits(
        self, surname: str, forename: str, date_of_birth: str
    ) -> list[ExactHit]: ...

    def exact_name_hits_many(self, keys: Sequence[NameKey]) -> list[list[ExactHit]]: ...

    def id_hits_many(self, child_ids: Sequence[str]) -> list[list[ExactHit]]: ...


class RecordReader(Protocol):
    """One whole record with its shield state (view, and every check that needs the record)."""

    def read_record(
        self, child_id: str, *, include_archived: bool = False
    ) -> StoredRecord | None: ...


class RecordWriter(Protocol):
    """Loading a new index and amending records; shields are never touched by either."""

    def bulk_load(self, frames: Mapping[str, pl.DataFrame]) -> None: ...

    def write_records(self, records: Sequence[ChildRecord]) -> int: ...


class ShieldingStore(RecordReader, Protocol):
    """Shielding requests and their decisions (the shield is set in the deciding transaction)."""

    def add_shielding_request(
        self, child_id: str, criterion: str, requested_by: str, at: dt.datetime
    ) -> int: ...

    def read_shielding_request(self, request_id: int) -> StoredRequest | None: ...

    def decide_shielding_request(
        self, request_id: int, approve: bool, decided_by: str, at: dt.datetime
    ) -> None: ...


class RetentionStore(RecordReader, Protocol):
    """Deaths, consent, leaving England, child-protection holds and the retention clock."""

    def record_death(self, child_id: str, died_on: dt.date) -> None: ...

    def set_retention_consent(
        self, child_id: str, reason: str | None, recorded_by: str, at: dt.datetime
    ) -> None: ...

    def set_leaving_england(
        self, child_id: str, intends_to_return: bool | None, recorded_by: str, at: dt.datetime
    ) -> None: ...

    def place_hold(self, child_id: str, reference: str, placed_by: str, at: dt.datetime) -> int: ...

    def lift_hold(self, hold_id: int, lifted_by: str, at: dt.datetime) -> str: ...

    def read_holds(self, *, standing_only: bool = True) -> list[Hold]: ...

    def apply_retention_clock(self, as_of: dt.date, clock: RetentionClock) -> RetentionOutcome: ...


class SubjectAccessStore(RecordReader, Protocol):
    """Subject access requests, as rows (sim.index.sar_request validates them)."""

    def save_subject_access_request(self, row: Mapping[str, object]) -> int: ...

    def read_subject_access_requests(
        self, *, request_id: int | None = None, open_only: bool = False
    ) -> list[dict[str, object]]: ...


class LiveUpdates(Protocol):
    """The source feeds while the index runs (sim.feeds.live): a day's batch at a time."""

    def deliver(self, delivery: Delivery) -> None:
        """Apply a day's updates in one transaction; shields are never touched."""
        ...

    def authorities_of(self, child_ids: list[str]) -> dict[str, str]:
        """The authority the index holds for each child it knows."""
        ...

    def scratch(self) -> None:
        """Commit without waiting for the disk: for a simulation's throw-away working copy."""
        ...

    def reading(self) -> AbstractContextManager[None]:
        """One read snapshot, taken on entry: every read inside sees the index as it stood
        then, whatever another connection commits meanwhile (a lookup worker answers a day's
        lookups while the run applies the next day's feeds)."""
        ...


class IndexCensus(Protocol):
    """Counts a deployment check or an inventory reads (no child's record is returned)."""

    def table_counts(self) -> dict[str, int]: ...

    def children_by_authority(self) -> dict[str, int]: ...

    def dates_of_birth(self, child_ids: list[str]) -> dict[str, str]: ...

    def household_keys(self) -> pl.DataFrame: ...

    def last_household_key(self) -> int: ...
