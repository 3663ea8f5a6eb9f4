"""What a practitioner does through the facade: log in, search, open a record, log out.

Every call checks the session (AccessControl), applies the usage guard (rate limits and
enumeration), does the work through the index (search, view) and writes one audit event through
the core (sim.index.service_core). View and search events carry `surname`, its search keys and
`child_authority` in their detail, which the monitoring rules read.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.errors import WorkbenchError
from sim.index.access import AccessRefused, LoginAttempt, Session
from sim.index.access.usage import surname_key
from sim.index.audit import AuditEvent
from sim.index.inputs import is_text, shown
from sim.index.search import SearchQuery, SearchRefused, SearchResult, parse_query, search
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


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """One practitioner's search: in which session, what was typed, and when."""

    session_id: str
    query: Mapping[str, Any]
    now: dt.datetime


@dataclass(frozen=True, slots=True)
class SearchAnswer:
    """A search's answer or its audited refusal, with the session it was checked under (None
    when the session was refused): a page's header needs no second check."""

    session: Session | None
    result: SearchResult | None
    refused: WorkbenchError | None


def _parse(query: object) -> tuple[SearchQuery | None, SearchRefused | None]:
    """The query parsed, or why not (a query that is not a mapping is neither)."""
    if not isinstance(query, Mapping):
        return None, None
    try:
        return parse_query(dict(query)), None
    except SearchRefused as refused:
        return None, refused


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
        needs no second check): a batch of one (`search_many`), its refusal raised."""
        (answer,) = self.search_many([SearchRequest(session_id, query, now)])
        if answer.refused is not None:
            raise answer.refused
        assert answer.session is not None and answer.result is not None
        return answer.session, answer.result

    def search_many(self, requests: Sequence[SearchRequest]) -> list[SearchAnswer]:
        """`checked_search` of each request in order, grouped, each answered or refused on its
        own: every session check (which restarts its idle clock) and every usage-guard count in
        one transaction of the accounts database, in order (a session ended or a use counted by
        request k is seen by k + 1, as one at a time); the data core per request; then every
        entry, allowed or refused, in request order with one audit write, each allowed one only
        while its session is still live (checked under the log's lock, as `record` checks one).
        Nothing is answered before the write. Refusals follow `checked_search`'s order:
        session, malformed or invalid query, usage guard, search.

        A session asked again is grouped with the requests after it, once the earlier one's
        entry is written: a check that ends a session (idle too long) never comes before an
        earlier request of that session is logged, as one at a time."""
        answers: list[SearchAnswer] = []
        start = 0
        while start < len(requests):
            sessions: set[str] = set()
            end = start
            while end < len(requests) and requests[end].session_id not in sessions:
                sessions.add(requests[end].session_id)
                end += 1
            answers += self._search_group(requests[start:end])
            start = end
        return answers

    def _search_group(self, requests: Sequence[SearchRequest]) -> list[SearchAnswer]:
        """`search_many` of requests each of a different session: their sessions read with one
        statement and their idle clocks written with one (AccessControl.check_sessions)."""
        parsed = [_parse(request.query) for request in requests]
        guard = self.core.guard
        checked: list[tuple[Session | None, str | None, tuple[str, str] | None]] = []
        with guard.counters.counting() as usage:
            sessions = self.access.check_sessions([(r.session_id, r.now) for r in requests])
            for request, (query, _), (session, ended) in zip(
                requests, parsed, sessions, strict=True
            ):
                refusal = None
                if session is not None and ended is None and query is not None:
                    key = surname_key(query.surname)
                    refusal = guard.admit(
                        usage, session.username, "search", request.now, key, query.index_id
                    )
                checked.append((session, ended, refusal))
        events: list[AuditEvent] = []
        owners: list[int] = []  # the request each event belongs to
        answers: list[SearchAnswer] = []
        for i, (request, (query, invalid), (session, ended, refusal)) in enumerate(
            zip(requests, parsed, checked, strict=True)
        ):
            said = self._decide(request, query, invalid, session, ended, refusal)
            events += said[0]
            owners += [i] * len(said[0])
            answers.append(said[1])
        allowed = [o for e, o in zip(events, owners, strict=True) if e.outcome == "allowed"]
        live = self.access.live_checks([requests[o].session_id for o in allowed])
        checks = [
            live[requests[o].session_id] if e.outcome == "allowed" else None
            for e, o in zip(events, owners, strict=True)
        ]
        ended_at = self.audit.append_many(events, checks) if events else []
        for reason, o in zip(ended_at, owners, strict=True):
            if reason:  # ended (revoked, switched off) before its entry was written
                answers[o] = SearchAnswer(answers[o].session, None, AccessRefused(reason))
        return answers

    def _decide(
        self,
        request: SearchRequest,
        query: SearchQuery | None,
        invalid: SearchRefused | None,
        session: Session | None,
        ended: str | None,
        refusal: tuple[str, str] | None,
    ) -> tuple[list[AuditEvent], SearchAnswer]:
        """One request's audit entries and answer, from its checks (`search_many`); the data
        core searches only a request that passed them."""
        now, core = request.now, self.core
        if session is None or ended is not None:
            reason = ended or "unknown_session"
            actor = shown(session.username if session else "unknown")
            event = AuditEvent(now, actor, "session", "refused", None, reason, {})
            return [event], SearchAnswer(None, None, AccessRefused(reason))
        if not isinstance(request.query, Mapping):
            event = core.event(now, session, "search", None, "malformed_input", True,
                               fields=["query"])  # fmt: skip
            return [event], SearchAnswer(session, None, AccessRefused("malformed_input"))
        if query is None:
            fields = sorted(shown(key) for key in request.query)[:20]
            event = core.event(now, session, "search", None, "invalid_query", True, fields=fields)
            return [event], SearchAnswer(session, None, invalid)
        if refusal:
            reason, rule = refusal
            user, detail = session.username, {"rule": rule}
            events = [AuditEvent(now, user, "search", "refused", None, reason, detail)]
            if core.guard.counters.first_alert(user, now.date(), rule):
                events.append(AuditEvent(now, user, "alert", "refused", None, rule, detail))
            return events, SearchAnswer(session, None, AccessRefused(reason))
        try:
            result = search(self.store, query)
        except SearchRefused as refused:
            event = core.event(now, session, "search", None, "search_refused", True,
                               fields=list(query.fields_used()), surname=query.surname)  # fmt: skip
            return [event], SearchAnswer(session, None, refused)
        event = core.event(
            now,
            session,
            "search",
            query.index_id.upper() if query.index_id else None,
            surname=query.surname,
            **surname_keys(query.surname),
            **result.audit_detail(),
        )
        return [event], SearchAnswer(session, result, None)

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
