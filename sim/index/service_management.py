"""What an authority's management team does through the facade: shielding, amendments and
the leaving-England status, each within the team's own authority and audited."""

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sim.index.access import Session
from sim.index.inputs import shown
from sim.index.records import RecordRefused, parse_record
from sim.index.service_core import CLAIM_LIMIT, ServiceCore
from sim.index.shielding import (
    ShieldingEvent,
    ShieldingRefused,
    ShieldingRequest,
    decide_shielding,
    request_shielding,
)
from sim.index.store import StoredRequest


class ManagementActions:
    """Record maintenance by the responsible authority (SI 2007/2182 regs 6 and 8)."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core
        self.store, self.access, self.rules = core.store, core.access, core.rules

    def request_shielding(
        self, session_id: str, child_id: str, criterion: str, *, now: dt.datetime
    ) -> ShieldingEvent:
        """An authority's request to shield a child (SI 2007/2182 reg 6); decided separately."""
        session = self.access.session(session_id, now=now)
        action = "shielding.request"
        self.core.require_text(now, session, action, child_id=child_id, criterion=criterion)
        child_id = child_id[:CLAIM_LIMIT]
        self.core.permit(now, session, action, self.rules.shielding_request_roles.value, child_id)
        self.core.own_authority(now, session, action, child_id, self.core.child_authority(child_id))
        try:
            request = ShieldingRequest(
                child_id=child_id,
                criterion=criterion,
                requested_by=session.username,
                requested_at=now,
            )
            event = request_shielding(self.store, request)
        except ValueError:  # pydantic's ValidationError: the criterion is not in the list
            refused = ShieldingRefused("shielding request refused: cite a criterion from the list")
            self.core.refuse(refused, now, session, action, "invalid_criterion", child_id)
        except ShieldingRefused as refused:
            self.core.refuse(refused, now, session, action, "unknown_child", child_id)
        self.core.record(
            now, session, action, child_id, event.criterion, request_id=event.request_id
        )
        return event

    def decide_shielding(
        self, session_id: str, request_id: int, approve: bool, *, now: dt.datetime
    ) -> ShieldingEvent:
        """A management-team member decides case by case; never the requester (four eyes)."""
        session = self.access.session(session_id, now=now)
        action = "shielding.decide"
        if isinstance(request_id, bool) or not isinstance(request_id, int):
            self.core.refuse_malformed(now, session, action, ["request_id"])
        deciders = self.rules.shielding_decider_roles.value
        self.core.permit(now, session, action, list(deciders), None)
        pending = self.store.read_shielding_request(int(request_id))
        if pending is not None:
            self.core.own_authority(
                now, session, action, pending.child_id, self.core.child_authority(pending.child_id)
            )
            if self.access.same_person(session.username, pending.requested_by):
                refused = ShieldingRefused(
                    f"shielding request {request_id}: the requester may not decide it"
                )
                self.core.refuse(
                    refused, now, session, action, "own_request", pending.child_id,
                    request_id=request_id,
                )  # fmt: skip
            if approve and pending.status == "pending":
                self._withhold_copies(now, session, pending)  # before the shield holds
        try:
            event = decide_shielding(
                self.store, int(request_id), session.username, deciders[session.role], approve, now
            )
        except ShieldingRefused as refused:
            self.core.refuse(
                refused,
                now,
                session,
                action,
                "refused",
                refused.detail.get("child_id"),
                request_id=request_id,
            )
        self.core.record(
            now, session, event.action, event.child_id, event.criterion, request_id=request_id
        )
        return event

    def _withhold_copies(self, now: dt.datetime, session: Session, pending: StoredRequest) -> None:
        """Shield a child in every derived copy before the live index: emptied from each extract
        and shielded in the DR replica, each audited. A kill, or a refusal, after this leaves
        copies that hide too much, never too little."""
        copies = self.core.copies
        if copies is None:
            return
        child_id = pending.child_id
        if copies.shield_replica(pending, session.username, now):
            self.core.record(now, session, "replica.shield", child_id, "shielding")
        stored = self.store.read_record(child_id)
        address = stored.record.address if stored else None
        where = (address.address_line, address.postcode) if address else (None, None)
        for withheld in copies.withhold(child_id, where):
            self.core.record(now, session, "extract.withhold", child_id, "shielding",
                         file=withheld.file, rows=withheld.rows)  # fmt: skip

    def amend_record(self, session_id: str, record: Mapping[str, Any], *, now: dt.datetime) -> str:
        """Correct a record by hand; anything outside Sch 1 (case data) is refused."""
        session = self.access.session(session_id, now=now)
        action = "record.amend"
        if not isinstance(record, Mapping):
            self.core.refuse_malformed(now, session, action, ["record"])
        claimed = shown(record.get("index_id", "")) or None
        self.core.permit(now, session, action, self.rules.record_maintainer_roles.value, claimed)
        try:
            parsed = parse_record(record)
        except RecordRefused as refused:
            self.core.refuse(refused, now, session, action, type(refused).__name__, claimed)
        current = self.core.child_authority(parsed.index_id)
        self.core.own_authority(
            now, session, action, parsed.index_id, current or parsed.authority_code
        )
        self.core.own_authority(now, session, action, parsed.index_id, parsed.authority_code)
        self.store.write_records([parsed])
        self.core.record(
            now, session, action, parsed.index_id, child_authority=parsed.authority_code
        )
        return parsed.index_id

    def set_leaving_england(
        self,
        session_id: str,
        child_id: str,
        intends_to_return: bool | None,
        *,
        now: dt.datetime,
    ) -> None:
        """Record that a child has left England and whether the child intends to return within
        three years (SI 2007/2182 Sch 1 para 2(d)); None clears it. The responsible authority's
        management team (or a national administrator) only, audited."""
        session = self.access.session(session_id, now=now)
        action = "record.leaving_england"
        self.core.require_text(now, session, action, child_id=child_id)
        if intends_to_return not in (True, False, None):
            self.core.refuse_malformed(now, session, action, ["intends_to_return"], child_id)
        child_id = child_id[:CLAIM_LIMIT]
        self.core.permit(now, session, action, self.rules.record_maintainer_roles.value, child_id)
        authority = self.core.child_authority(child_id)
        if authority is None:
            refused = RecordRefused("leaving-England status refused: no record with that index ID")
            self.core.refuse(refused, now, session, action, "unknown_child", child_id)
        self.core.own_authority(now, session, action, child_id, authority)
        self.store.set_leaving_england(child_id, intends_to_return, session.username, now)
        self.core.record(now, session, action, child_id, intends_to_return=intends_to_return)
