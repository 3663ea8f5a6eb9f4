"""Household moves within and between authorities, and the school and GP changes that follow.

A household moves together: its children who live at home, unborn children on a pre-birth plan
included, move on the same day to the same place (looked-after children live in placements and
stay). Each child contributes its age's
rate divided by the household's movers, so a household moves at the mean of its children's
rates and children move at the by-age rates of data/world/moves.toml on average.
"""

import numpy as np

from sim.world.calendar import DAYS_PER_YEAR, approximate_ages
from sim.world.context import Context
from sim.world.destinations import destinations_for
from sim.world.events import OUTSIDE, Event
from sim.world.sampling import Agenda, exponential_days, thinned
from sim.world.state import NONE

ADULT_RATE_AGE = 17


class Moves:
    """About 10% of children move address a year, 4% to another authority (docs/reference.md s3)."""

    def __init__(self, context: Context, ordinals: np.ndarray) -> None:
        self.context = context
        params = context.params.moves
        self.rng = context.rng("moves")
        self.moves = np.asarray(params.address_moves_by_age.value)
        self.between = np.asarray(params.between_authority_moves_by_age.value)
        self.highest = float(self.moves.max()) / DAYS_PER_YEAR
        self.destinations = destinations_for(ordinals, params)
        self.position = np.full(int(ordinals.max()) + 1, NONE, dtype=np.int64)
        self.position[ordinals] = np.arange(len(ordinals))
        self.changes = ServiceChanges(context)

    def _ages(self, rows: np.ndarray, day: int) -> np.ndarray:
        born = self.context.state.children.born[rows]
        return np.clip(approximate_ages(born, day), 0, ADULT_RATE_AGE)

    def step(self, day: int) -> None:
        state = self.context.state
        c, h = state.children, state.households
        self.changes.step(day)

        def share(rows: np.ndarray) -> np.ndarray:
            movers = np.maximum(h.movers[c.household[rows]], 1)
            rate = self.moves[self._ages(rows, day)] / float(self.moves.max()) / movers
            return rate * state.at_home(rows)

        chosen = thinned(self.rng, c.size, self.highest, share)
        households, first = np.unique(c.household[chosen], return_index=True)
        if not len(households):
            return
        ages = self._ages(chosen[first], day)
        origin = h.authority[households].astype(np.int64)
        # open boundaries: moves out of the simulated area come back as arrivals (destinations)
        position = self.position[origin]
        shut = self.destinations.arrivals is None  # a single authority keeps only what it holds
        leaves = self.between[ages] / self.moves[ages]
        leaves = leaves * self.destinations.retained[position] if shut else leaves
        leaving = self.rng.random(len(households)) < leaves
        destination = origin.copy()
        arrived = np.zeros(len(households), dtype=bool)  # from the rest of England (open region)
        destination[leaving], arrived[leaving] = self.destinations.draw_arrivals(
            self.rng, position[leaving]
        )
        h.authority[households] = destination

        members = state.members(households)
        members = members[state.at_home(members)]
        where = np.searchsorted(households, c.household[members])
        before = c.authority[members].astype(np.int64)
        c.authority[members] = destination[where]
        c.moves[members] += 1
        self.context.log.record(
            Event.MOVE,
            day,
            members,
            authority=destination[where],
            from_authority=before,
            origin=np.where(arrived[where], OUTSIDE, NONE),
        )
        self.changes.schedule(day, members, crossed=leaving[where])


class ServiceChanges:
    """After a move, children change school and GP practice after a lag, siblings together."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.params = context.params.services
        self.rng = context.rng("service_changes")
        self.schools = Agenda(context.last_day)
        self.practices = Agenda(context.last_day)

    def schedule(self, day: int, rows: np.ndarray, crossed: np.ndarray) -> None:
        """Decide which movers change school or GP, and when (token: the child's move count)."""
        c, p = self.context.state.children, self.params
        for agenda, column, between, within, lag in (
            (
                self.schools,
                c.school,
                p.school_change_share_between,
                p.school_change_share_within,
                p.school_change_lag_days,
            ),
            (
                self.practices,
                c.gp,
                p.gp_change_share_between,
                p.gp_change_share_within,
                p.gp_change_lag_days,
            ),
        ):
            share = np.where(crossed, between.value, within.value)
            changes = (column[rows] != NONE) & (self.rng.random(len(rows)) < share)
            changing = rows[changes]
            delay = exponential_days(self.rng, lag.value, len(changing))
            agenda.add(day + delay, changing, c.moves[changing])

    def step(self, day: int) -> None:
        state = self.context.state
        c = state.children
        rows = self._due(self.schools, day)
        if len(rows):
            phase = state.schools.keys[c.school[rows]] % 16
            c.school[rows] = self._family_pick(state.schools, rows, c.authority[rows] * 16 + phase)
            self.context.log.record(
                Event.SCHOOL_CHANGE, day, rows, authority=c.authority[rows], school=c.school[rows]
            )
        rows = self._due(self.practices, day)
        if len(rows):
            c.gp[rows] = self._family_pick(state.practices, rows, c.authority[rows])
            self.context.log.record(
                Event.GP_CHANGE, day, rows, authority=c.authority[rows], gp=c.gp[rows]
            )

    def _due(self, agenda: Agenda, day: int) -> np.ndarray:
        """Rows due today whose child is still present and has not moved again since."""
        rows, tokens = agenda.pop(day)
        c = self.context.state.children
        return rows[self.context.present(rows) & (c.moves[rows] == tokens)]

    def _family_pick(self, catalogue, rows: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """One pick per household and key, so siblings land at the same school or practice."""
        household = self.context.state.children.household[rows].astype(np.int64)
        keys = keys.astype(np.int64)
        _, first, inverse = np.unique(
            household * (1 << 24) + keys, return_index=True, return_inverse=True
        )
        return catalogue.pick(self.rng, keys[first])[inverse]
