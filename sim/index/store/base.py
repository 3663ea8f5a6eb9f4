"""The storage interface: a few narrow methods, so a PostgreSQL backend can sit beside SQLite.

Policy (who may see what, which fields are hidden, scoring) lives above this line, in search,
view and shielding; a backend only stores, finds by index and reads back.
"""

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import polars as pl

from sim.index.records import ChildRecord, LeavingEngland
from sim.index.store.delivery import Delivery

BlockColumn = Literal["surname_norm", "surname_code", "forename_code", "child_id"]


@dataclass(frozen=True)
class Block:
    """One indexed lookup that proposes candidates: a name key (or ID) and dates of birth.

    With no dates of birth the block must be narrowed by a postcode (CandidateQuery.postcode).
    """

    column: BlockColumn
    value: str
    dates_of_birth: tuple[str, ...] = ()


@dataclass(frozen=True)
class CandidateQuery:
    """Blocks (any may match) and filters (all must match) for one search.

    `exclude_shielded` is set by the search whenever a hidden field is used, so a shielded child
    can never be found, counted or ranked through one. Former names are searched only for
    children who are not shielded (a birth name can reveal an adoption).
    """

    blocks: tuple[Block, ...]
    postcode: str | None = None
    school_code: str | None = None
    gp_practice_code: str | None = None
    exclude_shielded: bool = False
    limit: int = 1000


@dataclass(frozen=True)
class CandidateName:
    current: bool
    forename: str
    middle_names: str | None
    surname: str
    forename_norm: str
    forename_code: str
    surname_norm: str
    surname_code: str


@dataclass(frozen=True)
class Candidate:
    """A child proposed by a block: identity fields only, never a hidden field."""

    child_key: int
    child_id: str
    gender: str
    date_of_birth: str
    shielded: bool
    names: tuple[CandidateName, ...] = field(default=())


class ExactHit(NamedTuple):
    """A child found by exact forename, surname and date of birth (a batched lookup): identity
    and what the result page shows, never a hidden field. A named tuple: a batch makes one per
    hit, and a tuple is made several times faster than a frozen dataclass."""

    child_id: str
    authority_code: str
    shielded: bool
    services: int  # services involved with the child (shown only when not shielded)
    surname: str  # current names, upper case: the facade's order among equal scores
    forename: str


NameKey = tuple[str, str, str]  # normalised surname and forename, ISO date of birth


def tag_hits(lookups: int, rows: Sequence[Sequence[Any]]) -> list[list[ExactHit]]:
    """Each lookup's hits from rows of (lookup number, the exact-name query's columns)."""
    found: list[list[ExactHit]] = [[] for _ in range(lookups)]
    for i, child_id, authority, shielded, services, surname, forename in rows:
        found[i].append(ExactHit(child_id, authority, bool(shielded), int(services), surname,
                                 forename))  # fmt: skip
    return found


@dataclass(frozen=True)
class Shield:
    request_id: int
    criterion: str
    decided_by: str
    decided_at: dt.datetime


@dataclass(frozen=True)
class StoredRecord:
    record: ChildRecord
    shield: Shield | None
    archived_on: dt.date | None = None
    leaving_england: LeavingEngland | None = None
    # Another child at the same address (same household, or same postcode and address line) is
    # shielded: this record's address and carers are that child's hidden fields too.
    household_shielded: bool = False


@dataclass(frozen=True)
class RetentionClock:
    """The periods a backend applies (SI 2007/2182 reg 7), read from data by sim.index.retention.

    A standing child-protection hold (`hold_blocks_purge`) or an unanswered subject access
    request (`sar_blocks_purge`, DPA 1998 s8(6)) keeps an archived record from the purge.
    """

    adult_age: int
    extended_age: int
    death_keep_years: int
    archive_years: int
    hold_blocks_purge: bool
    sar_blocks_purge: bool


@dataclass(frozen=True)
class RetentionOutcome:
    """What one retention pass did: archived counts by cause, purged IDs, and the IDs whose
    purge fell due but was blocked (by a child-protection hold or an unanswered SAR)."""

    archived: dict[str, int]
    purged: tuple[str, ...]
    purge_blocked: tuple[str, ...]


@dataclass(frozen=True)
class Hold:
    """A child-protection investigation hold: the record may not be purged while it stands."""

    hold_id: int
    child_id: str
    reference: str
    placed_by: str
    placed_at: dt.datetime
    lifted_by: str | None = None
    lifted_at: dt.datetime | None = None


@dataclass(frozen=True)
class StoredRequest:
    request_id: int
    child_id: str
    criterion: str
    requested_by: str
    requested_at: dt.datetime
    status: Literal["pending", "approved", "rejected"]
    decided_by: str | None
    decided_at: dt.datetime | None


class IndexStore(ABC):
    """Where the index lives. Writes are batched and transactional; reads go through indexes.

    Every protocol of sim.index.store.protocols at once: a backend implements this class;
    callers depend on the small protocol they use (docs/index-design.md, "The store seam").
    """

    @abstractmethod
    def bulk_load(self, frames: Mapping[str, pl.DataFrame]) -> None:
        """Load an empty store from prepared frames (one per table in schema.TABLES)."""

    @abstractmethod
    def write_records(self, records: Sequence[ChildRecord]) -> int:
        """Insert or update records by index ID in one transaction; shields are never touched."""

    @abstractmethod
    def find_candidates(self, query: CandidateQuery) -> list[Candidate]:
        """Children proposed by the blocks and passing the filters, at most limit + 1."""

    @abstractmethod
    def exact_name_hits(self, surname: str, forename: str, date_of_birth: str) -> list[ExactHit]:
        """Unarchived children with this normalised surname and forename and date of birth:
        current names, and former names of unshielded children (search's exact mode)."""

    @abstractmethod
    def exact_name_hits_many(self, keys: Sequence[NameKey]) -> list[list[ExactHit]]:
        """`exact_name_hits` of each (surname, forename, date of birth) key, in one statement
        (a batch of lookups: one round trip instead of one a lookup)."""

    @abstractmethod
    def id_hits_many(self, child_ids: Sequence[str]) -> list[list[ExactHit]]:
        """Each index ID's unarchived child (none or one), in one statement: search's exact mode
        by ID for a batch of lookups."""

    @abstractmethod
    def read_record(self, child_id: str, *, include_archived: bool = False) -> StoredRecord | None:
        """The whole record and its shield state, or None for an unknown ID.

        An archived record is out of the live index: None unless `include_archived`.
        """

    @abstractmethod
    def add_shielding_request(
        self, child_id: str, criterion: str, requested_by: str, at: dt.datetime
    ) -> int:
        """Store a pending request and return its number."""

    @abstractmethod
    def read_shielding_request(self, request_id: int) -> StoredRequest | None: ...

    @abstractmethod
    def decide_shielding_request(
        self, request_id: int, approve: bool, decided_by: str, at: dt.datetime
    ) -> None:
        """Close a pending request; on approval the child is shielded in the same transaction."""

    @abstractmethod
    def record_death(self, child_id: str, died_on: dt.date) -> None:
        """Record (or correct) the date a child died."""

    @abstractmethod
    def set_retention_consent(
        self, child_id: str, reason: str | None, recorded_by: str, at: dt.datetime
    ) -> None:
        """Record consent to be held to the extended age for a reason; None withdraws it."""

    @abstractmethod
    def set_leaving_england(
        self, child_id: str, intends_to_return: bool | None, recorded_by: str, at: dt.datetime
    ) -> None:
        """Record that a child has left England and whether the child intends to return within
        three years (Sch 1 para 2(d)); None clears the status (the child is back)."""

    @abstractmethod
    def place_hold(self, child_id: str, reference: str, placed_by: str, at: dt.datetime) -> int:
        """Place a child-protection investigation hold and return its number."""

    @abstractmethod
    def lift_hold(self, hold_id: int, lifted_by: str, at: dt.datetime) -> str:
        """Lift a standing hold; returns the child's index ID."""

    @abstractmethod
    def read_holds(self, *, standing_only: bool = True) -> list[Hold]: ...

    @abstractmethod
    def apply_retention_clock(self, as_of: dt.date, clock: RetentionClock) -> RetentionOutcome:
        """Archive records whose time has come and purge archives past their period, in one
        transaction of set-based statements; purging removes the child from every table."""

    @abstractmethod
    def save_subject_access_request(self, row: Mapping[str, object]) -> int:
        """Insert (request_id None) or update a SAR row; returns its number."""

    @abstractmethod
    def read_subject_access_requests(
        self, *, request_id: int | None = None, open_only: bool = False
    ) -> list[dict[str, object]]: ...

    @abstractmethod
    def deliver(self, delivery: Delivery) -> None:
        """Apply a day's feed updates in one transaction; shields are never touched."""

    @abstractmethod
    def authorities_of(self, child_ids: list[str]) -> dict[str, str]:
        """The authority the index holds for each of these children it knows."""

    @abstractmethod
    def scratch(self) -> None:
        """Commit without waiting for the disk (a simulation's throw-away working copy)."""

    @abstractmethod
    def table_counts(self) -> dict[str, int]: ...

    @abstractmethod
    def children_by_authority(self) -> dict[str, int]:
        """Records held per authority (archived ones included: they are still held)."""

    @abstractmethod
    def household_keys(self) -> pl.DataFrame:
        """Every child's household key (child_id, household_key), in the order the records were
        loaded: which index household a child's record was loaded into."""

    @abstractmethod
    def last_household_key(self) -> int:
        """The highest household key held (0 for an empty index): new households go above it."""

    @abstractmethod
    def dates_of_birth(self, child_ids: list[str]) -> dict[str, str]:
        """ISO date of birth of each of these children the index holds."""

    @abstractmethod
    def close(self) -> None: ...
