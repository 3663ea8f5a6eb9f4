"""Every child's lookups through a run's real index: batched, each checked and audited.

With a deployment, the practitioners who meet every child (sim.regimes.population_use) look
children up in the real index through its batched call (sim.index.batch_lookup): each lookup
with its own access check, usage-guard check and audit entry, a day's lookups in one batch. A
lookup shows a record when a hit is a record of the child (for a fed index, by the record's
true child: sim.regimes.fed_index), the practitioner opens it, and it shows services (a
shielded record shows none).

Practitioners are the run's accounts in the child's authority (sim.regimes.accounts: the users
live there), each lookup given to the next account in turn; an account logs in at its first
lookup of a day and again once its session has lapsed (idle or absolute lifetime,
data/index/access.toml). These accounts are not those of the vulnerable movers' case lookups
(sim.regimes.lookup.FacadeLookup), whose logins run on the same day's clock in another order: a
token's code is accepted only after the last one used. A child the practitioner knows only by
index ID (a newborn of the run) is looked up through the facade's search by ID instead.

A plain SQLite lookup (the same exact-name query, no access check, no audit) of up to
`PLAIN_SAMPLE` of each day's children is timed beside them: the cost of the safeguards.
"""

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from sim.index.access import token_code
from sim.index.access.rules import load_access_rules
from sim.index.batch_lookup import BatchLookup, NameQuery
from sim.index.service import ContactPoint
from sim.index.store.keys import normalise_name
from sim.regimes.lookup import Credential, FacadeLookup, Identity, LookupRequests

PLAIN_SAMPLE = 50
REASON = "to find out who else is working with the child"


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
        # lookups by ID share the accounts' sessions (same layout as FacadeLookup's)
        self.by_id = FacadeLookup(service, staff, identity, truth=truth, _sessions=self._sessions)
        self.rules = load_access_rules()
        self.idle = dt.timedelta(minutes=self.rules.session_idle_minutes.value)
        self.lifetime = dt.timedelta(hours=self.rules.session_absolute_hours.value)
        self._turn: dict[str, int] = {}
        self.lookups = self.refused = self.logins = 0
        self.seconds = self.plain_seconds = 0.0
        self.plain_lookups = 0

    def _session(self, who: Credential, at: dt.datetime) -> str:
        held = self._sessions.get(who.username)
        if held is not None:
            opened, used, session = held
            if opened.date() == at.date() and at - used < self.idle and at - opened < self.lifetime:
                self._sessions[who.username] = (opened, at, session)
                return session
        code = token_code(who.token_secret, at, self.rules)
        session = self.service.login(
            who.username, who.password, who.pin, code, network=who.network, now=at
        )
        self.logins += 1
        self._sessions[who.username] = (at, at, session)
        return session

    def lookup(
        self, child_ids: Sequence[str], authorities: Sequence[str], at: Sequence[dt.datetime]
    ) -> np.ndarray:
        """Whether each lookup showed a record (in any order; answered in time order: the
        named lookups batched, each lookup by ID through the facade between batches)."""
        started = time.perf_counter()
        shown = np.zeros(len(child_ids), dtype=bool)
        queries: list[NameQuery] = []
        rows: list[int] = []
        for i in sorted(range(len(child_ids)), key=lambda i: at[i]):
            person = self.identity(child_ids[i])
            if person is None:  # known only by index ID: the facade's search by ID, in turn
                self._answer(queries, rows, child_ids, shown)
                queries, rows = [], []
                asked = LookupRequests([child_ids[i]], [authorities[i]], [at[i]], np.ones(1),
                                       np.zeros(1, bool))  # fmt: skip
                answer = self.by_id.lookup(asked)
                shown[i] = answer.contacts_shown[0]
                self.refused += int(answer.refused[0])
                continue
            staff = self.staff.get(authorities[i], ())
            if not staff:
                continue  # nobody in this authority has an account: no lookup can be made
            turn = self._turn.get(authorities[i], 0)
            self._turn[authorities[i]] = turn + 1
            session = self._session(staff[turn % len(staff)], at[i])
            queries.append(
                NameQuery(session, person.forename, person.surname, person.date_of_birth, at[i])
            )
            rows.append(i)
        self._answer(queries, rows, child_ids, shown)
        self.lookups += len(child_ids)
        self.seconds += time.perf_counter() - started
        return shown

    def _answer(
        self, queries: list[NameQuery], rows: list[int], child_ids: Sequence[str], shown
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
        self._plain(queries[:PLAIN_SAMPLE])

    def _plain(self, queries: list[NameQuery]) -> None:
        """Time the same exact-name query straight on the index (no check, no audit)."""
        store = self.service.store
        started = time.perf_counter()
        for q in queries:
            store.exact_name_hits(
                normalise_name(q.surname), normalise_name(q.forename), q.date_of_birth.isoformat()
            )
        self.plain_seconds += time.perf_counter() - started
        self.plain_lookups += len(queries)
