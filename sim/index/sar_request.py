"""A subject access request and its 40-day clock (DPA 1998 s7, the rules in force in 2009-10).

The fee is at most 10 GBP (SI 2000/191 reg 3); the 40 days run from the latest of the request,
the fee and the identity evidence (s7(3), (8), (10)). The rules are data (data/index/sar.toml).
Requests not yet answered are listed for the decommissioning module, which must drain them
(pending_requests, export_requests); the steps that move a request on are in sim.index.sar.
"""

import datetime as dt
import json
import os
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.errors import WorkbenchError
from sim.index.store import IndexStore
from sim.index.store.locations import open_index
from sim.outputs import private_file
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
    child_request_age: Param[Annotated[int, Field(ge=0, le=18)]]
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


def pending_requests(
    store_or_path: IndexStore | Path | str, as_of: dt.date
) -> list[SubjectAccessRequest]:
    """Requests received by `as_of` and not answered by then (decommissioning must drain them);
    from a store, or an index's location (a SQLite path or a PostgreSQL conninfo)."""
    if isinstance(store_or_path, Path | str):
        store = open_index(store_or_path)
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
    partial = private_file(path.with_name(path.name + ".partial"))  # child data: owner-only
    partial.write_text("".join(lines))
    os.replace(partial, path)
    return len(lines)
