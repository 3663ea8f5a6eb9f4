"""Unborn children on a pre-birth protection plan: flagged by CP-IS, never on ContactPoint.

An authority may make a child protection plan before a child is born (a pre-birth conference).
CP-IS flags the unborn child on the pregnant woman's record until 28 days after the due date
(docs/reference.md s7b); ContactPoint held children from birth only (docs/reference.md s5a). So an
unborn child is a row of the state with status UNBORN: it lives, and moves, with its household, is
on a plan from the day it is made, and is born on its due date, when it joins the index through the
birth feed like any newborn; its plan runs on after birth for the plan's own duration.

The plans are a share of 2009-10's plan starts and their referrals (data/world/care.toml); the
world's other births and referrals are reduced by as many (sim.world.care_rates), so births,
referrals and plan starts keep their reference totals.
"""

import numpy as np

from sim.world.care import SocialCare
from sim.world.context import Context
from sim.world.demography import Births
from sim.world.events import Event
from sim.world.sampling import Agenda, exponential_days
from sim.world.state import UNBORN


class PreBirthPlans:
    """About 12 pre-birth plans a day in England, each for a child due months later."""

    def __init__(self, context: Context, births: Births, care: SocialCare) -> None:
        self.context, self.births, self.care = context, births, care
        self.rng = context.rng("pre_birth")
        rates = care.rates
        self.daily = rates.pre_birth_daily * context.scale
        self.lead_days = rates.pre_birth_lead_days
        self.unborn_stock = rates.unborn_stock * context.scale
        self.due = Agenda(context.last_day)  # rows due, and each one's elder sibling

    def warm_start(self) -> None:
        """The unborn children on a plan on the first day: by the memoryless lead, each is due
        an exponential lead from today and its plan began an exponential lead ago."""
        day = self.context.first_day
        count = round(self.unborn_stock)
        remaining = exponential_days(self.rng, self.lead_days, count)
        elapsed = np.floor(self.rng.exponential(self.lead_days, count)).astype(np.int64)
        self._conceive(count, day, day + remaining, day - elapsed, Event.EPISODE_OPEN)

    def step(self, day: int) -> None:
        self._deliver(day)
        count = int(self.rng.poisson(self.daily))
        if not count:
            return
        due = day + exponential_days(self.rng, self.lead_days, count)
        self._conceive(count, day, due, np.full(count, day), Event.EPISODE_START)

    def _conceive(
        self, count: int, day: int, due: np.ndarray, started: np.ndarray, event: Event
    ) -> np.ndarray:
        """Unborn children due on `due`, on a plan since `started`; a new plan (not one open
        on the first day) begins with the unborn child's referral."""
        if not count:
            return np.zeros(0, dtype=np.int64)
        rows, sibling = self.births.place(self.rng, count, day, due, UNBORN)
        if event == Event.EPISODE_START:
            authority = self.context.state.children.authority[rows]
            self.context.log.record(Event.REFERRAL, day, rows, authority=authority)
        self.care.open_plans(rows, started, event, day)
        self.due.add(due.astype(np.int64), rows, sibling)
        return rows

    def _deliver(self, day: int) -> None:
        rows, sibling = self.due.pop(day)
        unborn = self.context.state.children.status[rows] == UNBORN
        self.births.deliver(rows[unborn], sibling[unborn], day)
