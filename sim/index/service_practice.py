"""What a practitioner does through the facade: log in, search, open a record, log out.

Every call checks the session (AccessControl), applies the usage guard (rate limits and
enumeration), does the work through the index (search, view) and writes one audit event through
the core (sim.index.service_core). View and search events carry `surname`, its search keys and
`child_authority` in their detail, which the monitoring rules read.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sim.index.access import AccessRefused, LoginAttempt, Session
from sim.index.access.usage import surname_key
from sim.index.audit import AuditEvent
from sim.index.inputs import is_text, shown
from sim.index.search import SearchRefused, SearchResult, parse_query, search
from sim.index.service_core import CLAIM_LIMIT, ServiceCore
from sim.index.store import StoredRecord
from sim.index.store.keys import normalise_name, phonetic_code
from sim.index.view import RecordView, ViewRefused, view_reasons, view_record


def surname_keys(surname: str | None) -> dict[str, str]:
    """The surname in the forms search matches it by, for the monitoring rules: punctuation,
    case or a spelling variant does not hide a watched name."""
    if not surname:
        return {}
    return {"surname_key": normalise_name(surname), "surname_code": phonetic_code(surname)}


class _ReadOnce:
    """Hands view_record the record the facade has just read: one index read per view."""

    def __init__(self, stored: StoredRecord) -> None:
        self._stored = stored

    def read_record(self, child_id: str, *, include_archived: bool = False) -> StoredRecord:
        return self._stored


class PractitionerActions:
    """Logins, searches and views, each checked, guarded and audited through the core."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core
        self.store, self.access, self.audit = core.store, core.access, core.audit

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
        attempt = LoginAttempt(username, password, pin, token_code, network, now)
        (answer,) = self.login_many([attempt])
        if isinstance(answer, AccessRefused):
            raise answer
        return answer

    def login_many(self, attempts: Sequence[LoginAttempt]) -> list[str | AccessRefused]:
        """`login` of each attempt in order, in one call (LoginControl.login_many): each
        answer a session id or the refusal, every refusal audited."""
        if self.access.service_closed():
            refusals = [
                AuditEvent(a.at, shown(a.username), "login", "refused", None, "service_closed")
                for a in attempts
            ]
            self.audit.append_many(refusals, [None] * len(refusals))
            return [AccessRefused("revoked") for _ in attempts]
        answers = self.access.login_many(attempts)
        return [a if isinstance(a, AccessRefused) else a.session_id for a in answers]

    def search(
        self, session_id: str, query: Mapping[str, Any], *, now: dt.datetime
    ) -> SearchResult:
        """Search by names, date of birth, gender, postcode, school or GP; capped and scored."""
        return self.checked_search(session_id, query, now=now)[1]

    def checked_search(
        self, session_id: str, query: Mapping[str, Any], *, now: dt.datetime
    ) -> tuple[Session, SearchResult]:
        """`search`, and the session it was checked under (a page that shows who is logged in
        needs no second check). The session check, which restarts its idle clock, and the usage
        guard's count are one transaction of the accounts database; refusals are audited after
        it, in the order: session, malformed or invalid query, usage guard."""
        parsed, invalid = None, None
        if isinstance(query, Mapping):
            try:
                parsed = parse_query(dict(query))
            except SearchRefused as refused:
                invalid = refused
        guard = self.core.guard
        with guard.counters.counting() as usage:
            session, ended = self.access.check_session(session_id, now)
            refusal = None
            if session is not None and ended is None and parsed is not None:
                key = surname_key(parsed.surname)
                refusal = guard.admit(usage, session.username, "search", now, key, parsed.index_id)
        if session is None or ended is not None:
            self.access.refuse_session(now, session, ended or "unknown_session")
        if not isinstance(query, Mapping):
            self.core.refuse_malformed(now, session, "search", ["query"])
        if parsed is None:
            fields = sorted(shown(key) for key in query)[:20]
            self.core.refuse(invalid, now, session, "search", "invalid_query", fields=fields)
        if refusal:
            guard.refuse(session.username, "search", *refusal, now, None)
        try:
            result = search(self.store, parsed)
        except SearchRefused as refused:
            fields = list(parsed.fields_used())
            self.core.refuse(
                refused,
                now,
                session,
                "search",
                "search_refused",
                fields=fields,
                surname=parsed.surname,
            )
        self.core.record(
            now,
            session,
            "search",
            parsed.index_id.upper() if parsed.index_id else None,
            surname=parsed.surname,
            **surname_keys(parsed.surname),
            **result.audit_detail(),
        )
        return session, result

    def view(self, session_id: str, child_id: str, reason: str, *, now: dt.datetime) -> RecordView:
        """Open one record for a stated reason from the list (data/index/record.toml)."""
        return self.checked_view(session_id, child_id, reason, now=now)[1]

    def checked_view(
        self, session_id: str, child_id: str, reason: str, *, now: dt.datetime
    ) -> tuple[Session, RecordView]:
        """`view`, and the session it was checked under; the session check and the usage
        guard's count are one transaction, as a search's (`checked_search`)."""
        stated = is_text(child_id) and is_text(reason) and reason in view_reasons()
        guard = self.core.guard
        with guard.counters.counting() as usage:
            session, ended = self.access.check_session(session_id, now)
            refusal = None
            if session is not None and ended is None and stated:
                claimed = child_id[:CLAIM_LIMIT]
                refusal = guard.admit(usage, session.username, "view", now, None, claimed)
        if session is None or ended is not None:
            self.access.refuse_session(now, session, ended or "unknown_session")
        self.core.require_text(now, session, "view", child_id=child_id, reason=reason)
        child_id = child_id[:CLAIM_LIMIT]
        if reason not in view_reasons():
            refused = ViewRefused(
                "view refused: state one of the reasons for access (cpw index reasons)"
            )
            self.core.refuse(
                refused,
                now,
                session,
                "view",
                "no_valid_reason",
                child_id,
                stated=str(reason)[:CLAIM_LIMIT],
            )
        if refusal:
            guard.refuse(session.username, "view", *refusal, now, child_id)
        stored = self.store.read_record(child_id)
        if stored is None:
            refused = ViewRefused("view refused: no record with that index ID")
            self.core.refuse(refused, now, session, "view", "unknown_child", child_id)
        shown = view_record(_ReadOnce(stored), child_id, reason)
        authority = stored.record.authority_code
        surname = shown.name.surname if shown.name else None
        self.core.record(
            now,
            session,
            "view",
            child_id,
            reason,
            surname=surname,
            **surname_keys(surname),
            child_authority=authority,
            shielded=shown.shielded,
            sections=shown.sections_shown(),
        )
        return session, shown

    def logout(self, session_id: str, *, now: dt.datetime) -> None:
        self.access.logout(session_id, now=now)
