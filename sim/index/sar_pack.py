"""The disclosure pack of a subject access request (DPA 1998 s7(1)): what the requester gets.

The record as held (or only what a shielded record shows, when a parent asks about a shielded
child: see sim.index.sar), the purposes, recipients and sources, and the child's own entries in
the audit log: who looked, when, doing what and why. Never `detail`, never another child's row.
"""

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

from sim.index.audit import scan_audit
from sim.index.store import StoredRecord
from sim.index.view import view_reasons, visible_sections


class AccessEntry(BaseModel):
    """One audited act on the child's record; `actor` is None where it is withheld."""

    model_config = ConfigDict(frozen=True)

    time: dt.datetime
    actor: str | None
    action: str
    outcome: str
    reason: str | None


class DisclosurePack(BaseModel):
    """What the requester receives (DPA 1998 s7(1)); record is None when none is held."""

    model_config = ConfigDict(frozen=True)

    request_id: int
    child_id: str
    prepared_on: dt.date
    record: dict[str, Any] | None
    purposes: list[str]
    recipients: list[str]
    sources: list[str]
    access_log: list[AccessEntry]

    def audit_detail(self) -> dict[str, object]:
        """Which sections went out and how many log entries: no contents."""
        return {
            "request_id": self.request_id,
            "sections": sorted(self.record) if self.record else [],
            "access_entries": len(self.access_log),
        }


def disclosed_record(
    stored: StoredRecord | None, withhold: bool, household: bool = False
) -> dict[str, Any] | None:
    """The record as the requester sees it: all of it, or a shielded record's fields only; with
    `household`, without the address and carers a shielded sibling shares."""
    if stored is None:
        return None
    record = stored.record.model_dump(mode="json")
    if stored.leaving_england is not None:
        record["leaving_england"] = stored.leaving_england.model_dump(mode="json")
    return visible_sections(record, shielded=withhold, household=household)


def access_log(audit_log: Path, child_id: str, withhold: bool) -> list[AccessEntry]:
    """The child's entries only, without `detail`; when withholding, only views for a stated
    reason, and not who made them (an actor's organisation can reveal where the child is)."""
    frame = (
        scan_audit(audit_log)
        .filter(pl.col("child_id") == child_id)
        .sort("seq")
        .select("time", "actor", "action", "outcome", "reason")
        .collect()
    )
    if withhold:
        frame = frame.filter(pl.col("reason").is_in(view_reasons())).with_columns(
            actor=pl.lit(None, dtype=pl.String)
        )
    return [AccessEntry(**row) for row in frame.iter_rows(named=True)]
