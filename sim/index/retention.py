"""Retention: a record is held to 18 (25 with consent), archived for six years, then purged.

SI 2007/2182 reg 7 and the written answer of 21 Apr 2009 (docs/reference.md 5g): the index holds a
child to the 18th birthday, or to the 25th with the young person's consent for a permitted reason; a
child's record is kept one year after death; the record then moves to the archive for six years,
readable by data managers for the first year and afterwards only by the supplier for s47 enquiries,
serious case reviews and child death reviews; then it is purged. A standing child-protection
investigation hold keeps it from the purge (the reg 7 exception), and so, here, does an unanswered
subject access request (DPA 1998 s8(6)). Every period is data (data/index/retention.toml); the
backend applies them in set-based SQL, so a pass over England costs a few indexed statements, and a
pass repeated at the same date changes nothing.
"""

import datetime as dt
import json
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from sim.errors import InputError, WorkbenchError
from sim.index.audit import AuditEvent
from sim.index.store import RetentionClock, StoredRecord
from sim.index.store.protocols import RetentionStore
from sim.outputs import replace_file
from sim.reference.params import Param, ParamFile, load_params

RETENTION_FILE = "index/retention.toml"
Years = Annotated[int, Field(ge=0, le=30)]
Words = list[Annotated[str, Field(min_length=3)]]


class RetentionRules(ParamFile):
    adult_age: Param[Years]
    extended_age: Param[Years]
    extension_reasons: Param[Words]
    death_keep_years: Param[Years]
    archive_years: Param[Years]
    archive_data_manager_years: Param[Years]
    data_manager_roles: Param[Words]
    supplier_roles: Param[Words]
    supplier_purposes: Param[Words]
    hold_blocks_purge: Param[bool]
    sar_blocks_purge: Param[bool]

    @model_validator(mode="after")
    def _ordered(self) -> "RetentionRules":
        if self.extended_age.value <= self.adult_age.value:
            raise ValueError("extended_age must be above adult_age")
        if self.archive_data_manager_years.value > self.archive_years.value:
            raise ValueError("archive_data_manager_years cannot exceed archive_years")
        return self

    def clock(self) -> RetentionClock:
        return RetentionClock(
            adult_age=self.adult_age.value,
            extended_age=self.extended_age.value,
            death_keep_years=self.death_keep_years.value,
            archive_years=self.archive_years.value,
            hold_blocks_purge=self.hold_blocks_purge.value,
            sar_blocks_purge=self.sar_blocks_purge.value,
        )


@cache
def retention_rules() -> RetentionRules:
    """data/index/retention.toml: ages, periods, permitted reasons and archive readers."""
    return load_params(RETENTION_FILE, RetentionRules)


class RetentionRefused(WorkbenchError):
    """A retention step the rules do not allow; `detail` says what to audit."""

    def __init__(self, message: str, **detail: object) -> None:
        super().__init__(message)
        self.detail = detail


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day `years` later; 29 February becomes 1 March in a common year (as SQLite)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 3, 1)


def archive_due_on(
    date_of_birth: dt.date,
    *,
    consent: bool,
    died_on: dt.date | None,
    rules: RetentionRules | None = None,
) -> tuple[dt.date, str]:
    """When a record leaves the live index, and why: the age rule, or a year after death if
    that comes first (after 18 the person is no longer a child the index may hold)."""
    rules = rules or retention_rules()
    age = rules.extended_age.value if consent else rules.adult_age.value
    by_age = add_years(date_of_birth, age)
    if died_on is not None:
        by_death = add_years(died_on, rules.death_keep_years.value)
        if by_death <= by_age:
            return by_death, "death"
    return by_age, "extended age" if consent else "adult age"


def purge_due_on(archived_on: dt.date, rules: RetentionRules | None = None) -> dt.date:
    """The day an archived record falls due for the purge (six years on, reg 7)."""
    return add_years(archived_on, (rules or retention_rules()).archive_years.value)


@dataclass(frozen=True)
class RetentionReport:
    """One pass: archived counts by cause, purged and purge-blocked IDs, and its duration."""

    as_of: dt.date
    archived: dict[str, int]
    purged: tuple[str, ...]
    purge_blocked: tuple[str, ...]
    seconds: float

    def audit_events(self, actor: str, at: dt.datetime) -> list[AuditEvent]:
        """One summary event, then one per purged child and one per blocked purge (IDs only)."""
        summary = AuditEvent(
            time=at,
            actor=actor,
            action="retention run",
            outcome="allowed",
            detail={
                "as_of": self.as_of.isoformat(),
                "archived": dict(sorted(self.archived.items())),
                "purged": len(self.purged),
                "purge_blocked": len(self.purge_blocked),
            },
        )
        purged = [AuditEvent(at, actor, "record purged", "allowed", c) for c in self.purged]
        blocked = [AuditEvent(at, actor, "purge blocked", "allowed", c) for c in self.purge_blocked]
        return [summary, *purged, *blocked]


def apply_retention(
    store: RetentionStore, as_of: dt.date, rules: RetentionRules | None = None
) -> RetentionReport:
    """Archive what has fallen due and purge what has served its archive period, at `as_of`."""
    started = time.perf_counter()
    outcome = store.apply_retention_clock(as_of, (rules or retention_rules()).clock())
    return RetentionReport(
        as_of,
        outcome.archived,
        outcome.purged,
        outcome.purge_blocked,
        time.perf_counter() - started,
    )


def _event(action: str, actor: str, at: dt.datetime, child_id: str, **detail: object) -> AuditEvent:
    return AuditEvent(at, actor, action, "allowed", child_id, detail=detail)


def _live(store: RetentionStore, child_id: str, action: str) -> StoredRecord:
    stored = store.read_record(child_id)
    if stored is None:
        raise RetentionRefused(
            f"{action} refused: no live record with that index ID", child_id=child_id
        )
    return stored


def record_death(
    store: RetentionStore, child_id: str, died_on: dt.date, *, actor: str, at: dt.datetime
) -> AuditEvent:
    """A death registration: the record stays live one more year, then is archived."""
    _live(store, child_id, "death")
    if died_on > at.date():
        raise RetentionRefused("death refused: the date is in the future", child_id=child_id)
    store.record_death(child_id, died_on)
    return _event("death recorded", actor, at, child_id, died_on=died_on.isoformat())


def record_extension_consent(
    store: RetentionStore, child_id: str, reason: str, *, actor: str, at: dt.datetime
) -> AuditEvent:
    """The young person's consent to be held to the extended age, for a permitted reason,
    recorded while the record is live and before the 18th birthday."""
    rules = retention_rules()
    if reason not in rules.extension_reasons.value:
        raise RetentionRefused(
            f"consent refused: the reason must be one of data/{RETENTION_FILE} extension_reasons",
            child_id=child_id,
        )
    stored = _live(store, child_id, "consent")
    if at.date() >= add_years(stored.record.date_of_birth, rules.adult_age.value):
        raise RetentionRefused(
            "consent refused: it must be recorded before the 18th birthday", child_id=child_id
        )
    store.set_retention_consent(child_id, reason, actor, at)
    return _event("retention consent recorded", actor, at, child_id, reason=reason)


def withdraw_extension_consent(
    store: RetentionStore, child_id: str, *, actor: str, at: dt.datetime
) -> AuditEvent:
    """Consent withdrawn: the age rule applies again at the next pass."""
    _live(store, child_id, "withdrawal")
    store.set_retention_consent(child_id, None, actor, at)
    return _event("retention consent withdrawn", actor, at, child_id)


def place_protection_hold(
    store: RetentionStore, child_id: str, reference: str, *, actor: str, at: dt.datetime
) -> AuditEvent:
    """A child-protection investigation hold (live or archived record); `detail['hold_id']`."""
    if not reference.strip():
        raise RetentionRefused(
            "hold refused: cite the investigation's reference", child_id=child_id
        )
    try:
        hold_id = store.place_hold(child_id, reference.strip(), actor, at)
    except InputError:
        raise RetentionRefused(
            "hold refused: no record with that index ID", child_id=child_id
        ) from None
    return _event("protection hold placed", actor, at, child_id, hold_id=hold_id)


def lift_protection_hold(
    store: RetentionStore, hold_id: int, *, actor: str, at: dt.datetime
) -> AuditEvent:
    """The investigation is over: the record may be purged when its period has run."""
    try:
        child_id = store.lift_hold(hold_id, actor, at)
    except InputError:
        raise RetentionRefused(f"hold {hold_id}: no standing hold", hold_id=hold_id) from None
    return _event("protection hold lifted", actor, at, child_id, hold_id=hold_id)


def may_read_archive(
    archived_on: dt.date,
    role: str,
    purpose: str,
    as_of: dt.date,
    rules: RetentionRules | None = None,
) -> bool:
    """Data managers in the archive's first year; after it, the supplier, for the listed
    purposes only (Hansard written answer 21 Apr 2009)."""
    rules = rules or retention_rules()
    first_year_ends = add_years(archived_on, rules.archive_data_manager_years.value)
    if as_of < first_year_ends:
        return role in rules.data_manager_roles.value
    return role in rules.supplier_roles.value and purpose in rules.supplier_purposes.value


def read_archive(
    store: RetentionStore, child_id: str, *, role: str, purpose: str, as_of: dt.date
) -> StoredRecord:
    """An archived record, for a reader the archive rules admit; refusals carry an audit detail."""
    stored = store.read_record(child_id, include_archived=True)
    if stored is None or stored.archived_on is None:
        raise RetentionRefused("archive read refused: no archived record", child_id=child_id)
    if not may_read_archive(stored.archived_on, role, purpose, as_of):
        raise RetentionRefused(
            "archive read refused: data managers in the first year, then only the supplier for "
            "s47 enquiries, serious case reviews or child death reviews",
            child_id=child_id,
            role=role,
        )
    return stored


def export_holds(store: RetentionStore, path: Path) -> int:
    """Standing holds as JSON lines (the deployment's holds/holds.jsonl, the records that
    decommissioning must keep): hold_id, child_id, reason, opened, placed_by."""
    lines = [
        json.dumps(
            {
                "hold_id": hold.hold_id,
                "child_id": hold.child_id,
                "reason": hold.reference,
                "opened": hold.placed_at.date().isoformat(),
                "placed_by": hold.placed_by,
            }
        )
        + "\n"
        for hold in store.read_holds()
    ]
    replace_file(path, "".join(lines).encode(), private=True)  # child data: owner-only
    return len(lines)
