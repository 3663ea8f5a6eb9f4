"""ContactPoint as practitioners and administrators meet it: one facade over the index's parts.

Every call checks the session (AccessControl), applies the usage guard (rate limits and
enumeration), does the work through the data core (search, view, shielding) and writes one
audit event; a refusal is audited before its typed error propagates (issue 3 items 4-7;
facts.md 5f: "every access is logged"). View and search events carry `surname` and
`child_authority` in their detail, which the monitoring rules read. Time comes only from the
`now` arguments, so the simulation drives the clock exactly as it drives a practitioner.
"""

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from sim.errors import InputError, WorkbenchError
from sim.index.access import (
    AccessControl,
    AccessRefused,
    Account,
    NewAccount,
    Session,
    UsageGuard,
)
from sim.index.audit import AuditEvent, AuditLog
from sim.index.deployment.layout import Layout, audit_signing_key
from sim.index.deployment.settings import ServiceState, profile_rules, service_rules
from sim.index.records import RecordRefused, parse_record
from sim.index.sar import Requester, SarOutcome, SarRefused, receive_request
from sim.index.search import SearchRefused, SearchResult, parse_query, search
from sim.index.shielding import (
    ShieldingEvent,
    ShieldingRefused,
    ShieldingRequest,
    decide_shielding,
    request_shielding,
)
from sim.index.store import IndexStore, SqliteStore, StoredRecord
from sim.index.view import RecordView, ViewRefused, view_reasons, view_record

CLAIM_LIMIT = 64  # characters of user-supplied text (a stated reason) kept in a refusal entry


class _ReadOnce:
    """Hands view_record the record the facade has just read: one index read per view."""

    def __init__(self, stored: StoredRecord) -> None:
        self._stored = stored

    def read_record(self, child_id: str) -> StoredRecord:
        return self._stored


class ContactPoint:
    """The index as practitioners and administrators meet it."""

    def __init__(
        self, store: IndexStore, access: AccessControl, audit: AuditLog, accounts_db: Path
    ) -> None:
        self.store = store
        self.access = access
        self.audit = audit
        self.guard = UsageGuard(audit)
        self.rules = service_rules()
        self._state = ServiceState(accounts_db)

    @classmethod
    def open(cls, deployment: Path, *, profile: str = "production") -> "ContactPoint":
        """Open a deployment made by `cpw deploy`; its stores stay where they are."""
        layout = Layout(Path(deployment))
        for needed in (layout.index, layout.keystore):
            if not needed.is_file():
                raise InputError(f"{deployment}: not a deployment ({needed.name} missing)")
        rules = profile_rules(profile)
        audit = AuditLog(layout.audit, audit_signing_key(layout.keystore))
        store = SqliteStore.open(layout.index)
        return cls(
            store, AccessControl(layout.accounts, audit, rules=rules), audit, layout.accounts
        )

    # -- audit -----------------------------------------------------------------------------

    def _record(
        self,
        now: dt.datetime,
        session: Session,
        action: str,
        child_id: str | None = None,
        reason: str | None = None,
        refused: bool = False,
        **detail: Any,
    ) -> None:
        outcome = "refused" if refused else "allowed"
        detail["authority"] = session.authority_code
        self.audit.append(
            AuditEvent(now, session.username, action, outcome, child_id, reason, detail)
        )

    def _refuse(
        self,
        error: WorkbenchError,
        now: dt.datetime,
        session: Session,
        action: str,
        reason: str,
        child_id: str | None = None,
        **detail: Any,
    ) -> NoReturn:
        self._record(now, session, action, child_id, reason, True, **detail)
        raise error

    def _permit(
        self,
        now: dt.datetime,
        session: Session,
        action: str,
        roles: list[str],
        child_id: str | None,
    ) -> None:
        if session.role not in roles:
            self._refuse(
                AccessRefused("not_permitted"), now, session, action, "not_permitted", child_id
            )

    def _own_authority(
        self, now: dt.datetime, session: Session, action: str, child_id: str, authority: str | None
    ) -> None:
        """Management teams act on their own authority's children (national staff on any)."""
        if session.role == "management_team" and authority != session.authority_code:
            self._refuse(
                AccessRefused("not_permitted"), now, session, action, "outside_authority", child_id
            )

    # -- practitioners ---------------------------------------------------------------------

    def login(
        self,
        username: str,
        password: str,
        pin: str,
        token_code: str,
        *,
        network: str,
        now: dt.datetime,
    ) -> str:
        """All four factors from an accredited network; returns the session id."""
        if self._state.closed:
            self.audit.append(
                AuditEvent(now, username[:CLAIM_LIMIT], "login", "refused", None, "service_closed")
            )
            raise AccessRefused("revoked")
        return self.access.login(
            username, password, pin, token_code, network=network, now=now
        ).session_id

    def search(
        self, session_id: str, query: Mapping[str, Any], *, now: dt.datetime
    ) -> SearchResult:
        """Search by names, date of birth, gender, postcode, school or GP; capped and scored."""
        session = self.access.session(session_id, now=now)
        try:
            parsed = parse_query(dict(query))
        except SearchRefused as refused:
            self._refuse(
                refused,
                now,
                session,
                "search",
                "invalid_query",
                fields=sorted(str(key)[:CLAIM_LIMIT] for key in query)[:20],
            )
        self.guard.check_search(session.username, now, parsed.surname)
        try:
            result = search(self.store, parsed)
        except SearchRefused as refused:
            fields = list(parsed.fields_used())
            self._refuse(
                refused,
                now,
                session,
                "search",
                "search_refused",
                fields=fields,
                surname=parsed.surname,
            )
        self._record(now, session, "search", surname=parsed.surname, **result.audit_detail())
        return result

    def view(self, session_id: str, child_id: str, reason: str, *, now: dt.datetime) -> RecordView:
        """Open one record for a stated reason from the list (data/index/record.toml)."""
        session = self.access.session(session_id, now=now)
        child_id = str(child_id)[:CLAIM_LIMIT]
        if reason not in view_reasons():
            refused = ViewRefused(
                "view refused: state one of the reasons for access (cpw index reasons)"
            )
            self._refuse(
                refused,
                now,
                session,
                "view",
                "no_valid_reason",
                child_id,
                stated=str(reason)[:CLAIM_LIMIT],
            )
        self.guard.check_view(session.username, child_id, now)
        stored = self.store.read_record(child_id)
        if stored is None:
            refused = ViewRefused("view refused: no record with that index ID")
            self._refuse(refused, now, session, "view", "unknown_child", child_id)
        shown = view_record(_ReadOnce(stored), child_id, reason)
        authority = stored.record.authority_code
        surname = shown.name.surname if shown.name else None
        self._record(
            now,
            session,
            "view",
            child_id,
            reason,
            surname=surname,
            child_authority=authority,
            shielded=shown.shielded,
            sections=shown.sections_shown(),
        )
        return shown

    def logout(self, session_id: str, *, now: dt.datetime) -> None:
        self.access.logout(session_id, now=now)

    # -- management teams ------------------------------------------------------------------

    def _child_authority(self, child_id: str) -> str | None:
        stored = self.store.read_record(child_id)
        return stored.record.authority_code if stored else None

    def request_shielding(
        self, session_id: str, child_id: str, criterion: str, *, now: dt.datetime
    ) -> ShieldingEvent:
        """An authority's request to shield a child (SI 2007/2182 reg 6); decided separately."""
        session = self.access.session(session_id, now=now)
        action = "shielding.request"
        child_id = str(child_id)[:CLAIM_LIMIT]
        self._permit(now, session, action, self.rules.shielding_request_roles.value, child_id)
        self._own_authority(now, session, action, child_id, self._child_authority(child_id))
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
            self._refuse(refused, now, session, action, "invalid_criterion", child_id)
        except ShieldingRefused as refused:
            self._refuse(refused, now, session, action, "unknown_child", child_id)
        self._record(now, session, action, child_id, event.criterion, request_id=event.request_id)
        return event

    def decide_shielding(
        self, session_id: str, request_id: int, approve: bool, *, now: dt.datetime
    ) -> ShieldingEvent:
        """A management-team member decides case by case; never the requester (four eyes)."""
        session = self.access.session(session_id, now=now)
        action = "shielding.decide"
        deciders = self.rules.shielding_decider_roles.value
        self._permit(now, session, action, list(deciders), None)
        pending = self.store.read_shielding_request(int(request_id))
        if pending is not None:
            self._own_authority(
                now, session, action, pending.child_id, self._child_authority(pending.child_id)
            )
        try:
            event = decide_shielding(
                self.store, int(request_id), session.username, deciders[session.role], approve, now
            )
        except ShieldingRefused as refused:
            self._refuse(
                refused,
                now,
                session,
                action,
                "refused",
                refused.detail.get("child_id"),
                request_id=request_id,
            )
        self._record(
            now, session, event.action, event.child_id, event.criterion, request_id=request_id
        )
        return event

    def amend_record(self, session_id: str, record: Mapping[str, Any], *, now: dt.datetime) -> str:
        """Correct a record by hand; anything outside Sch 1 (case data) is refused."""
        session = self.access.session(session_id, now=now)
        action = "record.amend"
        claimed = str(record.get("index_id", ""))[:CLAIM_LIMIT] or None
        self._permit(now, session, action, self.rules.record_maintainer_roles.value, claimed)
        try:
            parsed = parse_record(record)
        except RecordRefused as refused:
            self._refuse(refused, now, session, action, type(refused).__name__, claimed)
        current = self._child_authority(parsed.index_id)
        self._own_authority(now, session, action, parsed.index_id, current or parsed.authority_code)
        self._own_authority(now, session, action, parsed.index_id, parsed.authority_code)
        self.store.write_records([parsed])
        self._record(now, session, action, parsed.index_id, child_authority=parsed.authority_code)
        return parsed.index_id

    # -- administration --------------------------------------------------------------------

    def add_user(
        self,
        new: NewAccount,
        password: str,
        pin: str,
        *,
        vetted_on: dt.date | None,
        by: str | None,
        now: dt.datetime,
    ) -> Account:
        """Open an account; with `vetted_on`, record CRB check, training and agreement too."""
        if self._state.closed:
            self.audit.append(
                AuditEvent(now, "system", "account.create", "refused", None, "service_closed")
            )
            raise AccessRefused("not_permitted")
        account = self.access.create_account(new, password, pin, by=by, now=now)
        if vetted_on is not None:
            self.access.record_crb_check(new.username, vetted_on, by=by, now=now)
            self.access.record_training(new.username, vetted_on, by=by, now=now)
            self.access.record_agreement(new.username, vetted_on, by=by, now=now)
        return account

    def issue_token(self, username: str, *, by: str | None, now: dt.datetime) -> str:
        """A new security token for the user; returns its secret once, for the device."""
        return self.access.issue_token(username, by=by, now=now)

    def receive_subject_access_request(
        self, child_id: str, requester: Requester, received_on: dt.date, *, now: dt.datetime
    ) -> SarOutcome:
        """The public route for a written SAR (DPA 1998 s7); closed once the index is switched
        off, when the regulations ceased to apply (facts.md 5h)."""
        if self._state.closed:
            self.audit.append(
                AuditEvent(now, "public", "sar.receive", "refused", None, "service_closed")
            )
            raise SarRefused("the ContactPoint service is closed")
        outcome = receive_request(
            self.store, child_id, requester, received_on, actor="public", at=now
        )
        self.audit.append(outcome.event)
        return outcome

    def switch_off(self, *, by: str | None, now: dt.datetime) -> int:
        """Every account revoked and every session ended; every later login refused (facts 5h)."""
        revoked = self.access.close_service(by=by, now=now)
        self._state.close_service(now)
        return revoked

    def close(self) -> None:
        self.access.close()
        self.store.close()
        self._state.close()
        self.audit.close()

    def __enter__(self) -> "ContactPoint":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
