"""The regimes: who may look a child up, and what the lookup can tell them.

Overview: docs/architecture.md, "Regimes".

Each regime answers two vectorised questions about a day's encounters: what share of the
practitioners at them can use it (`access`: 0 or 1, or the share whose accounts were live), and
what a lookup by them returns (`answer`). A regime draws no random numbers: every uniform it
uses was drawn for the encounter by sim.world.encounters, whatever the regime, so all regimes
run on the same world (common random numbers).

- none: no index; records transfers and phone-rounds only.
- contactpoint (as planned): every child; every practitioner of the served kinds in an
  authority once it is live (early adopters from 12 May 2009, the rest from the national
  deployment; data/rollout/groups.toml).
- contactpoint_as_it_was: the same index, but only the practitioners whose accounts were live
  (about 550 early-adopter users in May 2009 rising to about 15,000 at the switch-off, of
  390,000 planned), the national feeds paused from June 2010 (a lookup then sees the old
  address), and no access from the switch-off at noon on 6 August 2010 (docs/reference.md 5).
- signposting_2010: the service proposed in July 2010: children known to social care (the care
  statuses of `signposting_2010_care`), queried by social workers, police and unscheduled care;
  it answers which authority worked with the child, who is then contacted.
- cp_is: CP-IS as built from 2014: flags for children on a protection plan (unborn children on
  a pre-birth plan included) or looked after, kept `flag_days_after_end` after the episode; seen
  by unscheduled care; a view notifies the owning authority, which then gets in touch (NHS
  Digital SCRa guide, docs/reference.md 7b).
- local: trailblazer-style indexes, one per authority or shared by a consortium (Leicester,
  Leicestershire and Rutland; Telford and Wrekin with Shropshire): a lookup shows who was
  involved only if the child came from an authority sharing the index.

A regime that does not hold unborn children (`holds_unborn`) cannot be asked about one: the
practitioner has no record to look for until the child is born and reaches the index.
"""

import datetime as dt
from dataclasses import dataclass

import numpy as np

from sim.reference.authorities import load_authorities
from sim.reference.rollout import load_rollout
from sim.regimes.lookup import IndexLookup, LookupRequests
from sim.regimes.parameters import RegimeParams
from sim.world.calendar import day_number
from sim.world.encounters import CARE_STATUSES, KINDS, DueEncounters, Encounters
from sim.world.state import LOOKED_AFTER, NONE, PROTECTION_PLAN

REGIMES = (
    "none",
    "contactpoint",
    "contactpoint_as_it_was",
    "signposting_2010",
    "cp_is",
    "local",
)
NEVER = np.iinfo(np.int32).max


@dataclass(frozen=True)
class Answers:
    """What lookups returned: whether they reconnect, and what the metrics need to know."""

    reconnects: np.ndarray
    delay_mean_days: float
    path: str  # 'lookup' or 'notification'
    found: np.ndarray
    stale: np.ndarray
    shielded: np.ndarray
    refused: np.ndarray


def _kind_mask(names: list[str]) -> np.ndarray:
    return np.array([kind in names for kind in KINDS])


class NoIndex:
    name = "none"
    holds_unborn = False

    def access(self, due: DueEncounters, authority: np.ndarray) -> np.ndarray:
        return np.zeros(len(due))

    def answer(self, due: DueEncounters, encounters: Encounters) -> Answers:
        raise AssertionError("no index: nobody has access, so nobody looks up")

    def shows_record(self, children: np.ndarray, day: int, u_find: np.ndarray, use) -> np.ndarray:
        """Whether a lookup of these present children shows a record (population_use)."""
        return np.zeros(len(children), dtype=bool)


class ContactPointRegime:
    """The national index as planned, rolled out by phase, answered by an IndexLookup."""

    name = "contactpoint"
    holds_unborn = False  # children from birth only (docs/reference.md 5a)

    def __init__(self, lookup: IndexLookup, contact_days: float, params: RegimeParams) -> None:
        self.lookup, self.contact_days = lookup, contact_days
        self.kinds = _kind_mask(params.contactpoint_kinds.value)
        rollout = load_rollout()
        early = {m.code for m in rollout.early_adopters.members}
        self.codes = [a.code for a in load_authorities()]
        self.early = np.array([code in early for code in self.codes])
        self.live_from = np.where(
            self.early,
            day_number(rollout.early_adopters.practitioner_access_start),
            day_number(rollout.national.practitioner_access_start),
        )

    def access(self, due: DueEncounters, authority: np.ndarray) -> np.ndarray:
        return (self.kinds[due.kind] & (self.live_from[authority] <= due.day)).astype(float)

    def users_share(self, day: int) -> np.ndarray:
        """Share of each authority's planned users who can see records on `day`."""
        return (self.live_from <= day).astype(float)

    def stale(self, due: DueEncounters, encounters: Encounters, found: np.ndarray) -> np.ndarray:
        return found & (encounters.cases.address_known[due.case] > due.day)

    def shows_record(self, children: np.ndarray, day: int, u_find: np.ndarray, use) -> np.ndarray:
        return use.found(u_find)  # every child from birth is on it

    def answer(self, due: DueEncounters, encounters: Encounters) -> Answers:
        cases = encounters.cases
        child = cases.child[due.case]
        ids = encounters.state.children.child_id[child].astype(str)
        answers = self.lookup.lookup(
            LookupRequests(
                child_id=list(ids),
                authority=[self.codes[a] for a in cases.to_authority[due.case]],
                at=due.at(),
                u_find=due.u_find,
                shielded=cases.shielded[due.case],
            )
        )
        known = cases.involvement_known[due.case] <= due.day
        return Answers(
            reconnects=answers.contacts_shown & known,
            delay_mean_days=self.contact_days,
            path="lookup",
            found=answers.found,
            stale=(
                self.stale(due, encounters, answers.found)
                if answers.stale is None
                else answers.stale
            ),
            shielded=answers.shielded,
            refused=answers.refused,
        )


class ContactPointAsItWas(ContactPointRegime):
    """ContactPoint as it ran: few live users, the national feeds paused, then switched off.

    Live users follow `users_live` at `users_live_dates` (linear between): up to the second
    date they are the early adopters' users, in the early-adopter authorities; after it the
    increase is spread over every authority in proportion to its planned users (its children).
    """

    name = "contactpoint_as_it_was"

    def __init__(self, lookup: IndexLookup, contact_days: float, params: RegimeParams) -> None:
        super().__init__(lookup, contact_days, params)
        children = np.array([a.children_0_17 for a in load_authorities()], dtype=float)
        planned = float(params.contactpoint_users.value)
        self.dates = np.array([day_number(d) for d in params.users_live_dates.value])
        self.users = np.asarray(params.users_live.value, dtype=float)
        early_planned = planned * children[self.early].sum() / children.sum()
        self.early_share = min(1.0, self.users[0] / early_planned) if early_planned else 0.0
        self.planned = planned
        self.paused = day_number(params.national_feeds_paused.value)
        off = params.switch_off.value
        self.off_minute = day_number(off.date()) * 1440 + off.hour * 60 + off.minute

    def users_share(self, day: int) -> np.ndarray:
        if day < self.dates[0] or day * 1440 >= self.off_minute:
            return np.zeros(len(self.early))
        live = float(np.interp(day, self.dates, self.users))
        spread = max(0.0, live - self.users[0]) / self.planned if day >= self.dates[1] else 0.0
        return np.minimum(1.0, self.early * self.early_share + spread)

    def access(self, due: DueEncounters, authority: np.ndarray) -> np.ndarray:
        share = self.users_share(due.day)[authority]
        before_off = due.day * 1440 + due.minute < self.off_minute
        return self.kinds[due.kind] * share * before_off

    def stale(self, due: DueEncounters, encounters: Encounters, found: np.ndarray) -> np.ndarray:
        """Moves after the national feeds paused never reach the index: the old address stays."""
        opened = encounters.cases.opened[due.case]
        return super().stale(due, encounters, found) | (found & (opened >= self.paused))


class Signposting2010:
    """The 2010 proposal: an index of children known to social care, naming the authority."""

    name = "signposting_2010"
    holds_unborn = False

    def __init__(self, miss_rate: float, contact_days: float, params: RegimeParams) -> None:
        self.miss_rate, self.contact_days = miss_rate, contact_days
        self.kinds = _kind_mask(params.signposting_2010_kinds.value)
        self.care = np.array([c in params.signposting_2010_care.value for c in CARE_STATUSES])

    def access(self, due: DueEncounters, authority: np.ndarray) -> np.ndarray:
        return self.kinds[due.kind].astype(float)

    def held(self, care: np.ndarray) -> np.ndarray:
        """Whether children with these care codes (sim.world.state) are on the index."""
        return self.care[np.asarray(care, dtype=np.int64)]

    def shows_record(self, children: np.ndarray, day: int, u_find: np.ndarray, use) -> np.ndarray:
        return self.held(use.state.children.care[children]) & use.found(u_find)

    def answer(self, due: DueEncounters, encounters: Encounters) -> Answers:
        cases = encounters.cases
        held = self.held(cases.care[due.case]) & (cases.involvement_known[due.case] <= due.day)
        found = held & (due.u_find >= self.miss_rate)
        nothing = np.zeros(len(due), dtype=bool)
        return Answers(found, self.contact_days, "lookup", found, nothing, nothing, nothing)


class CpIs:
    """CP-IS: flags for children at risk; a view notifies the authority that owns the flag."""

    name = "cp_is"
    holds_unborn = True  # on the pregnant woman's record (docs/reference.md 7b)

    def __init__(self, response_days: float, params: RegimeParams) -> None:
        self.response_days = response_days
        self.kinds = _kind_mask(params.cp_is_kinds.value)
        self.keep_days = params.flag_days_after_end.value

    def access(self, due: DueEncounters, authority: np.ndarray) -> np.ndarray:
        return self.kinds[due.kind].astype(float)

    def flagged(self, child: np.ndarray, day: int, encounters: Encounters) -> np.ndarray:
        """On a plan (before birth too) or looked after now, or either ended within the keep
        period."""
        care = encounters.state.children.care[child]
        ended = encounters.flag_ended[child]
        recent = (ended != NONE) & (day - ended <= self.keep_days)
        return (care == PROTECTION_PLAN) | (care == LOOKED_AFTER) | recent

    def shows_record(self, children: np.ndarray, day: int, u_find: np.ndarray, use) -> np.ndarray:
        return self.flagged(children, day, use.encounters)

    def answer(self, due: DueEncounters, encounters: Encounters) -> Answers:
        flagged = self.flagged(encounters.cases.child[due.case], due.day, encounters)
        nothing = np.zeros(len(due), dtype=bool)
        return Answers(
            flagged, self.response_days, "notification", flagged, nothing, nothing, nothing
        )


def consortium_of(params: RegimeParams) -> np.ndarray:
    """Each authority's local index: its own ordinal, or the first member of its consortium."""
    ordinal = {a.code: i for i, a in enumerate(load_authorities())}
    group = np.arange(len(ordinal))
    for members in params.local_consortia.value:
        rows = [ordinal[code] for code in members if code in ordinal]
        group[rows] = min(rows)
    return group


class LocalIndexes:
    """One index per authority or consortium: it knows only its own members' involvement."""

    name = "local"
    holds_unborn = False

    def __init__(self, miss_rate: float, contact_days: float, params: RegimeParams) -> None:
        self.miss_rate, self.contact_days = miss_rate, contact_days
        self.kinds = _kind_mask(params.local_kinds.value)
        self.group = consortium_of(params)

    def access(self, due: DueEncounters, authority: np.ndarray) -> np.ndarray:
        return self.kinds[due.kind].astype(float)

    def shows_record(self, children: np.ndarray, day: int, u_find: np.ndarray, use) -> np.ndarray:
        return use.found(u_find)  # the child lives here: on this authority's index

    def answer(self, due: DueEncounters, encounters: Encounters) -> Answers:
        cases = encounters.cases
        shared = (
            self.group[cases.from_authority[due.case]] == self.group[cases.to_authority[due.case]]
        )
        found = shared & (due.u_find >= self.miss_rate)
        known = found & (cases.involvement_known[due.case] <= due.day)
        nothing = np.zeros(len(due), dtype=bool)
        return Answers(known, self.contact_days, "lookup", found, nothing, nothing, nothing)


class Schedule:
    """Regimes switched on dates: `steps` is [(from, regime)], the first from the run's start."""

    def __init__(self, name: str, steps: list[tuple[dt.datetime, object]]) -> None:
        if not steps:
            raise ValueError("a schedule needs at least one regime")
        self.name = name
        self.regimes = [regime for _, regime in steps]
        self.starts = np.array([_minutes(at) for at, _ in steps], dtype=np.int64)
        if np.any(np.diff(self.starts) < 0):
            raise ValueError("schedule steps must be in date order")

    def index_at(self, day: int, minute: np.ndarray) -> np.ndarray:
        """Which step is in force at each minute of `day`."""
        at = day * 1440 + np.asarray(minute, dtype=np.int64)
        return np.maximum(np.searchsorted(self.starts, at, side="right") - 1, 0)

    def in_force(self, day: int, minute: int = 720):
        return self.regimes[int(self.index_at(day, np.array([minute]))[0])]


def _minutes(at: dt.datetime | dt.date) -> int:
    if not isinstance(at, dt.datetime):
        at = dt.datetime.combine(at, dt.time())
    return day_number(at.date()) * 1440 + at.hour * 60 + at.minute
