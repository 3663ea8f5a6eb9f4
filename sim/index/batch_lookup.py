"""Many practitioner lookups in one call, each checked and audited as the facade does one.

A simulation of all England asks the index hundreds of thousands of times a year; through the
facade (sim.index.service.ContactPoint) each lookup is a search and a view, each with its own
usage-guard transaction and its own audit write and sync. `BatchLookup.lookup` answers a batch
of exact name-and-date-of-birth lookups, by any number of practitioner sessions, with the same
safeguards, grouped:

- one access check per lookup: its session is checked (and its idle clock restarted) at the
  lookup's time, a refusal audited by the access control as the facade's would be; and again
  under the audit log's lock as its entry is written, so nothing is answered after a revocation
  or a switch-off; every lookup passes the usage guard
  (rate limits, distinct surnames, neighbouring IDs; data/index/monitoring.toml) as a search,
  and as a view when a record is opened, all in one accounts transaction per batch;
- one audit entry per lookup: a `view` of the record opened (with the hits and the searched
  surname, as the facade's search and view entries hold them), a `search` when none was opened,
  or the refusal with its rule (and the day's first alert per rule, as the guard writes it); all
  of the batch's entries written ahead of the answers with one write and one sync.

Grouped, each step decides as it would one lookup at a time (tests/index/golden holds a mixed
batch's answers and audit trail): each distinct session is read once and its idle clock written
once (LoginControl.sessions); the guard's rules run over the batch users' recent uses loaded once
into memory, inside the accounts transaction, and the batch's uses are written back with one
statement for every other process to count (sim.index.access.usage_batch); the hits are read
with one statement for the lookups by name and one for those by ID; every session's state is
read with one statement under the audit log's lock (LoginControl.live_checks). Another
process's revocation or switch-off is seen by the next batch at its session checks, and by this
one until its entries are written.

The search is the facade's exact search (sim.index.search, mode "exact") on forename, surname
and date of birth (NameQuery): current names, and former names of unshielded children; or on
the index ID alone (IdQuery, for a child the practitioner knows only by ID, guarded as the
facade guards a search by ID); archived records are not found. Which hit is opened is the
practitioner's choice (`choose`), the first by default.
"""

import datetime as dt
import json.encoder
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sim.errors import InputError
from sim.index.access import AccessRefused
from sim.index.access.usage_batch import BatchWindow
from sim.index.audit.event import AuditEvent, CanonicalDetail, canonical
from sim.index.gc_pause import collection_paused
from sim.index.search_rules import search_rules
from sim.index.service import ContactPoint, surname_keys
from sim.index.store.keys import normalise_name
from sim.index.view import view_reasons


@dataclass(frozen=True)
class NameQuery:
    """What a practitioner typed, in which session, and when."""

    session_id: str
    forename: str
    surname: str
    date_of_birth: dt.date
    at: dt.datetime


@dataclass(frozen=True)
class IdQuery:
    """A lookup by index ID (the practitioner knows only the child's ID), in which session,
    and when."""

    session_id: str
    index_id: str
    at: dt.datetime


Query = NameQuery | IdQuery


@dataclass(frozen=True)
class BatchAnswer:
    hits: tuple[str, ...]  # index IDs found, in the facade's order
    opened: str | None  # the record opened (viewed), if any
    shielded: bool
    services: int  # services shown on the opened record (none when shielded)
    refused: str | None  # why the lookup was refused, if it was


@dataclass(slots=True)
class _Found:
    # (child_id, authority, shielded, services): tuples of plain values, which the garbage
    # collector stops tracking (fewer objects for its collections to walk in a large batch)
    hits: tuple[tuple[str, str, bool, int], ...]
    ids: tuple[str, ...]  # the hits' index IDs, in order
    opened: tuple | None = None
    refused: tuple[str, str, str] | None = None  # (action, reason, rule)


Choose = Callable[[int, tuple[str, ...]], str | None]
_FIELDS = ("forename", "surname", "date_of_birth")  # the fields searched, as the entry shows
_ID_FIELDS = ("index_id",)
_DETAILS_KEPT = 10_000  # surnames whose entry templates are kept (about 6 MB)
_string = json.encoder.encode_basestring  # a str as canonical JSON writes it


def _templates(surname: str | None) -> tuple[str, str]:
    """The canonical JSON (sim.index.audit.event.canonical) of a search's and of a view's
    entry detail for `surname`, its parts that vary by lookup left as format fields: the
    detail as the facade's search and view entries hold it, marked as batched."""
    fixed = {
        "batched": True,
        "surname": surname,
        **surname_keys(surname),
        "mode": "exact",
        "fields": _FIELDS if surname is not None else _ID_FIELDS,
    }
    parts = {key: canonical(value).replace("{", "{{").replace("}", "}}")
             for key, value in fixed.items()}  # fmt: skip
    searched = {**parts, **{key: f"{{{key}}}" for key in ("authority", "child_ids", "matched")}}
    viewed = {**searched, **{key: f"{{{key}}}" for key in ("child_authority", "shielded")}}
    return tuple(  # type: ignore[return-value]
        "{{" + ",".join(f"{_string(key)}:{shown[key]}" for key in sorted(shown)) + "}}"
        for shown in (searched, viewed)
    )


def _text(value: str | None) -> str:
    """A string field of the detail in canonical JSON."""
    return "null" if value is None else _string(value)


def _ids(ids: tuple[str, ...]) -> str:
    return "[" + ",".join(map(_string, ids)) + "]"


def _first(_: int, hits: tuple[str, ...]) -> str | None:
    return hits[0] if hits else None


def _facade_order(hit) -> tuple[str, str, str]:
    return (hit.surname, hit.forename, hit.child_id)


class BatchLookup:
    """Batched exact lookups through one service (see the module doc)."""

    def __init__(self, service: ContactPoint, reason: str) -> None:
        if reason not in view_reasons():
            raise InputError(f"reason: {reason!r} is not one of the reasons for access")
        self.service, self.reason = service, reason
        self.cap = search_rules().result_cap.value
        # the entry templates by surname searched (`_templates`), kept from batch to batch: a
        # run's surnames recur day after day
        self._details: dict[str | None, tuple[str, str]] = {}

    def lookup(self, queries: Sequence[Query], *, choose: Choose = _first) -> list[BatchAnswer]:
        """Answer `queries` (in time order); see the module doc."""
        if not queries:
            return []
        with collection_paused():  # sim.index.gc_pause says why
            return self._lookup(queries, choose)

    def _lookup(self, queries: Sequence[Query], choose: Choose) -> list[BatchAnswer]:
        service = self.service
        sessions = service.access.sessions([(q.session_id, q.at) for q in queries])
        # each surname searched, in the form search matches it (one key per distinct surname)
        keys = {q.surname: normalise_name(q.surname) for q in queries if isinstance(q, NameQuery)}
        found = self._find(queries, keys, choose)
        guard, admit = service.guard, service.guard.admit
        events: list[AuditEvent] = []
        owners: list[int] = []  # which query each event answers (-1: an alert)
        admitted = [i for i, s in enumerate(sessions) if not isinstance(s, AccessRefused)]
        details = self._details
        if len(details) > _DETAILS_KEPT:
            details.clear()
        with guard.counters.counting() as usage:
            window = BatchWindow.covering(
                usage,
                [sessions[i].username for i in admitted],
                [queries[i].at for i in admitted],
                guard.window,
            )
            for i, (query, item, session) in enumerate(zip(queries, found, sessions, strict=True)):
                if isinstance(session, AccessRefused):
                    item.refused, item.opened = ("session", str(session), ""), None
                    item.hits, item.ids = (), ()
                    continue  # already audited by the access control
                at, user = query.at, session.username
                if isinstance(query, IdQuery):  # the ID typed, as the facade's search passes it
                    refusal = admit(window, user, "search", at, None, query.index_id)
                else:
                    refusal = admit(window, user, "search", at, keys[query.surname] or None, None)
                if refusal:
                    item.refused = ("search", *refusal)
                elif item.opened is not None:
                    refusal = admit(window, user, "view", at, None, item.opened[0])
                    item.refused = ("view", *refusal) if refusal else None
                events.append(self._event(session, query, item, details))
                owners.append(i)
                if item.refused and guard.counters.first_alert(user, at.date(), item.refused[2]):
                    rule, child = item.refused[2], events[-1].child_id
                    events.append(AuditEvent(at, user, "alert", "refused", child, rule,
                                             {"rule": rule}))  # fmt: skip
                    owners.append(-1)
            window.flush()  # the batch's uses, counted for every other process
        live = service.access.live_checks(list(dict.fromkeys(q.session_id for q in queries)))
        checks = [
            live[queries[o].session_id] if o >= 0 and event.outcome == "allowed" else None
            for event, o in zip(events, owners, strict=True)
        ]
        ended = service.audit.append_many(events, checks)
        stopped = {o: e for e, o in zip(ended, owners, strict=True) if o >= 0 and e}
        answer = self._answer
        return [answer(item, stopped.get(i)) for i, item in enumerate(found)]

    def _find(self, queries: Sequence[Query], keys: dict[str, str], choose: Choose) -> list[_Found]:
        """Every query's hits, read with one statement for the lookups by name and one for
        those by ID, and the record the practitioner opens."""
        store = self.service.store
        by_name = [i for i, q in enumerate(queries) if isinstance(q, NameQuery)]
        by_id = [i for i, q in enumerate(queries) if isinstance(q, IdQuery)]
        named = [
            (keys[q.surname], normalise_name(q.forename), q.date_of_birth.isoformat())
            for q in (queries[i] for i in by_name)
        ]
        hits_of: list = [None] * len(queries)
        for i, rows in zip(
            by_name, store.exact_name_hits_many(named) if named else [], strict=True
        ):
            hits_of[i] = rows
        ids = [queries[i].index_id.upper() for i in by_id]
        for i, rows in zip(by_id, store.id_hits_many(ids) if ids else [], strict=True):
            hits_of[i] = rows
        found = []
        cap = self.cap
        for i, rows in enumerate(hits_of):
            if len(rows) > 1:
                rows.sort(key=_facade_order)
            hits = tuple((r.child_id, r.authority_code, r.shielded, r.services) for r in rows[:cap])
            ids = tuple(h[0] for h in hits)
            picked = choose(i, ids)
            opened = None
            if picked is not None:
                opened = next((h for h in hits if h[0] == picked), None)
            found.append(_Found(hits, ids, opened))
        return found

    def _event(
        self, session, query: Query, item: _Found, details: dict[str | None, tuple[str, str]]
    ) -> AuditEvent:
        at = query.at
        if item.refused:
            action, reason, rule = item.refused
            child = item.opened[0] if item.opened and action == "view" else None
            return AuditEvent(
                at, session.username, action, "refused", child, reason, {"rule": rule}
            )
        surname = query.surname if isinstance(query, NameQuery) else None
        templates = details.get(surname)
        if templates is None:
            templates = details[surname] = _templates(surname)
        searched, viewed = templates
        authority, ids = _text(session.authority_code), _ids(item.ids)
        if item.opened is None:  # a search by ID names the ID searched, as the facade's does
            detail = searched.format(authority=authority, child_ids=ids, matched=len(item.hits))
            index_id = query.index_id.upper() if isinstance(query, IdQuery) else None
            return AuditEvent(at, session.username, "search", "allowed", index_id, None,
                              CanonicalDetail(detail))  # fmt: skip
        child_id, child_authority, shielded, _ = item.opened
        detail = viewed.format(
            authority=authority, child_ids=ids, matched=len(item.hits),
            child_authority=_text(child_authority), shielded="true" if shielded else "false",
        )  # fmt: skip
        return AuditEvent(at, session.username, "view", "allowed", child_id, self.reason,
                          CanonicalDetail(detail))  # fmt: skip

    @staticmethod
    def _answer(item: _Found, ended: str | None) -> BatchAnswer:
        if item.refused or ended:
            why = ended or (item.refused[2] or item.refused[1] if item.refused else "")
            return BatchAnswer((), None, False, 0, why)
        if item.opened is None:
            return BatchAnswer(item.ids, None, False, 0, None)
        child_id, _, shielded, services = item.opened
        return BatchAnswer(item.ids, child_id, bool(shielded), 0 if shielded else services, None)
