"""The simulated practitioners of a group of authorities at the real index: their logins,
sessions, tokens and turns, and their day's lookups in one batched call.

A `LookupDesk` answers `Ask`s (plain values: which child, whose authority, when, what the
practitioner types, which records stand for the child), so the same desk serves in the run's
own process or in a lookup worker (sim.regimes.lookup_workers) that owns its group's accounts.

Each lookup is given to the next account of the child's authority in turn; an account logs in
at its first lookup of a day and again once its session has lapsed (idle or absolute lifetime,
data/index/access.toml). The day's logins are made first, in one call (ContactPoint.login_many:
each with every check and audit entry of a single login); a lookup whose login was refused is
not made. Then every lookup, by name or by ID, goes in one batch (sim.index.batch_lookup), each
with its own access check, usage-guard check and audit entry. Every piece of state here belongs
to one account or one authority, so a desk's answers do not depend on which other authorities
share its process.
"""

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from sim.index.access import AccessRefused, LoginAttempt
from sim.index.access.rules import load_access_rules
from sim.index.access.tokens import TokenCodes
from sim.index.batch_lookup import BatchLookup, IdQuery, NameQuery, Query
from sim.index.gc_pause import collection_paused
from sim.index.service import ContactPoint
from sim.regimes.lookup import Credential, still_held

REASON = "to find out who else is working with the child"
_PENDING = "\0login:"  # stands for a session until the day's logins are made


class Ask(NamedTuple):
    """One lookup as a desk is asked it (a day's asks cross a pipe packed: `pack_asks`)."""

    child_id: str
    authority: str  # the practitioner's authority (GSS code)
    at: dt.datetime
    name: tuple[str, str, dt.date] | None  # forename, surname, date of birth; None: by ID
    records: tuple[str, ...]  # the index IDs whose record is this child's (a fed index: more)


_ORIGIN = dt.datetime(2000, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)


def pack_asks(asks: Sequence[Ask]) -> tuple[list, ...]:
    """A day's asks as columns of strings and integers (times in microseconds from an origin,
    dates of birth as ordinals, 0 for a lookup by ID): pickled and sent to a lookup worker in
    about a fifth of the time a list of Asks takes, their datetimes being the dear part."""
    named = [ask.name or ("", "", None) for ask in asks]
    return (
        [ask.child_id for ask in asks],
        [ask.authority for ask in asks],
        [(ask.at - _ORIGIN) // _MICROSECOND for ask in asks],
        [name[0] for name in named],
        [name[1] for name in named],
        [name[2].toordinal() if name[2] else 0 for name in named],
        [ask.records for ask in asks],
    )


def unpack_asks(packed: tuple[list, ...]) -> list[Ask]:
    """The asks `pack_asks` packed, as they were."""
    children, authorities, moments, forenames, surnames, births, records = packed
    date, delta = dt.date.fromordinal, dt.timedelta
    names = [
        (forename, surname, date(born)) if born else None
        for forename, surname, born in zip(forenames, surnames, births, strict=True)
    ]
    at = [_ORIGIN + delta(microseconds=moment) for moment in moments]
    return list(map(Ask, children, authorities, at, names, records))


class Answered(NamedTuple):
    """A desk's answer to a day's asks, in their order, with what it cost: by the clock,
    on the CPU, and waiting for a CPU (the rest waits on locks, the disk or the pipe)."""

    shown: list[bool]  # the lookup opened the child's record and it showed services
    refused: int  # lookups refused (the login, the search or the view)
    logins: int
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    queued_seconds: float = 0.0  # runnable but not running: other processes had the cores


def queued() -> float:
    """Seconds this thread has waited for a CPU while runnable (Linux schedstat; 0 elsewhere)."""
    try:
        with open("/proc/thread-self/schedstat") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class LookupDesk:
    """The accounts of some authorities and their state at one service (see the module doc)."""

    def __init__(self, service: ContactPoint, staff: Mapping[str, Sequence[Credential]]) -> None:
        self.service, self.staff = service, staff
        self.batch = BatchLookup(service, REASON)
        self.rules = load_access_rules()
        self._sessions: dict[str, tuple[dt.datetime, dt.datetime, str]] = {}
        self._turn: dict[str, int] = {}
        self._tokens: dict[str, TokenCodes] = {}  # each practitioner's token, as in their hand

    def answer(self, asks: Sequence[Ask]) -> Answered:
        """Answer `asks` (given in time order; each authority here has staff)."""
        started, cpu, waited = time.perf_counter(), time.process_time(), queued()
        with collection_paused():  # sim.index.gc_pause says why
            shown, refused, logins = self._answer(asks)
        return Answered(
            shown, refused, logins, time.perf_counter() - started,
            time.process_time() - cpu, queued() - waited,
        )  # fmt: skip

    def _answer(self, asks: Sequence[Ask]) -> tuple[list[bool], int, int]:
        shown = [False] * len(asks)
        attempts: list[LoginAttempt] = []
        placeholders: list[str] = []
        for ask in asks:
            staff = self.staff[ask.authority]
            turn = self._turn.get(ask.authority, 0)
            self._turn[ask.authority] = turn + 1
            placeholders.append(self._session(staff[turn % len(staff)], ask.at, attempts))
        logged_in = self._log_in(attempts)
        refused = 0
        queries: list[Query] = []
        rows: list[int] = []
        for row, (ask, placeholder) in enumerate(zip(asks, placeholders, strict=True)):
            session = logged_in.get(placeholder, placeholder)
            if session is None:  # the login was refused (and audited): no lookup
                refused += 1
                continue
            if ask.name is None:  # known only by index ID (a newborn of the run)
                queries.append(IdQuery(session, ask.child_id, ask.at))
            else:
                forename, surname, born = ask.name
                queries.append(NameQuery(session, forename, surname, born, ask.at))
            rows.append(row)
        if not queries:
            return shown, refused, len(attempts)

        def choose(k: int, hits: tuple[str, ...]) -> str | None:
            records = asks[rows[k]].records
            return next((hit for hit in hits if hit in records), None)

        for row, answer in zip(rows, self.batch.lookup(queries, choose=choose), strict=True):
            shown[row] = answer.opened is not None and not answer.shielded and answer.services > 0
            refused += answer.refused is not None
        return shown, refused, len(attempts)

    def _session(self, who: Credential, at: dt.datetime, attempts: list[LoginAttempt]) -> str:
        """The account's held session if it is still live at `at`, else a login joins the
        day's attempts and its placeholder (`_PENDING` and the attempt's number) stands in."""
        held = self._sessions.get(who.username)
        if held is not None:
            opened, used, session = held
            if still_held(opened, used, at, self.rules):
                self._sessions[who.username] = (opened, at, session)
                return session
        token = self._tokens.get(who.username)
        if token is None:
            token = self._tokens[who.username] = TokenCodes(who.token_secret, self.rules)
        code = token.code(at)
        attempts.append(LoginAttempt(who.username, who.password, who.pin, code, who.network, at))
        session = f"{_PENDING}{len(attempts) - 1}"
        self._sessions[who.username] = (at, at, session)
        return session

    def _log_in(self, attempts: list[LoginAttempt]) -> dict[str, str | None]:
        """The day's logins in one call: each placeholder's session id (None if refused)."""
        if not attempts:
            return {}
        answers = self.service.login_many(attempts)
        ids = {
            f"{_PENDING}{k}": None if isinstance(a, AccessRefused) else a
            for k, a in enumerate(answers)
        }
        for username, (opened, used, session) in list(self._sessions.items()):
            if session in ids:  # a refused login holds no session: the next lookup tries again
                if ids[session] is None:
                    del self._sessions[username]
                else:
                    self._sessions[username] = (opened, used, ids[session])
        return ids
