"""Every child's lookups through a run's real index: batched, each checked and audited.

With a deployment, the practitioners who meet every child (sim.regimes.population_use) look
children up in the real index through its batched call (sim.index.batch_lookup): each lookup
with its own access check, usage-guard check and audit entry, a day's lookups in one batch. A
lookup shows a record when a hit is a record of the child (for a fed index, by the record's
true child: sim.regimes.fed_index), the practitioner opens it, and it shows services (a
shielded record shows none).

Practitioners are the run's accounts in the child's authority (sim.regimes.accounts: the users
live there), each lookup (by name or by ID) given to the next account in turn; an account logs
in at its first lookup of a day and again once its session has lapsed (idle or absolute
lifetime, data/index/access.toml). The day's logins are made first, in one call
(ContactPoint.login_many: each with every check and audit entry of a single login); a lookup
whose login was refused is not made. These accounts are not those of the vulnerable movers'
case lookups (sim.regimes.lookup.FacadeLookup), whose logins run on the same day's clock in
another order: a token's code is accepted only after the last one used. A child the
practitioner knows only by index ID (a newborn of the run) is looked up by ID in the same batch.

A plain SQLite lookup (the same exact-name query, no access check, no audit) of up to
`PLAIN_SAMPLE` of each day's children is timed beside them: the cost of the safeguards.
"""

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from sim.index.access import AccessRefused, LoginAttempt
from sim.index.access.rules import load_access_rules
from sim.index.access.tokens import TokenCodes
from sim.index.batch_lookup import BatchLookup, IdQuery, NameQuery, Query
from sim.index.gc_pause import collection_paused
from sim.index.service import ContactPoint
from sim.index.store.keys import normalise_name
from sim.regimes.lookup import Credential, Identity, still_held

PLAIN_SAMPLE = 50
REASON = "to find out who else is working with the child"
_PENDING = "\0login:"  # stands for a session until the day's logins are made


class PopulationLookups:
    """Batched lookups of any child by the run's accounts (see the module doc)."""

    def __init__(
        self,
        service: ContactPoint,
        staff: Mapping[str, Sequence[Credential]],
        identity: Callable[[str], Identity | None],
        truth: Callable[[str], str] | None,
    ) -> None:
        self.service, self.staff, self.identity = service, staff, identity
        self.truth = truth or (lambda index_id: index_id)
        self.batch = BatchLookup(service, REASON)
        self._sessions: dict[str, tuple[dt.datetime, dt.datetime, str]] = {}
        self.rules = load_access_rules()
        self._turn: dict[str, int] = {}
        self._tokens: dict[str, TokenCodes] = {}  # each practitioner's token, as in their hand
        self.lookups = self.refused = self.logins = 0
        self.seconds = self.plain_seconds = 0.0  # by the clock
        self.cpu_seconds = self.plain_cpu_seconds = 0.0  # by this process's CPU time
        self.plain_lookups = 0

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
        self.logins += len(attempts)
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

    def lookup(
        self, child_ids: Sequence[str], authorities: Sequence[str], at: Sequence[dt.datetime]
    ) -> np.ndarray:
        """Whether each lookup showed a record (in any order; answered in time order: the
        day's logins first, in one call, then every lookup, by name or by ID, in one batch)."""
        started, cpu = time.perf_counter(), time.process_time()
        with collection_paused():  # sim.index.gc_pause says why
            shown = self._lookup(child_ids, authorities, at)
        self.lookups += len(child_ids)
        self.seconds += time.perf_counter() - started
        self.cpu_seconds += time.process_time() - cpu
        return shown

    def _lookup(
        self, child_ids: Sequence[str], authorities: Sequence[str], at: Sequence[dt.datetime]
    ) -> np.ndarray:
        shown = np.zeros(len(child_ids), dtype=bool)
        attempts: list[LoginAttempt] = []
        asked: list[tuple[int, str]] = []  # (row, session or placeholder), in time order
        for i in sorted(range(len(child_ids)), key=lambda i: at[i]):
            staff = self.staff.get(authorities[i], ())
            if not staff:
                continue  # nobody in this authority has an account: no lookup can be made
            turn = self._turn.get(authorities[i], 0)
            self._turn[authorities[i]] = turn + 1
            asked.append((i, self._session(staff[turn % len(staff)], at[i], attempts)))
        logged_in = self._log_in(attempts)
        queries: list[Query] = []
        rows: list[int] = []
        for i, session in asked:
            session = logged_in.get(session, session)
            if session is None:  # the login was refused (and audited): no lookup
                self.refused += 1
                continue
            person = self.identity(child_ids[i])
            if person is None:  # known only by index ID (a newborn of the run)
                queries.append(IdQuery(session, child_ids[i], at[i]))
            else:
                queries.append(
                    NameQuery(session, person.forename, person.surname, person.date_of_birth,
                              at[i])
                )  # fmt: skip
            rows.append(i)
        self._answer(queries, rows, child_ids, shown)
        return shown

    def _answer(
        self, queries: list[Query], rows: list[int], child_ids: Sequence[str], shown
    ) -> None:
        """One batched call; a lookup shows a record if the record opened is the child's."""
        if not queries:
            return
        wanted = [child_ids[i] for i in rows]

        def choose(k: int, hits: tuple[str, ...]) -> str | None:
            return next((hit for hit in hits if self.truth(hit) == wanted[k]), None)

        for row, answer in zip(rows, self.batch.lookup(queries, choose=choose), strict=True):
            shown[row] = answer.opened is not None and not answer.shielded and answer.services > 0
            self.refused += answer.refused is not None
        self._plain([q for q in queries if isinstance(q, NameQuery)][:PLAIN_SAMPLE])

    def _plain(self, queries: list[NameQuery]) -> None:
        """Time the same exact-name query straight on the index (no check, no audit)."""
        store = self.service.store
        started, cpu = time.perf_counter(), time.process_time()
        for q in queries:
            store.exact_name_hits(
                normalise_name(q.surname), normalise_name(q.forename), q.date_of_birth.isoformat()
            )
        self.plain_seconds += time.perf_counter() - started
        self.plain_cpu_seconds += time.process_time() - cpu
        self.plain_lookups += len(queries)
