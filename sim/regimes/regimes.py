"""The regimes: who may look a child up, and what the lookup can tell them.

Overview: docs/architecture.md, "Regimes".

Each regime answers two vectorised questions about a day's encounters: which practitioners
have access (`access`), and what a lookup by them returns (`answer`). A regime draws no random
numbers: every uniform it uses was drawn for the encounter by sim.world.encounters, whatever the
regime, so all regimes run on the same world (common random numbers).

- none: no index; records transfers and phone-rounds only.
- contactpoint: every child; practitioners in an authority once it is live (early adopters
  from 12 May 2009, the rest from the national deployment; data/rollout/groups.toml).
- signposting: CP-IS-like flags for children on a protection plan (unborn children on a
  pre-birth plan included) or looked after, kept `flag_days_after_end` after the episode; seen
  by unscheduled care; a view notifies the owning authority, which then gets in touch (NHS
  Digital SCRa guide, docs/reference.md 7b).

A regime that does not hold unborn children (`holds_unborn`) cannot be asked about one: the
practitioner has no record to look for until the child is born and reaches the index.
- local: trailblazer-style indexes that stop at the authority border: a lookup in the new
  authority cannot show who was involved in the old one.
"""

import datetime as dt
from dataclasses import dataclass

import numpy as np

from sim.reference.authorities import load_authorities
from sim.reference.rollout import load_rollout
from sim.regimes.lookup import IndexLookup, LookupRequests
from sim.regimes.parameters import RegimeParams, regime_params
from sim.world.calendar import day_number
from sim.world.encounters import KINDS, DueEncounters, Encounters
from sim.world.state import LOOKED_AFTER, NONE, PROTECTION_PLAN

REGIMES = ("none", "contactpoint", "signposting", "local")
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
        return np.zeros(len(due), dtype=bool)

    def answer(self, due: DueEncounters, encounters: Encounters) -> Answers:
        raise AssertionError("no index: nobody has access, so nobody looks up")


class ContactPointRegime:
    """The national index, rolled out by phase, answered by an IndexLookup."""

    name = "contactpoint"
    holds_unborn = False  # children from birth only (docs/reference.md s5a)

    def __init__(self, lookup: IndexLookup, contact_days: float, params: RegimeParams) -> None:
        self.lookup, self.contact_days = lookup, contact_days
        self.kinds = _kind_mask(params.contactpoint_kinds.value)
        rollout = load_rollout()
        early = {m.code for m in rollout.early_adopters.members}
        self.live_from = np.array(
            [
                day_number(
                    rollout.early_adopters.practitioner_access_start
                    if a.code in early
                    else rollout.national.practitioner_access_start
                )
                for a in load_authorities()
            ]
        )
        self.codes = [a.code for a in load_authorities()]

    def access(self, due: DueEncounters, authority: np.ndarray) -> np.ndarray:
        return self.kinds[due.kind] & (self.live_from[authority] <= due.day)

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
                answers.found & (cases.address_known[due.case] > due.day)
                if answers.stale is None
                else answers.stale
            ),
            shielded=answers.shielded,
            refused=answers.refused,
        )


class Signposting:
    """Flags for children at risk; a view notifies the authority that owns the flag."""

    name = "signposting"
    holds_unborn = True  # on the pregnant woman's record (docs/reference.md s7b)

    def __init__(self, response_days: float, params: RegimeParams) -> None:
        self.response_days = response_days
        self.kinds = _kind_mask(params.signposting_kinds.value)
        self.keep_days = params.flag_days_after_end.value

    def access(self, due: DueEncounters, authority: np.ndarray) -> np.ndarray:
        return self.kinds[due.kind]

    def flagged(self, child: np.ndarray, day: int, encounters: Encounters) -> np.ndarray:
        """On a plan (before birth too) or looked after now, or either ended within the keep
        period."""
        care = encounters.state.children.care[child]
        ended = encounters.flag_ended[child]
        recent = (ended != NONE) & (day - ended <= self.keep_days)
        return (care == PROTECTION_PLAN) | (care == LOOKED_AFTER) | recent

    def answer(self, due: DueEncounters, encounters: Encounters) -> Answers:
        flagged = self.flagged(encounters.cases.child[due.case], due.day, encounters)
        nothing = np.zeros(len(due), dtype=bool)
        return Answers(
            flagged, self.response_days, "notification", flagged, nothing, nothing, nothing
        )


class LocalIndexes:
    """One index per authority: it knows only its own authority's involvement."""

    name = "local"
    holds_unborn = False

    def __init__(self, params: RegimeParams) -> None:
        self.kinds = _kind_mask(params.local_kinds.value)

    def access(self, due: DueEncounters, authority: np.ndarray) -> np.ndarray:
        return self.kinds[due.kind]

    def answer(self, due: DueEncounters, encounters: Encounters) -> Answers:
        cases = encounters.cases
        same = cases.from_authority[due.case] == cases.to_authority[due.case]  # never, for movers
        nothing = np.zeros(len(due), dtype=bool)
        return Answers(same, 1.0, "lookup", same, nothing, nothing, nothing)


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


def default_switch_off() -> dt.datetime:
    return regime_params().switch_off.value
