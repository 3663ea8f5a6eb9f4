"""ContactPoint as practitioners and administrators meet it: one facade over the index's parts.

The facade is composed of objects, each with one concern: a core that holds the parts and
records or refuses every act (sim.index.service_core), practitioners' acts (service_practice),
the management team's (service_management) and administration (service_admin). Every call checks
the session (AccessControl), applies the usage guard (rate limits and enumeration), does the work
through the store's protocols and writes one audit event; a refusal is audited before its typed
error propagates (docs/reference.md 5f: "every access is logged"). The security state (sessions,
counters, revocations, the switched-off state) lives in the deployment's accounts database and is
read on every request, so any number of facades, in any processes, are one service; an answer is
logged (write-ahead) before it is returned, and only while the session is still live. Time comes
only from the `now` arguments, so the simulation drives the clock exactly as it drives a
practitioner.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.index.access import (
    AccessControl,
    AccessRefused,
    Account,
    LoginAttempt,
    NewAccount,
    Session,
    UsageGuard,
)
from sim.index.audit import AuditLog
from sim.index.derived_copies import DerivedCopies
from sim.index.layout import Layout, audit_signing_key, read_backend, token_key
from sim.index.sar import Requester, SarOutcome
from sim.index.search import SearchResult
from sim.index.service_admin import Administration
from sim.index.service_core import CLAIM_LIMIT, ServiceCore
from sim.index.service_management import ManagementActions
from sim.index.service_practice import (
    PractitionerActions,
    SearchAnswer,
    SearchRequest,
    surname_keys,
)
from sim.index.service_settings import ServiceRules, profile_rules
from sim.index.shielding import ShieldingEvent
from sim.index.store import IndexStore
from sim.index.store.backends import open_access, open_index
from sim.index.view import RecordView

__all__ = ["CLAIM_LIMIT", "ContactPoint", "SearchAnswer", "SearchRequest", "surname_keys"]


class ContactPoint:
    """The index as practitioners and administrators meet it: each call is handed to the
    object whose concern it is (practitioners, management, administration)."""

    def __init__(self, store: IndexStore, access: AccessControl, audit: AuditLog) -> None:
        self.core = ServiceCore(store, access, audit)
        self.practitioners = PractitionerActions(self.core)
        self.management = ManagementActions(self.core)
        self.administration = Administration(self.core)

    @classmethod
    def open(
        cls, deployment: Path, *, profile: str = "production", witness: Path | None = None
    ) -> "ContactPoint":
        """Open a deployment made by `cpw deploy`; its stores stay where they are. Each signed
        audit checkpoint is also published to `witness` (default: DEPLOYMENT.audit-witness,
        outside the tree), the operator's copy that `cpw index audit verify` checks against."""
        layout = Layout(Path(deployment))
        if not layout.keystore.is_file():
            raise InputError(f"{deployment}: not a deployment ({layout.keystore.name} missing)")
        backend = read_backend(layout)  # SQLite files, or PostgreSQL databases (backend.toml)
        if isinstance(backend.index, Path) and not backend.index.is_file():
            raise InputError(f"{deployment}: not a deployment ({backend.index.name} missing)")
        rules = profile_rules(profile)
        witness = Path(witness) if witness else layout.beside("audit-witness")
        audit = AuditLog(layout.audit, audit_signing_key(layout.keystore), witness=witness)
        store = open_index(backend.index, backend_name=backend.name)
        stores = open_access(
            backend.accounts,
            rules=rules,
            token_key=token_key(layout.keystore),
            backend_name=backend.name,
        )
        access = AccessControl(stores, audit, rules=rules, letters=layout.beside("token-letters"))
        service = cls(store, access, audit)
        service.core.copies = DerivedCopies(layout.root)
        return service

    # -- the parts every caller may read ---------------------------------------------------

    @property
    def store(self) -> IndexStore:
        return self.core.store

    @property
    def access(self) -> AccessControl:
        return self.core.access

    @property
    def audit(self) -> AuditLog:
        return self.core.audit

    @property
    def guard(self) -> UsageGuard:
        return self.core.guard

    @property
    def rules(self) -> ServiceRules:
        return self.core.rules

    # -- practitioners (service_practice) --------------------------------------------------

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
        return self.practitioners.login(
            username, password, pin, token_code, network=network, now=now
        )

    def login_many(self, attempts: Sequence[LoginAttempt]) -> list[str | AccessRefused]:
        """Many logins in one call, each checked and audited as `login` checks one; each
        answer the session id or the refusal."""
        return self.practitioners.login_many(attempts)

    def search(
        self, session_id: str, query: Mapping[str, Any], *, now: dt.datetime
    ) -> SearchResult:
        """Search by names, date of birth, gender, postcode, school or GP; capped and scored."""
        return self.practitioners.search(session_id, query, now=now)

    def view(self, session_id: str, child_id: str, reason: str, *, now: dt.datetime) -> RecordView:
        """Open one record for a stated reason from the list (data/index/record.toml)."""
        return self.practitioners.view(session_id, child_id, reason, now=now)

    def checked_search(
        self, session_id: str, query: Mapping[str, Any], *, now: dt.datetime
    ) -> tuple[Session, SearchResult]:
        """`search`, and the live session it was checked under (for a page's header)."""
        return self.practitioners.checked_search(session_id, query, now=now)

    def search_many(self, requests: Sequence[SearchRequest]) -> list[SearchAnswer]:
        """`checked_search` of each request in order, grouped: one accounts transaction for
        every session check and usage count, one audit write for every entry; each request
        answered or refused (audited) on its own."""
        return self.practitioners.search_many(requests)

    def checked_view(
        self, session_id: str, child_id: str, reason: str, *, now: dt.datetime
    ) -> tuple[Session, RecordView]:
        """`view`, and the live session it was checked under (for a page's header)."""
        return self.practitioners.checked_view(session_id, child_id, reason, now=now)

    def logout(self, session_id: str, *, now: dt.datetime) -> None:
        self.practitioners.logout(session_id, now=now)

    # -- management teams (service_management) ---------------------------------------------

    def request_shielding(
        self, session_id: str, child_id: str, criterion: str, *, now: dt.datetime
    ) -> ShieldingEvent:
        """An authority's request to shield a child (SI 2007/2182 reg 6); decided separately."""
        return self.management.request_shielding(session_id, child_id, criterion, now=now)

    def decide_shielding(
        self, session_id: str, request_id: int, approve: bool, *, now: dt.datetime
    ) -> ShieldingEvent:
        """A management-team member decides case by case; never the requester (four eyes)."""
        return self.management.decide_shielding(session_id, request_id, approve, now=now)

    def amend_record(self, session_id: str, record: Mapping[str, Any], *, now: dt.datetime) -> str:
        """Correct a record by hand; anything outside Sch 1 (case data) is refused."""
        return self.management.amend_record(session_id, record, now=now)

    def set_leaving_england(
        self,
        session_id: str,
        child_id: str,
        intends_to_return: bool | None,
        *,
        now: dt.datetime,
    ) -> None:
        """Record that a child has left England and whether the child intends to return within
        three years (SI 2007/2182 Sch 1 para 2(d)); None clears it."""
        self.management.set_leaving_england(session_id, child_id, intends_to_return, now=now)

    # -- administration (service_admin) ----------------------------------------------------

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
        return self.administration.add_user(new, password, pin, vetted_on=vetted_on, by=by, now=now)

    def issue_token(self, username: str, *, by: str | None, now: dt.datetime) -> str:
        """A new security token for the user; returns its serial. The secret is posted to the
        holder alone (sim.index.access.enrolment), never returned to the one who issues it."""
        return self.administration.issue_token(username, by=by, now=now)

    def receive_subject_access_request(
        self, child_id: str, requester: Requester, received_on: dt.date, *, now: dt.datetime
    ) -> SarOutcome:
        """The public route for a written SAR (DPA 1998 s7); closed once switched off."""
        return self.administration.receive_subject_access_request(
            child_id, requester, received_on, now=now
        )

    def switch_off(self, *, by: str | None, now: dt.datetime) -> int:
        """Every account revoked and every session ended; every later login refused."""
        return self.administration.switch_off(by=by, now=now)

    # -- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        self.access.close()
        self.store.close()
        self.audit.close()

    def __enter__(self) -> "ContactPoint":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
