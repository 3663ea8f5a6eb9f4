"""Subject access requests to the index: the steps that answer one (DPA 1998 s7, as in 2009-10).

The right is the child's; a parent may ask for a child who lacks understanding, and from about
12 the child's consent is expected (docs/reference.md s8). The request, its fee and its 40-day clock
are in sim.index.sar_request (re-exported here); the pack (sim.index.sar_pack) holds what s7(1)
asks: the data, purposes, recipients, sources, and (better than 1998) who has looked at the record,
from the audit log.

A shield protects a child whose whereabouts could put them at risk, often from a parent. So a
parent's request about a shielded child is answered with the fields a shielded record shows,
the access log without who looked and with no shielding steps, and no word that anything was
withheld; the ground is kept on the request (SI 2007/2182 reg 6; DPA 1998 s30(3) and
SI 2000/415 art 5; data/index/sar.toml withhold_shielded_from_parent). Rules are data.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sim.index.audit import AuditEvent
from sim.index.retention import add_years
from sim.index.sar_pack import DisclosurePack, access_log, disclosed_record
from sim.index.sar_request import (
    SAR_FILE,
    Requester,
    SarRefused,
    SarRules,
    SarStatus,
    SubjectAccessRequest,
    export_requests,
    pending_requests,
    sar_rules,
)
from sim.index.store.protocols import SubjectAccessStore

__all__ = [
    "SAR_FILE",
    "Requester",
    "SarOutcome",
    "SarRefused",
    "SarRules",
    "SarStatus",
    "SubjectAccessRequest",
    "disclose",
    "export_requests",
    "pending_requests",
    "receive_request",
    "record_fee",
    "record_identity",
    "refuse_request",
    "sar_rules",
]


@dataclass(frozen=True)
class SarOutcome:
    """The request after a step, the event to audit, and the pack when one was made."""

    request: SubjectAccessRequest
    event: AuditEvent
    pack: DisclosurePack | None = None


def _read(store: SubjectAccessStore, request_id: int) -> SubjectAccessRequest:
    rows = store.read_subject_access_requests(request_id=request_id)
    if not rows:
        raise SarRefused(f"subject access request {request_id}: none", request_id=request_id)
    return SubjectAccessRequest.model_validate(rows[0])


def _save(
    store: SubjectAccessStore,
    request: SubjectAccessRequest,
    action: str,
    actor: str,
    at: dt.datetime,
) -> SarOutcome:
    request_id = store.save_subject_access_request(request.to_row())
    saved = request.model_copy(update={"request_id": request_id})
    detail = {"request_id": request_id, "requester": saved.requester}
    event = AuditEvent(at, actor, action, "allowed", saved.child_id, detail=detail)
    return SarOutcome(saved, event)


def _open(store: SubjectAccessStore, request_id: int) -> SubjectAccessRequest:
    request = _read(store, request_id)
    if request.closed_on is not None:
        raise SarRefused(
            f"subject access request {request_id}: already {request.outcome}",
            request_id=request_id,
            child_id=request.child_id,
        )
    return request


def receive_request(
    store: SubjectAccessStore,
    child_id: str,
    requester: Requester,
    received_on: dt.date,
    *,
    child_consent: bool | None = None,
    fee_gbp: Decimal | None = None,
    actor: str,
    at: dt.datetime,
) -> SarOutcome:
    """Log a written request; the fee asked is the data's, never above the cap."""
    rules = sar_rules()
    fee = rules.fee_gbp.value if fee_gbp is None else Decimal(fee_gbp)
    if fee < 0 or fee > rules.fee_cap_gbp.value:
        raise SarRefused(
            f"request refused: the fee must be between 0 and {rules.fee_cap_gbp.value} GBP "
            "(SI 2000/191)",
            child_id=child_id,
        )
    request = SubjectAccessRequest(
        child_id=child_id,
        requester=requester,
        received_on=received_on,
        fee_due_pence=int(fee * 100),
        child_consent=child_consent,
    )
    return _save(store, request, "subject access request received", actor, at)


def record_fee(
    store: SubjectAccessStore,
    request_id: int,
    paid_on: dt.date,
    amount_gbp: Decimal,
    *,
    actor: str,
    at: dt.datetime,
) -> SarOutcome:
    request = _open(store, request_id)
    if int(Decimal(amount_gbp) * 100) < request.fee_due_pence:
        raise SarRefused("fee refused: less than the fee asked", request_id=request_id)
    updated = request.model_copy(update={"fee_paid_on": paid_on})
    return _save(store, updated, "subject access fee received", actor, at)


def record_identity(
    store: SubjectAccessStore, request_id: int, verified_on: dt.date, *, actor: str, at: dt.datetime
) -> SarOutcome:
    request = _open(store, request_id)
    updated = request.model_copy(update={"identity_verified_on": verified_on})
    return _save(store, updated, "subject access identity confirmed", actor, at)


def refuse_request(
    store: SubjectAccessStore,
    request_id: int,
    ground: str,
    on: dt.date,
    *,
    actor: str,
    at: dt.datetime,
) -> SarOutcome:
    if ground not in sar_rules().refusal_grounds.value:
        raise SarRefused(
            f"refusal needs a ground from data/{SAR_FILE} refusal_grounds", request_id=request_id
        )
    request = _open(store, request_id)
    closed = request.model_copy(update={"closed_on": on, "outcome": "refused", "ground": ground})
    return _save(store, closed, "subject access request refused", actor, at)


def disclose(
    store: SubjectAccessStore,
    request_id: int,
    on: dt.date,
    *,
    actor: str,
    at: dt.datetime,
    audit_log: Path | None = None,
) -> SarOutcome:
    """Answer a request whose clock has started: build the pack and close the request."""
    rules = sar_rules()
    request = _open(store, request_id)
    start = request.clock_started_on()
    if start is None or start > on:
        raise SarRefused(
            f"subject access request {request_id}: fee and identity are needed first",
            request_id=request_id,
            child_id=request.child_id,
        )
    stored = store.read_record(request.child_id, include_archived=True)
    if (
        stored is not None
        and request.requester == "parent"
        and not request.child_consent
        and request.received_on
        >= add_years(stored.record.date_of_birth, rules.child_consent_age.value)
    ):
        raise SarRefused(
            f"subject access request {request_id}: the child is of an age to understand and has "
            "not consented; refuse it with that ground",
            request_id=request_id,
            child_id=request.child_id,
        )
    if (
        stored is not None
        and request.requester == "child"
        and request.received_on
        < add_years(stored.record.date_of_birth, rules.child_request_age.value)
    ):
        raise SarRefused(
            f"subject access request {request_id}: the child is not of an age to make the "
            "request; a person with parental responsibility may make it for the child",
            request_id=request_id,
            child_id=request.child_id,
        )
    withhold = (
        stored is not None
        and stored.shield is not None
        and request.requester == "parent"
        and rules.withhold_shielded_from_parent.value
    )
    log = access_log(audit_log, request.child_id, withhold) if audit_log else []
    pack = DisclosurePack(
        request_id=request_id,
        child_id=request.child_id,
        prepared_on=on,
        record=disclosed_record(
            stored,
            withhold,
            household=stored is not None
            and stored.household_shielded
            and request.requester == "parent",
        ),
        purposes=list(rules.purposes.value),
        recipients=list(rules.recipients.value),
        sources=list(rules.record_sources.value),
        access_log=log,
    )
    ground = "shielded record, parent's request (reg 6; DPA 1998 s30(3))" if withhold else None
    closed = request.model_copy(
        update={"closed_on": on, "outcome": "disclosed", "withheld": ground}
    )
    outcome = _save(store, closed, "subject access disclosed", actor, at)
    event = AuditEvent(
        at, actor, outcome.event.action, "allowed", request.child_id, detail=pack.audit_detail()
    )
    return SarOutcome(outcome.request, event, pack)
