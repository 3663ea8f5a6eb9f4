"""Vulnerable movers and the practitioners they meet in their new authority.

A child with open social-care involvement (child in need, protection plan, looked after, CAF
or a lead professional) who moves to another authority opens a *case* (docs/architecture.md, "The
lost child"); so does an unborn child on a pre-birth plan whose family moves, whose encounters
until birth are the mother's (unscheduled care, police, antenatal health visits). For
`follow_days` the case meets practitioners: school admissions and GP registrations are the
world's own school_change and gp_change events; unscheduled care, police, health visitors and
youth offending teams are Poisson processes at the rates of data/regimes/encounters.toml; a
social worker in the new authority meets the child at a referral or assessment, with a chance
and a delay that depend on the child's care status.

Every random number a regime may need is drawn here, for every case and encounter, whatever
any regime later does with it (docs/architecture.md, "Common random numbers"): so every regime sees
the same cases, the same encounters and the same uniforms, and only what it decides differs.
The draws come from their own stream, beside the world's subsystems, and never shift them.
"""

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from typing import Annotated

import numpy as np
from pydantic import Field, field_validator

from sim.reference.params import Param, ParamFile, load_params
from sim.streams import stream
from sim.world.calendar import DAYS_PER_YEAR, approximate_ages
from sim.world.events import Episode, Event, EventBatch
from sim.world.sampling import Agenda, exponential_days
from sim.world.state import NO_CARE, NONE, PRESENT, UNBORN, Columns

ENCOUNTERS_FILE = "regimes/encounters.toml"
ENCOUNTER_STREAM = 101  # key under the 'world' stream, clear of the world's subsystems (1-10)
PATHS_FILE = "regimes/paths.toml"


class Kind(IntEnum):
    SCHOOL_ADMISSION = 0
    GP_REGISTRATION = 1
    UNSCHEDULED_CARE = 2
    POLICE = 3
    HEALTH_VISITOR = 4
    YOUTH_OFFENDING = 5
    SOCIAL_WORKER = 6


KINDS = tuple(k.name.lower() for k in Kind)
Rate = Annotated[float, Field(ge=0.0)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
CARE_STATUSES = (
    "lead_professional",
    "caf",
    "child_in_need",
    "child_protection_plan",
    "looked_after",
)


def per_care_status(param: Param[list]) -> Param[list]:
    """A list with one value per care status, in CARE_STATUSES order (the state's care codes)."""
    if len(param.value) != len(CARE_STATUSES):
        raise ValueError(f"give one value per care status {list(CARE_STATUSES)}")
    return param


class EncounterParams(ParamFile):
    kinds: Param[list[str]]
    unscheduled_care_per_year: Param[Rate]
    police_per_year: Param[Rate]
    health_visitor_per_year: Param[Rate]
    health_visitor_age_limit: Param[Annotated[int, Field(ge=1, le=18)]]
    youth_offending_per_year: Param[Rate]
    youth_offending_min_age: Param[Annotated[int, Field(ge=0, le=18)]]
    social_worker_share: Param[list[Share]]
    social_worker_days: Param[Annotated[float, Field(gt=0.0)]]
    population_police_per_year: Param[Rate]
    population_youth_offending_per_year: Param[Rate]
    enquiry_share: Param[list[Share]]
    follow_days: Param[Annotated[int, Field(ge=91, le=730)]]

    @field_validator("kinds")
    @classmethod
    def _known(cls, param: Param[list[str]]) -> Param[list[str]]:
        if tuple(param.value) != KINDS:
            raise ValueError(f"kinds must be {list(KINDS)} in this order")
        return param

    _by_care = field_validator("social_worker_share")(per_care_status)

    @field_validator("enquiry_share")
    @classmethod
    def _per_kind(cls, param: Param[list[float]]) -> Param[list[float]]:
        if len(param.value) != len(KINDS):
            raise ValueError(f"give one value per encounter kind {list(KINDS)}")
        return param


@cache
def encounter_params() -> EncounterParams:
    return load_params(ENCOUNTERS_FILE, EncounterParams)


CASE_COLUMNS = {
    "child": np.int32,
    "opened": np.int32,
    "from_authority": np.int16,
    "to_authority": np.int16,
    "care": np.int8,
    "lead_professional": bool,
    "token": np.int32,  # the child's move count at the move: a later move ends the case
    "involvement_known": np.int32,  # day the old involvement reaches the index (local feeds)
    "address_known": np.int32,  # day the new address reaches the index (national feeds)
    "transfer": np.int32,  # day the old authority's records arrive, NONE if never
    "shielded": bool,  # for a modelled index; a real index knows its own shields
    "unborn": bool,  # unborn at the move, on a pre-birth plan (sim.world.pregnancy)
}


@dataclass(frozen=True)
class DueEncounters:
    """One day's encounters of followed cases, each with its uniforms in [0, 1)."""

    day: int
    case: np.ndarray
    kind: np.ndarray
    minute: np.ndarray  # minute of the day the encounter happens
    u_look: np.ndarray  # decides whether a practitioner with access looks up
    u_find: np.ndarray  # decides a modelled index's search miss
    u_phone: np.ndarray  # decides whether a practitioner rings round
    u_delay: np.ndarray  # the quantile of whatever delay follows

    def __len__(self) -> int:
        return len(self.case)

    def at(self) -> list[dt.datetime]:
        """The encounters' times, for an index API that takes `now`."""
        base = dt.datetime(1970, 1, 1) + dt.timedelta(days=self.day)
        return [base + dt.timedelta(minutes=int(m)) for m in self.minute]

    def take(self, rows: np.ndarray) -> "DueEncounters":
        """The encounters at `rows` (indices or a boolean mask), with their own uniforms."""
        return DueEncounters(
            day=self.day,
            case=self.case[rows],
            kind=self.kind[rows],
            minute=self.minute[rows],
            u_look=self.u_look[rows],
            u_find=self.u_find[rows],
            u_phone=self.u_phone[rows],
            u_delay=self.u_delay[rows],
        )


class Encounters:
    """Listens to the world, opens cases for vulnerable movers, and schedules their encounters."""

    def __init__(self, world) -> None:
        context = world.context
        self.state = context.state
        self.params = world.context.params.encounters
        self.delays = world.context.params.paths
        self.rng = stream(context.seed, "world", context.replication, ENCOUNTER_STREAM)
        self.cases = Columns(CASE_COLUMNS, 0, 1024)
        self.case_of = np.full(self.state.children.child_id.shape[0], NONE, dtype=np.int32)
        self.flag_ended = np.full(self.state.children.child_id.shape[0], NONE, dtype=np.int32)
        self.opened_today: list[np.ndarray] = []
        self._agenda = Agenda(context.last_day)
        self._uniforms = np.zeros((1024, 5))  # encounter id -> its five uniforms
        self._count = 0
        world.subscribe(self.on_batch)

    # --- listening -----------------------------------------------------------------------

    def on_batch(self, batch: EventBatch) -> None:
        self._grow()
        if batch.event == Event.MOVE:
            crossed = batch.column("from_authority") != batch.column("authority")
            self._open(batch.day, batch.child[crossed], batch.column("from_authority")[crossed])
        elif batch.event in (Event.SCHOOL_CHANGE, Event.GP_CHANGE):
            school = batch.event == Event.SCHOOL_CHANGE
            kind = Kind.SCHOOL_ADMISSION if school else Kind.GP_REGISTRATION
            case = self.case_of[batch.child]
            case = case[case != NONE]
            case = case[self.followed(case, batch.day)]
            self._schedule(np.full(len(case), batch.day), case, np.full(len(case), int(kind)))
        elif batch.event == Event.EPISODE_END:
            episode = batch.column("episode")
            ended = np.isin(episode, [Episode.CHILD_PROTECTION_PLAN, Episode.LOOKED_AFTER])
            self.flag_ended[batch.child[ended]] = batch.day

    def _grow(self) -> None:
        size = self.state.children.child_id.shape[0]
        if len(self.case_of) < size:
            for name in ("case_of", "flag_ended"):
                grown = np.full(size, NONE, dtype=np.int32)
                old = getattr(self, name)
                grown[: len(old)] = old
                setattr(self, name, grown)

    def _open(self, day: int, rows: np.ndarray, before: np.ndarray) -> None:
        c = self.state.children
        vulnerable = (c.care[rows] != NO_CARE) | c.lead_professional[rows]
        rows, before = rows[vulnerable], before[vulnerable]
        n = len(rows)
        if not n:
            return
        d = self.delays
        cases = self.cases.add(n)
        self.cases.child[cases] = rows
        self.cases.opened[cases] = day
        self.cases.from_authority[cases] = before
        self.cases.to_authority[cases] = c.authority[rows]
        self.cases.care[cases] = c.care[rows]
        self.cases.lead_professional[cases] = c.lead_professional[rows]
        self.cases.token[cases] = c.moves[rows]
        started = np.where(c.care_started[rows] == NONE, day, c.care_started[rows])
        lag = exponential_days(self.rng, d.involvement_lag_days.value, n)
        self.cases.involvement_known[cases] = started + lag
        self.cases.address_known[cases] = day + exponential_days(
            self.rng, d.address_lag_days.value, n
        )
        # records transfer and transfer-in conferences depend on the care status at the move
        care = c.care[rows].astype(np.int64)
        transfer = self.rng.random(n) < np.asarray(d.records_transfer_share.value)[care]
        delay = exponential_days(self.rng, np.asarray(d.records_transfer_days.value)[care], n)
        self.cases.transfer[cases] = np.where(transfer, day + delay, NONE)
        self.cases.shielded[cases] = self.rng.random(n) < d.shield_share.value
        self.cases.unborn[cases] = c.status[rows] == UNBORN
        self.case_of[rows] = cases
        self.opened_today.append(cases)
        self._draw_encounters(day, cases, rows)

    def _draw_encounters(self, day: int, cases: np.ndarray, rows: np.ndarray) -> None:
        """Poisson encounters over the follow-up, by kind, with their days drawn now."""
        p, follow = self.params, self.params.follow_days.value
        ages = approximate_ages(self.state.children.born[rows], day)
        young = ages < p.health_visitor_age_limit.value
        for kind, rate, eligible in (
            (Kind.UNSCHEDULED_CARE, p.unscheduled_care_per_year.value, np.ones_like(young)),
            (Kind.POLICE, p.police_per_year.value, np.ones_like(young)),
            (Kind.HEALTH_VISITOR, p.health_visitor_per_year.value, young),
        ):
            counts = self.rng.poisson(rate * follow / DAYS_PER_YEAR, len(cases)) * eligible
            owner = np.repeat(cases, counts)
            days = day + 1 + self.rng.integers(0, follow, len(owner))
            self._schedule(days, owner, np.full(len(owner), int(kind)))
        # youth offending teams see children over the age of criminal responsibility
        older = ages >= p.youth_offending_min_age.value
        mean = p.youth_offending_per_year.value * follow / DAYS_PER_YEAR
        owner = np.repeat(cases, self.rng.poisson(mean, len(cases)) * older)
        days = day + 1 + self.rng.integers(0, follow, len(owner))
        self._schedule(days, owner, np.full(len(owner), int(Kind.YOUTH_OFFENDING)))
        # a social worker in the new authority: a referral or assessment, by care status
        care = self.state.children.care[rows].astype(np.int64)
        referred = self.rng.random(len(cases)) < np.asarray(p.social_worker_share.value)[care]
        delay = exponential_days(self.rng, p.social_worker_days.value, len(cases))
        seen = referred & (delay <= follow)
        kinds = np.full(int(seen.sum()), int(Kind.SOCIAL_WORKER))
        self._schedule(day + delay[seen], cases[seen], kinds)

    def _schedule(self, days: np.ndarray, cases: np.ndarray, kinds: np.ndarray) -> None:
        n = len(cases)
        if not n:
            return
        ids = np.arange(self._count, self._count + n)
        self._count += n
        if self._count > len(self._uniforms):
            grown = np.zeros((max(self._count, 2 * len(self._uniforms)), 5))
            grown[: len(self._uniforms)] = self._uniforms
            self._uniforms = grown
        self._uniforms[ids] = self.rng.random((n, 5))
        packed = cases.astype(np.int64) * 256 + kinds.astype(np.int64)
        self._agenda.add(days.astype(np.int64), ids, packed)

    # --- what the regimes read -----------------------------------------------------------

    def followed(self, cases: np.ndarray, day: int) -> np.ndarray:
        """True for cases still followed on `day`: the child is present (or unborn, or born
        since the move), has not moved on, and the follow-up has not run out."""
        c, k = self.state.children, self.cases
        child = k.child[cases]
        status = c.status[child]
        return (
            ((status == PRESENT) | (status == UNBORN))
            & (c.moves[child] == k.token[cases])
            & (day - k.opened[cases] <= self.params.follow_days.value)
        )

    def new_cases(self) -> np.ndarray:
        """Cases opened since the last call (the regimes start their own columns for them)."""
        opened = np.concatenate(self.opened_today) if self.opened_today else np.zeros(0, int)
        self.opened_today = []
        return opened.astype(np.int64)

    def due(self, day: int) -> DueEncounters:
        """Encounters on `day` of cases still followed, in the order they were scheduled."""
        ids, packed = self._agenda.pop(day)
        uniforms = self._uniforms[ids]
        case, kind = packed // 256, packed % 256
        keep = self.followed(case, day)
        u = uniforms[keep]
        return DueEncounters(
            day=day,
            case=case[keep],
            kind=kind[keep],
            minute=(u[:, 0] * 1440).astype(np.int64),
            u_look=u[:, 1],
            u_find=u[:, 2],
            u_phone=u[:, 3],
            u_delay=u[:, 4],
        )
