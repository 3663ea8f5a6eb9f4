"""Shielding: an authority asks, a management-team member decides case by case, the index keeps it.

Shielding hides everything but identity for children at increased risk of significant harm if
their whereabouts became known (Commons Library note, 'Shielding'; SI 2007/2182 reg 6). It is
never automatic. The shield is kept in its own table, apart from the record, so no feed
update can lift it: in 2009 national update feeds created unshielded duplicates and had to be
paused (Hansard 23 Mar and 12 May 2009). Each function returns an event for the audit log.
"""

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sim.errors import InputError, WorkbenchError
from sim.index.records import record_rules
from sim.index.store import Shield
from sim.index.store.protocols import ShieldingStore

ShieldingAction = Literal["shielding requested", "shielding approved", "shielding rejected"]


class ShieldingRefused(WorkbenchError):
    """A shielding step the rules do not allow; `detail` says what to audit."""

    def __init__(self, message: str, **detail: object) -> None:
        super().__init__(message)
        self.detail = detail


class ShieldingRequest(BaseModel):
    """An authority's request to shield one child, citing a criterion from the data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    child_id: str = Field(min_length=1, max_length=20)
    criterion: str
    requested_by: str = Field(min_length=1, max_length=64)
    requested_at: dt.datetime

    @field_validator("criterion")
    @classmethod
    def _known_criterion(cls, criterion: str) -> str:
        allowed = record_rules().shielding_criteria.value
        if criterion not in allowed:
            raise ValueError(f"criterion must be one of: {'; '.join(allowed)}")
        return criterion


class ShieldingEvent(BaseModel):
    """What happened, for the audit log: IDs, criterion and actor, never record contents."""

    model_config = ConfigDict(frozen=True)

    action: ShieldingAction
    request_id: int
    child_id: str
    criterion: str
    actor: str
    at: dt.datetime


def request_shielding(store: ShieldingStore, request: ShieldingRequest) -> ShieldingEvent:
    """Record a pending request; the child stays as it is until a decision."""
    try:
        request_id = store.add_shielding_request(
            request.child_id, request.criterion, request.requested_by, request.requested_at
        )
    except InputError:
        raise ShieldingRefused(
            "shielding request refused: no child with that index ID", child_id=request.child_id
        ) from None
    return ShieldingEvent(
        action="shielding requested",
        request_id=request_id,
        child_id=request.child_id,
        criterion=request.criterion,
        actor=request.requested_by,
        at=request.requested_at,
    )


def decide_shielding(
    store: ShieldingStore,
    request_id: int,
    decided_by: str,
    decider_role: str,
    approve: bool,
    at: dt.datetime,
) -> ShieldingEvent:
    """Approve or reject a pending request; only a deciding role, and not the requester."""
    rules = record_rules()
    pending = store.read_shielding_request(request_id)
    if pending is None or pending.status != "pending":
        raise ShieldingRefused(
            f"shielding request {request_id}: no pending request", request_id=request_id
        )
    if decider_role not in rules.shielding_deciders.value:
        raise ShieldingRefused(
            f"shielding request {request_id}: role {decider_role!r} may not decide shielding",
            request_id=request_id,
            child_id=pending.child_id,
        )
    if rules.shielding_four_eyes.value and decided_by == pending.requested_by:
        raise ShieldingRefused(
            f"shielding request {request_id}: the requester may not decide it",
            request_id=request_id,
            child_id=pending.child_id,
        )
    store.decide_shielding_request(request_id, approve, decided_by, at)
    return ShieldingEvent(
        action="shielding approved" if approve else "shielding rejected",
        request_id=request_id,
        child_id=pending.child_id,
        criterion=pending.criterion,
        actor=decided_by,
        at=at,
    )


def shield_of(store: ShieldingStore, child_id: str) -> Shield | None:
    """The child's shield, if any (None also for an unknown ID)."""
    stored = store.read_record(child_id)
    return stored.shield if stored else None
