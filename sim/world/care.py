"""Children's social care: referrals, children in need, protection plans, care, CAF.

A referral of a child not already in need opens a child-in-need episode (the CIN census
definition); its outcome is a quick closure, a longer episode of need, a child protection plan
or care, in the shares that give 2009-10's starts. A plan or care keeps the episode of need
open until it ends. Durations are exponential with means from Little's law (stock = starts x
mean duration, docs/reference.md s4), so the stocks at 31 March 2010 come out right; the run
starts with the stocks open on its first day, each with an elapsed duration (a warm start).

A child who starts to be looked after is placed in another authority at the share
`looked_after_placed_out_share` (data/world/care.toml), drawn from the same destination kernel
as household moves; the placement is a move of the child alone, and the child rejoins the
household (wherever it lives then) when care ends.
"""

import numpy as np

from sim.world.care_rates import care_rates
from sim.world.context import Context
from sim.world.destinations import Destinations
from sim.world.events import Episode, Event
from sim.world.sampling import Agenda, exponential_days, thinned
from sim.world.state import (
    CAF,
    IN_NEED,
    LOOKED_AFTER,
    NO_CARE,
    NONE,
    PRESENT,
    PROTECTION_PLAN,
)

PLANS = {PROTECTION_PLAN: Episode.CHILD_PROTECTION_PLAN, LOOKED_AFTER: Episode.LOOKED_AFTER}


KIND_OF = {"short": IN_NEED, "long": IN_NEED, "plan": PROTECTION_PLAN, "care": LOOKED_AFTER}


class SocialCare:
    """Episodes as columns of the state, with an agenda of the days they end."""

    def __init__(self, context: Context, destinations: Destinations | None = None) -> None:
        self.context = context
        self.destinations = destinations
        self.placement_rng = context.rng("placements")
        self.placed_out = context.params.care.looked_after_placed_out_share.value
        self.rates = care_rates(context.first_day, context.params)
        self.endings = Agenda(context.last_day)
        self.referral_rng = context.rng("referrals")
        self.caf_rng = context.rng("caf")
        self.plan_rng = context.rng("pre_birth_plans")

    def warm_start(self) -> None:
        """Open on the first day the stocks of that day, each with its elapsed duration."""
        rng = self.context.rng("warm_start")
        c, day = self.context.state.children, self.context.first_day
        present = np.flatnonzero(c.status[: c.size] == PRESENT)
        wanted = {k: round(s * self.context.scale) for k, s in self.rates.stocks.items()}
        chosen = rng.choice(present, min(sum(wanted.values()), len(present)), replace=False)
        start = 0
        for name, count in wanted.items():
            rows = np.sort(chosen[start : start + count])
            start += count
            mean = self.rates.mean_days[name]
            elapsed = np.minimum(rng.exponential(mean, len(rows)), day - c.born[rows])
            started = (day - np.floor(elapsed)).astype(np.int64)
            ends = day + exponential_days(rng, mean, len(rows))
            if name == "caf":
                lead = rng.random(len(rows)) < self.rates.lead_professional_share
                self._open_caf(rows, started, ends, lead, Event.EPISODE_OPEN, day)
            else:
                self._open_need(rows, KIND_OF[name], started, ends, Event.EPISODE_OPEN, day)

    def referrals(self, day: int) -> None:
        """About 1,650 referrals a day in England, of children not already in need."""
        rng, c = self.referral_rng, self.context.state.children

        def share(rows: np.ndarray) -> np.ndarray:
            return (c.status[rows] == PRESENT) & (c.care[rows] <= CAF)

        rows = thinned(rng, c.size, self.rates.referral_daily, share)
        if not len(rows):
            return
        self._close(rows[c.care[rows] == CAF], day)  # step up from early help
        self.context.log.record(Event.REFERRAL, day, rows, authority=c.authority[rows])
        u = rng.random(len(rows))
        plan = self.rates.outcome_shares[PROTECTION_PLAN]
        care = plan + self.rates.outcome_shares[LOOKED_AFTER]
        short = care + self.rates.short_share
        kinds = np.select([u < plan, u < care], [PROTECTION_PLAN, LOOKED_AFTER], IN_NEED)
        means = np.select(
            [u < plan, u < care, u < short],
            [self.rates.mean_days[k] for k in ("plan", "care", "short")],
            self.rates.mean_days["long"],
        )
        ends = day + np.maximum(1, np.ceil(rng.exponential(means))).astype(np.int64)
        started = np.full(len(rows), day, dtype=np.int64)
        for kind in (IN_NEED, PROTECTION_PLAN, LOOKED_AFTER):
            mask = kinds == kind
            self._open_need(rows[mask], kind, started[mask], ends[mask], Event.EPISODE_START, day)
        self._place(rows[kinds == LOOKED_AFTER], day)

    def _place(self, rows: np.ndarray, day: int) -> None:
        """Place a share of children starting care in another authority (a move of their own)."""
        if self.destinations is None or not len(rows):
            return
        c, d = self.context.state.children, self.destinations
        origin = c.authority[rows].astype(np.int64)
        position = np.searchsorted(d.ordinals, origin)
        out = (self.placement_rng.random(len(rows)) < self.placed_out) & (d.retained[position] > 0)
        rows, origin, position = rows[out], origin[out], position[out]
        if not len(rows):
            return
        placed = d.draw(self.placement_rng, position)
        c.authority[rows] = placed
        c.moves[rows] += 1
        self.context.log.record(Event.MOVE, day, rows, authority=placed, from_authority=origin)

    def caf(self, day: int) -> None:
        """CAF assessments of children with no involvement (a low-confidence volume)."""
        rng, c = self.caf_rng, self.context.state.children

        def share(rows: np.ndarray) -> np.ndarray:
            return (c.status[rows] == PRESENT) & (c.care[rows] == NO_CARE)

        rows = thinned(rng, c.size, self.rates.caf_daily, share)
        ends = day + exponential_days(rng, self.rates.mean_days["caf"], len(rows))
        lead = rng.random(len(rows)) < self.rates.lead_professional_share
        started = np.full(len(rows), day, dtype=np.int64)
        self._open_caf(rows, started, ends, lead, Event.EPISODE_START, day)

    def open_plans(self, rows: np.ndarray, started: np.ndarray, event: Event, day: int) -> None:
        """Put `rows` on a protection plan that began on `started` (a pre-birth plan, made for
        unborn children by sim.world.pregnancy); it ends after the plan's own duration."""
        ends = day + exponential_days(self.plan_rng, self.rates.mean_days["plan"], len(rows))
        self._open_need(rows, PROTECTION_PLAN, started.astype(np.int64), ends, event, day)

    def close_due(self, day: int) -> None:
        """Close the episodes that end today (unless closed earlier, by death or age)."""
        rows, tokens = self.endings.pop(day)
        c = self.context.state.children
        due = (c.care[rows] != NO_CARE) & (c.care_ends[rows] == day)
        self._close(rows[due & (c.care_started[rows] == tokens)], day, rejoin=True)

    def end_care(self, rows: np.ndarray, day: int) -> None:
        """Close any episode of children who die or reach the adult age."""
        self._close(rows[self.context.state.children.care[rows] != NO_CARE], day)

    def _open_need(self, rows, kind, started, ends, event, day) -> None:
        c, log = self.context.state.children, self.context.log
        c.care[rows] = kind
        c.care_started[rows] = started
        c.plan_started[rows] = np.where(kind in PLANS, started, NONE)
        c.care_ends[rows] = ends
        authority = c.authority[rows]
        for episode in [Episode.CHILD_IN_NEED] + ([PLANS[kind]] if kind in PLANS else []):
            log.record(
                event, day, rows, authority=authority, episode=_full(rows, episode), started=started
            )
        self.endings.add(ends, rows, started)
        if kind == LOOKED_AFTER:
            self.context.state.recount(c.household[rows])

    def _open_caf(self, rows, started, ends, lead, event, day) -> None:
        c, log = self.context.state.children, self.context.log
        c.care[rows] = CAF
        c.care_started[rows] = started
        c.care_ends[rows] = ends
        c.lead_professional[rows] = lead
        log.record(
            event,
            day,
            rows,
            authority=c.authority[rows],
            episode=_full(rows, Episode.CAF),
            started=started,
        )
        led = rows[lead]
        log.record(
            event,
            day,
            led,
            authority=c.authority[led],
            episode=_full(led, Episode.LEAD_PROFESSIONAL),
            started=started[lead],
        )
        self.endings.add(ends, rows, started)

    def _close(self, rows: np.ndarray, day: int, rejoin: bool = False) -> None:
        c, log = self.context.state.children, self.context.log
        if not len(rows):
            return
        kind = c.care[rows]
        for value, episode, start in (
            (PROTECTION_PLAN, Episode.CHILD_PROTECTION_PLAN, c.plan_started),
            (LOOKED_AFTER, Episode.LOOKED_AFTER, c.plan_started),
        ):
            part = rows[kind == value]
            log.record(
                Event.EPISODE_END,
                day,
                part,
                authority=c.authority[part],
                episode=_full(part, episode),
                started=start[part],
            )
        need = rows[kind >= IN_NEED]
        log.record(
            Event.EPISODE_END,
            day,
            need,
            authority=c.authority[need],
            episode=_full(need, Episode.CHILD_IN_NEED),
            started=c.care_started[need],
        )
        caf = rows[kind == CAF]
        led = caf[c.lead_professional[caf]]
        log.record(
            Event.EPISODE_END,
            day,
            led,
            authority=c.authority[led],
            episode=_full(led, Episode.LEAD_PROFESSIONAL),
            started=c.care_started[led],
        )
        log.record(
            Event.EPISODE_END,
            day,
            caf,
            authority=c.authority[caf],
            episode=_full(caf, Episode.CAF),
            started=c.care_started[caf],
        )
        c.care[rows] = NO_CARE
        c.lead_professional[rows] = False
        for name in ("care_started", "plan_started", "care_ends"):
            getattr(c, name)[rows] = NONE
        looked_after = rows[kind == LOOKED_AFTER]
        if rejoin:
            self._return_home(looked_after, day)
        if len(looked_after):
            self.context.state.recount(c.household[looked_after])

    def _return_home(self, rows: np.ndarray, day: int) -> None:
        """A child leaving care rejoins the household, which may have moved meanwhile."""
        c, h = self.context.state.children, self.context.state.households
        home = h.authority[c.household[rows]]
        away = c.authority[rows] != home
        rows, home = rows[away], home[away]
        before = c.authority[rows].astype(np.int64)
        c.authority[rows] = home
        c.moves[rows] += 1
        self.context.log.record(Event.MOVE, day, rows, authority=home, from_authority=before)


def _full(rows: np.ndarray, episode: Episode) -> np.ndarray:
    return np.full(len(rows), int(episode), dtype=np.int64)
