"""How a regime asks an index about children: one protocol, the real facade or a model of it.

`FacadeLookup` drives the real index through the agreed facade (sim.index.service.ContactPoint,
see docs/index-design.md): a practitioner logs in once a day with username, password, PIN and the
token's current code from an accredited network, searches by name and date of birth, and opens the
child's record with a stated reason; every step is audited by the index itself. A shielded child's
record shows no contacts (SI 2007/2182 reg 6(5)-(6)), so such a lookup cannot reconnect.

`ModelledIndex` answers the same questions from parameters (a search miss rate and the share of
shielded records, data/regimes/paths.toml) when no deployment is given: fast at England scale,
and clearly a model, recorded as such in the run's manifest.
"""

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from sim.errors import WorkbenchError
from sim.index.access.rules import AccessRules, load_access_rules
from sim.index.access.tokens import token_code


@dataclass(frozen=True)
class LookupRequests:
    """Children to look up, one per encounter, with who looks and when."""

    child_id: Sequence[str]
    authority: Sequence[str]  # the practitioner's authority (GSS code)
    at: Sequence[dt.datetime]
    u_find: np.ndarray  # a modelled index's search-miss quantile
    shielded: np.ndarray  # a modelled index's shield flags

    def __len__(self) -> int:
        return len(self.child_id)


@dataclass(frozen=True)
class LookupAnswers:
    found: np.ndarray  # the child was found and the record opened
    contacts_shown: np.ndarray  # the record showed the services involved (not shielded)
    shielded: np.ndarray
    refused: np.ndarray  # the index refused a login, search or view
    stale: np.ndarray | None = None  # the index still held the old authority (None: modelled)
    opened: list[str | None] | None = None  # the index ID of the record opened (real index)


class Shown:
    """Lookups asked of an index: `result()` waits for what each showed, once, and keeps it
    (a real index's lookup workers answer while the run goes on: sim.regimes.lookup_workers)."""

    def __init__(self, finish: Callable[[], np.ndarray]) -> None:
        self._finish: Callable[[], np.ndarray] | None = finish
        self._shown: np.ndarray | None = None

    @classmethod
    def ready(cls, shown: np.ndarray) -> "Shown":
        answers = cls(lambda: shown)
        answers._shown, answers._finish = shown, None
        return answers

    @property
    def pending(self) -> bool:
        return self._finish is not None

    def result(self) -> np.ndarray:
        if self._finish is not None:
            self._shown, self._finish = self._finish(), None
        assert self._shown is not None
        return self._shown


class IndexLookup(Protocol):
    backend: str

    def lookup(self, requests: LookupRequests) -> LookupAnswers: ...


class ModelledIndex:
    """The index as parameters: found unless the search misses; contacts unless shielded."""

    backend = "modelled"

    def __init__(self, search_miss_rate: float) -> None:
        self.search_miss_rate = search_miss_rate

    def lookup(self, requests: LookupRequests) -> LookupAnswers:
        found = np.asarray(requests.u_find) >= self.search_miss_rate
        shielded = np.asarray(requests.shielded, dtype=bool)
        return LookupAnswers(found, found & ~shielded, found & shielded, np.zeros(len(found), bool))


class ContactPointService(Protocol):
    """The part of the facade (docs/index-design.md) a simulated practitioner uses."""

    def login(
        self,
        username: str,
        password: str,
        pin: str,
        token_code: str,
        *,
        network: str,
        now: dt.datetime,
    ) -> str: ...

    def search(self, session_id: str, query: Mapping[str, Any], *, now: dt.datetime) -> Any: ...

    def view(self, session_id: str, child_id: str, reason: str, *, now: dt.datetime) -> Any: ...

    def logout(self, session_id: str, *, now: dt.datetime) -> None: ...


@dataclass(frozen=True)
class Credential:
    """A practitioner's login: what `cpw deploy` writes to DEPLOYMENT.credentials.json."""

    username: str
    password: str
    pin: str
    token_secret: str
    authority: str
    network: str


@dataclass(frozen=True)
class Identity:
    forename: str
    surname: str
    date_of_birth: dt.date


@dataclass
class FacadeLookup:
    """Lookups through the real facade: search, then view with a reason, in time order.

    A practitioner logs in at the first lookup of a session and again once the session has
    lapsed (idle or absolute lifetime, data/index/access.toml) or the day has changed.
    """

    service: ContactPointService
    practitioners: Mapping[str, Sequence[Credential]]  # by authority code
    identity: Callable[[str], Identity | None]
    reason: str = "to find out who else is working with the child"
    backend: str = "facade"
    # the true child of a hit's record (a fed index issues new IDs); None: the hit's own ID
    truth: Callable[[str], str] | None = None
    _sessions: dict[str, tuple[dt.datetime, dt.datetime, str]] = field(
        default_factory=dict, init=False
    )

    def lookup(self, requests: LookupRequests) -> LookupAnswers:
        n = len(requests)
        found, shown, shielded, refused = (np.zeros(n, bool) for _ in range(4))
        opened: list[str | None] = [None] * n
        # In time order: a token code is accepted only after the last one used (RFC 6238).
        for i in sorted(range(n), key=lambda i: requests.at[i]):
            staff = self.practitioners.get(requests.authority[i], ())
            if not staff:
                refused[i] = True  # nobody in this authority has an account
                continue
            who = staff[i % len(staff)]
            try:
                view = self._one(who, requests.child_id[i], requests.at[i])
            except WorkbenchError:
                refused[i] = True
                continue
            if view is None:
                continue  # not found: not (yet) in the index, or the search missed
            found[i], shielded[i] = True, bool(view.shielded)
            shown[i] = not view.shielded and len(view.services) > 0
            opened[i] = view.index_id
        return LookupAnswers(found, shown, shielded, refused, opened=opened)

    def _one(self, who: Credential, child_id: str, now: dt.datetime):
        session = self._session(who, now)
        person = self.identity(child_id)
        if person is None:  # a newborn of the simulation: practitioners know only the ID
            query: dict[str, Any] = {"index_id": child_id}
        else:
            query = {
                "forename": person.forename,
                "surname": person.surname,
                "date_of_birth": person.date_of_birth,
            }
        result = self.service.search(session, query, now=now)
        truth = self.truth or (lambda index_id: index_id)
        mine = [hit.child_id for hit in result.hits if truth(hit.child_id) == child_id]
        if not mine:
            return None  # not held, held under other details, or the search missed it
        return self.service.view(session, mine[0], self.reason, now=now)

    def _session(self, who: Credential, now: dt.datetime) -> str:
        rules = load_access_rules()
        held = self._sessions.get(who.username)
        if held is not None:
            opened, used, session = held
            if still_held(opened, used, now, rules):
                self._sessions[who.username] = (opened, now, session)
                return session
            # the session may have lapsed already: then there is nothing to end
            with contextlib.suppress(WorkbenchError):
                self.service.logout(session, now=now)
        code = token_code(who.token_secret, now, rules)
        session = self.service.login(
            who.username, who.password, who.pin, code, network=who.network, now=now
        )
        self._sessions[who.username] = (now, now, session)
        return session


def still_held(opened: dt.datetime, used: dt.datetime, at: dt.datetime, rules: AccessRules) -> bool:
    """Whether a simulated practitioner still holds, at `at`, the session opened at `opened`
    and last used at `used`: the same day, within its idle and absolute lifetimes
    (data/index/access.toml); otherwise the practitioner logs in again."""
    idle = dt.timedelta(minutes=rules.session_idle_minutes.value)
    lifetime = dt.timedelta(hours=rules.session_absolute_hours.value)
    return opened.date() == at.date() and at - used < idle and at - opened < lifetime


def practitioner_credentials(path: Path) -> dict[str, list[Credential]]:
    """Practitioners' logins by authority from a `cpw deploy` credentials file (JSON)."""
    users = json.loads(Path(path).read_text())["users"]
    found: dict[str, list[Credential]] = {}
    for user in sorted(users.values(), key=lambda u: u["username"]):
        if user["role"] != "practitioner" or not user.get("authority_code"):
            continue
        found.setdefault(user["authority_code"], []).append(
            Credential(
                username=user["username"],
                password=user["password"],
                pin=user["pin"],
                token_secret=user["token_secret"],
                authority=user["authority_code"],
                network=user["network"],
            )
        )
    return found


Typed = tuple[str, str, dt.date]  # forename, surname, date of birth, as a practitioner types them


class Identities:
    """What a practitioner would type for each child of a population: name and date of birth.

    Held as sorted columns, not a dict of objects, so England's 11 M children fit (~0.4 GB).
    Called with a child ID, one child's; `typed` answers a day's children in one pass."""

    def __init__(self, children: pl.DataFrame) -> None:
        table = children.select("child_id", "forename", "surname", "date_of_birth").sort("child_id")
        self._ids = np.array(table["child_id"].to_list(), dtype="S9")
        self._forenames, self._surnames = table["forename"], table["surname"]
        self._born = table["date_of_birth"]

    def __call__(self, child_id: str) -> Identity | None:
        typed = self.typed([child_id])[0]
        return None if typed is None else Identity(*typed)

    def typed(self, child_ids: Sequence[str]) -> list[Typed | None]:
        """What is typed for each of `child_ids`, None for a child not in the population (a
        newborn of the run, known only by ID): the IDs searched in one pass, where one at a
        time each search costs more than the three values it finds."""
        if not child_ids or not len(self._ids):
            return [None] * len(child_ids)
        keys = np.array([child_id.encode() for child_id in child_ids])
        rows = np.minimum(np.searchsorted(self._ids, keys), len(self._ids) - 1)
        held = self._ids[rows] == keys
        forenames, surnames, born = self._forenames, self._surnames, self._born
        return [
            (forenames[row], surnames[row], born[row]) if ok else None
            for row, ok in zip(rows.tolist(), held.tolist(), strict=True)
        ]
