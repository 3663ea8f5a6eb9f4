"""Subject access requests to the index (DPA 1998 s7, the rules in force in 2009-10).

The right is the child's; a parent may ask for a child who lacks understanding, and from about
12 the child's consent is expected (facts.md s8). The fee is at most 10 GBP (SI 2000/191). The
40-day clock runs from the latest of the request, the fee and the identity evidence
(s7(3), (8), (10)). The pack (sim.index.sar_pack) holds what s7(1) asks: the data, purposes,
recipients, sources, and (better than 1998) who has looked at the record, from the audit log.

A shield protects a child whose whereabouts could put them at risk, often from a parent. So a
parent's request about a shielded child is answered with the fields a shielded record shows,
the access log without who looked and with no shielding steps, and no word that anything was
withheld; the ground is kept on the request (SI 2007/2182 reg 6; DPA 1998 s30(3) and
SI 2000/415 art 5; data/index/sar.toml withhold_shielded_from_parent). Rules are data.
"""

import datetime as dt
import json
import os
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.errors import WorkbenchError
from sim.index.audit import AuditEvent
from sim.index.retention import add_years
from sim.index.sar_pack import DisclosurePack, access_log, disclosed_record
from sim.index.store import IndexStore, SqliteStore
from sim.reference.params import Param, ParamFile, load_params

SAR_FILE = "index/sar.toml"
Requester = Literal["child", "parent"]
SarStatus = Literal[
    "awaiting fee", "awaiting identity", "in progress", "overdue", "disclosed", "refused"
]
Words = list[Annotated[str, Field(min_length=3)]]
Money = Annotated[Decimal, Field(ge=0, le=50, decimal_places=2)]


class SarRules(ParamFile):
    fee_cap_gbp: Param[Money]
    fee_gbp: Param[Money]
    response_days: Param[Annotated[int, Field(ge=1, le=366)]]
    child_consent_age: Param[Annotated[int, Field(ge=0, le=18)]]
    refusal_grounds: Param[Words]
    purposes: Param[Words]
    recipients: Param[Words]
    record_sources: Param[Words]
    withhold_shielded_from_parent: Param[bool]

    @model_validator(mode="after")
    def _fee_within_cap(self) -> "SarRules":
        if self.fee_gbp.value > self.fee_cap_gbp.value:
            raise ValueError("fee_gbp exceeds fee_cap_gbp (SI 2000/191 reg 3)")
        return self


@cache
def sar_rules() -> SarRules:
    """data/index/sar.toml: fee cap, response days, consent age, grounds and pack texts."""
    return load_params(SAR_FILE, SarRules)


class SarRefused(WorkbenchError):
    """A SAR step the rules do not allow; `detail` says what to audit."""

    def __init__(self, message: str, **detail: object) -> None:
        super().__init__(message)
        self.detail = detail


class SubjectAccessRequest(BaseModel):
    """One request as the responsible authority logs it; no requester names are kept."""

    model_config = ConfigDict(frozen=True)

    request_id: int | None = None
    child_id: str = Field(min_length=1, max_length=20)
    requester: Requester
    received_on: dt.date
    fee_due_pence: int = Field(ge=0)
    fee_paid_on: dt.date | None = None
    identity_verified_on: dt.date | None = None
    child_consent: bool | None = None
    closed_on: dt.date | None = None
    outcome: Literal["disclosed", "refused"] | None = None
    ground: str | None = None
    withheld: str | None = None

    def clock_started_on(self) -> dt.date | None:
        """The latest of request, fee and identity; None while one is missing (s7(8), (10))."""
        paid = self.received_on if self.fee_due_pence == 0 else self.fee_paid_on
        if paid is None or self.identity_verified_on is None:
            return None
        return max(self.received_on, paid, self.identity_verified_on)

    def due_on(self, rules: SarRules | None = None) -> dt.date | None:
        start = self.clock_started_on()
        days = (rules or sar_rules()).response_days.value
        return None if start is None else start + dt.timedelta(days=days)

    def status(self, as_of: dt.date) -> SarStatus:
        if self.closed_on is not None and self.closed_on <= as_of and self.outcome:
            return self.outcome
        paid = self.received_on if self.fee_due_pence == 0 else self.fee_paid_on
        if paid is None or paid > as_of:
            return "awaiting fee"
        if self.identity_verified_on is None or self.identity_verified_on > as_of:
            return "awaiting identity"
        due = self.due_on()
        return "overdue" if due is not None and as_of > due else "in progress"

    def to_row(self) -> dict[str, object]:
        row: dict[str, object] = self.model_dump(mode="json")
        row["child_consent"] = None if self.child_consent is None else int(self.child_consent)
        return row


@dataclass(frozen=True)
class SarOutcome:
    """The request after a step, the event to audit, and the pack when one was made."""

    request: SubjectAccessRequest
    event: AuditEvent
    pack: DisclosurePack | None = None


def _read(store: IndexStore, request_id: int) -> SubjectAccessRequest:
    rows = store.read_subject_access_requests(request_id=request_id)
    if not rows:
        raise SarRefused(f"subject access request {request_id}: none", request_id=request_id)
    return SubjectAccessRequest.model_validate(rows[0])


def _save(
    store: IndexStore, request: SubjectAccessRequest, action: str, actor: str, at: dt.datetime
) -> SarOutcome:
    request_id = store.save_subject_access_request(request.to_row())
    saved = request.model_copy(update={"request_id": request_id})
    detail = {"request_id": request_id, "requester": saved.requester}
    event = AuditEvent(at, actor, action, "allowed", saved.child_id, detail=detail)
    return SarOutcome(saved, event)


def _open(store: IndexStore, request_id: int) -> SubjectAccessRequest:
    request = _read(store, request_id)
    if request.closed_on is not None:
        raise SarRefused(
            f"subject access request {request_id}: already {request.outcome}",
            request_id=request_id,
            child_id=request.child_id,
        )
    return request


def receive_request(
    store: IndexStore,
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
    store: IndexStore,
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
    store: IndexStore, request_id: int, verified_on: dt.date, *, actor: str, at: dt.datetime
) -> SarOutcome:
    request = _open(store, request_id)
    updated = request.model_copy(update={"identity_verified_on": verified_on})
    return _save(store, updated, "subject access identity confirmed", actor, at)


def refuse_request(
    store: IndexStore, request_id: int, ground: str, on: dt.date, *, actor: str, at: dt.datetime
) -> SarOutcome:
    if ground not in sar_rules().refusal_grounds.value:
        raise SarRefused(
            f"refusal needs a ground from data/{SAR_FILE} refusal_grounds", request_id=request_id
        )
    request = _open(store, request_id)
    closed = request.model_copy(update={"closed_on": on, "outcome": "refused", "ground": ground})
    return _save(store, closed, "subject access request refused", actor, at)


def disclose(
    store: IndexStore,
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
        record=disclosed_record(stored, withhold),
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


def pending_requests(
    store_or_path: IndexStore | Path, as_of: dt.date
) -> list[SubjectAccessRequest]:
    """Requests received by `as_of` and not answered by then (decommissioning must drain them)."""
    if isinstance(store_or_path, Path):
        store = SqliteStore.open(store_or_path)
        try:
            return pending_requests(store, as_of)
        finally:
            store.close()
    requests = [
        SubjectAccessRequest.model_validate(row)
        for row in store_or_path.read_subject_access_requests()
    ]
    return [
        r
        for r in requests
        if r.received_on <= as_of and (r.closed_on is None or r.closed_on > as_of)
    ]


def export_requests(store: IndexStore, path: Path, as_of: dt.date) -> int:
    """Write every request, with its status and due date at `as_of`, as JSON lines
    (the deployment's sar/requests.jsonl); written beside and renamed, so never half-written."""
    requests = [
        SubjectAccessRequest.model_validate(r) for r in store.read_subject_access_requests()
    ]
    lines = []
    for request in requests:
        row = request.model_dump(mode="json")
        row["received"] = row.pop("received_on")  # the key decommissioning reads
        clock = request.clock_started_on()
        due = request.due_on()
        row.update(
            as_of=as_of.isoformat(),
            status=request.status(as_of),
            clock_started_on=clock.isoformat() if clock else None,
            due_on=due.isoformat() if due else None,
        )
        lines.append(json.dumps(row, sort_keys=True) + "\n")
    partial = path.with_name(path.name + ".partial")
    partial.write_text("".join(lines))
    os.replace(partial, path)
    return len(lines)
