"""Births, deaths and reaching 18: children entering and leaving the index.

Births get an index ID from their authority's serial permutation (sim.population.identifiers),
continuing where `cpw synth` stopped, so IDs stay unique without a register of used serials.
"""

from collections.abc import Callable

import numpy as np
import polars as pl

from sim.population.identifiers import index_ids, serials
from sim.population.parameters import population_params, service_params
from sim.population.synth import IDS_PER_AUTHORITY
from sim.reference.authorities import load_authorities
from sim.world.calendar import DAYS_PER_YEAR, anniversaries, approximate_ages
from sim.world.context import Context
from sim.world.events import Event
from sim.world.sampling import Agenda, exponential_days, thinned
from sim.world.state import DIED, KEPT_WITH_CONSENT, LEFT, LOOKED_AFTER, NONE, PRESENT

EndCare = Callable[[np.ndarray, int], None]


def within_groups(keys: np.ndarray) -> np.ndarray:
    """0, 1, 2... counting up within each key, in order of appearance."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    counts = np.diff(np.r_[starts, len(keys)])
    rank = np.arange(len(keys)) - np.repeat(starts, counts)
    result = np.empty(len(keys), dtype=np.int64)
    result[order] = rank
    return result


class IdPool:
    """Index IDs issued ahead, per authority, from its serial permutation (one call each).

    Serials continue from `ids_issued`: the k-th birth in an authority gets the serial the
    permutation gives for ids_issued + k, exactly as issuing one at a time would.
    """

    def __init__(self, authorities: pl.DataFrame, expected: np.ndarray) -> None:
        ordinal = authorities["ordinal"].to_numpy()
        size = len(expected)
        self.multiplier = np.zeros(size, dtype=np.int64)
        self.offset = np.zeros(size, dtype=np.int64)
        self.issued = np.zeros(size, dtype=np.int64)
        self.multiplier[ordinal] = authorities["id_multiplier"].to_numpy()
        self.offset[ordinal] = authorities["id_offset"].to_numpy()
        self.issued[ordinal] = authorities["ids_issued"].to_numpy()
        self.ordinals = np.sort(ordinal)
        self.capacity = np.zeros(size, dtype=np.int64)
        self.capacity[ordinal] = np.ceil(expected[ordinal] * 1.5).astype(np.int64) + 16
        self._fill()

    def _fill(self) -> None:
        parts = []
        for o in self.ordinals:
            numbers = serials(
                self.issued[o] + np.arange(self.capacity[o]),
                int(self.multiplier[o]),
                int(self.offset[o]),
            )
            parts.append(index_ids(int(o), numbers))
        self.pool = np.concatenate(parts)
        self.start = np.zeros(len(self.capacity), dtype=np.int64)
        self.start[self.ordinals] = np.r_[0, np.cumsum(self.capacity[self.ordinals])[:-1]]
        self.used = np.zeros(len(self.capacity), dtype=np.int64)

    def issue(self, authority: np.ndarray) -> np.ndarray:
        """The next IDs of each authority, one per entry of `authority` (ordinals)."""
        rank = within_groups(authority)
        if np.any(self.used[authority] + rank >= self.capacity[authority]):
            self.issued += self.used
            self.capacity *= 2
            self._fill()
        ids = self.pool[self.start[authority] + self.used[authority] + rank]
        np.add.at(self.used, authority, 1)
        return ids


class Births:
    """About 1,840 births a day in England; a share join a family already on the index.

    Children on a pre-birth plan are made months ahead by sim.world.pregnancy through `place`
    and born through `deliver`; `pre_birth_daily` of England's births are theirs, so the rest
    are drawn here.
    """

    def __init__(
        self, context: Context, authorities: pl.DataFrame, pre_birth_daily: float = 0.0
    ) -> None:
        self.context = context
        self.params = context.params.demography
        self.rng = context.rng("births")
        england_daily = self.params.births_per_year.value / DAYS_PER_YEAR
        self.daily = (england_daily - pre_birth_daily) * context.scale
        h = context.state.households
        ordinal = authorities["ordinal"].to_numpy()
        size = int(ordinal.max()) + 1
        self.ordinals = np.sort(ordinal)
        census = np.array([a.children_0_17 for a in load_authorities()], dtype=np.float64)
        weights = census[self.ordinals]  # births by authority follow its children (census)
        expected = np.zeros(size)
        expected[self.ordinals] = (
            weights
            / weights.sum()
            * england_daily
            * context.scale
            * (context.last_day - context.first_day + 1)
        )
        self.ids = IdPool(authorities, expected)
        self.new_household_weights = np.cumsum(weights) / weights.sum()
        ids = h.household_id[: h.size]
        self.next_household = np.zeros(size, dtype=np.int64)
        np.maximum.at(self.next_household, ids // IDS_PER_AUTHORITY, ids % IDS_PER_AUTHORITY + 1)
        self.gp_agenda = Agenda(context.last_day)

    def step(self, day: int) -> None:
        count = self.rng.poisson(self.daily)
        self._register_gps(day)
        if not count:
            return
        rows, sibling = self.place(self.rng, count, day, np.full(count, day), PRESENT)
        self.deliver(rows, sibling, day)

    def place(
        self, rng: np.random.Generator, count: int, day: int, born: np.ndarray, status: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """`count` new children (born, or due, on `born`) in a family already on the index or
        a new household; returns their rows and each one's elder sibling (NONE if none)."""
        state = self.context.state
        joins = rng.random(count) < self.params.sibling_birth_share.value
        siblings = self._siblings(rng, day, int(joins.sum()))
        joins[np.flatnonzero(joins)[len(siblings) :]] = False
        fresh = int((~joins).sum())
        picked = np.searchsorted(self.new_household_weights, rng.random(fresh), side="right")
        fresh_authority = self.ordinals[np.minimum(picked, len(self.ordinals) - 1)]

        c, h = state.children, state.households
        households = np.empty(count, dtype=np.int64)
        sibling = np.full(count, NONE, dtype=np.int64)
        sibling[joins] = siblings
        households[joins] = c.household[siblings]
        new_households = h.add(fresh)
        households[~joins] = new_households
        h.authority[new_households] = fresh_authority
        h.head[new_households] = NONE
        serial = within_groups(fresh_authority) + self.next_household[fresh_authority]
        h.household_id[new_households] = fresh_authority * IDS_PER_AUTHORITY + serial
        np.add.at(self.next_household, fresh_authority, 1)

        rows = c.add(count)
        authority = h.authority[households]
        c.authority[rows] = authority
        c.household[rows] = households
        c.born[rows] = born
        c.male[rows] = rng.random(count) < population_params().male_share.value
        c.status[rows] = status
        for name in ("school", "gp", "care_started", "plan_started", "care_ends", "next_sibling"):
            getattr(c, name)[rows] = NONE
        c.child_id[rows] = self.ids.issue(authority)
        state.link_children(rows.astype(np.int32))
        state.recount(households)
        return rows, sibling

    def deliver(self, rows: np.ndarray, sibling: np.ndarray, day: int) -> None:
        """Children born today: on the index from today (through the birth feed), and
        registered with a GP after a lag."""
        if not len(rows):
            return
        c = self.context.state.children
        c.status[rows] = PRESENT
        self.context.log.record(Event.BIRTH, day, rows, authority=c.authority[rows])
        registers = self.rng.random(len(rows)) < service_params().gp_registered_share.value
        lag = exponential_days(
            self.rng, self.params.newborn_gp_lag_days.value, int(registers.sum())
        )
        self.gp_agenda.add(day + lag, rows[registers], sibling[registers])

    def _siblings(self, rng: np.random.Generator, day: int, wanted: int) -> np.ndarray:
        """Children to whose families newborns are added: present, young, living at home."""
        state, found = self.context.state, []
        c = state.children
        limit = self.params.sibling_max_age.value
        for _ in range(20):
            if wanted <= 0 or c.size == 0:
                break
            candidates = rng.integers(0, c.size, 4 * wanted + 8)
            ok = (c.status[candidates] == PRESENT) & (c.care[candidates] != LOOKED_AFTER)
            ok &= approximate_ages(c.born[candidates], day) < limit
            chosen = candidates[ok][:wanted]
            found.append(chosen)
            wanted -= len(chosen)
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)

    def _register_gps(self, day: int) -> None:
        """Newborns due for GP registration join their sibling's practice, or one nearby."""
        rows, sibling = self.gp_agenda.pop(day)
        c = self.context.state.children
        rows_ok = self.context.present(rows)
        rows, sibling = rows[rows_ok], sibling[rows_ok]
        if not len(rows):
            return
        shared = np.where(sibling != NONE, c.gp[np.maximum(sibling, 0)], NONE)
        keys = c.authority[rows].astype(np.int64)
        shared_ok = shared != NONE
        shared_ok[shared_ok] = (
            self.context.state.practices.keys[shared[shared_ok]] == keys[shared_ok]
        )
        practice = np.where(shared_ok, shared, self.context.state.practices.pick(self.rng, keys))
        c.gp[rows] = practice
        self.context.log.record(
            Event.GP_CHANGE, day, rows, authority=c.authority[rows], gp=practice
        )


class Deaths:
    """About 13 child deaths a day in England, two-thirds of them in the first year."""

    def __init__(self, context: Context, end_care: EndCare) -> None:
        self.context, self.end_care = context, end_care
        params = context.params.demography
        self.rng = context.rng("deaths")
        england = population_params().children_england.value
        births = params.births_per_year.value
        self.infant_rate = params.infant_deaths_per_year.value / births / DAYS_PER_YEAR
        self.child_rate = params.child_deaths_per_year.value / (england - births) / DAYS_PER_YEAR

    def step(self, day: int) -> None:
        c = self.context.state.children
        highest = max(self.infant_rate, self.child_rate)

        def share(rows: np.ndarray) -> np.ndarray:
            infant = (day - c.born[rows]) < DAYS_PER_YEAR
            rate = np.where(infant, self.infant_rate, self.child_rate) / highest
            return rate * self.context.present(rows)

        rows = thinned(self.rng, c.size, highest, share)
        if not len(rows):
            return
        self.end_care(rows, day)
        c.status[rows] = DIED
        self.context.state.recount(c.household[rows])
        self.context.log.record(Event.DEATH, day, rows, authority=c.authority[rows])


class Adulthood:
    """Children leave the index on their 18th birthday, or stay to 25 with consent."""

    def __init__(self, context: Context, end_care: EndCare) -> None:
        self.context, self.end_care = context, end_care
        self.params = context.params.demography
        self.rng = context.rng("adulthood")
        c = context.state.children
        self.due = anniversaries(c.born[: c.size], self.params.adult_age.value)
        self.order = np.argsort(self.due, kind="stable")
        self.sorted_due = self.due[self.order]
        self.next = int(np.searchsorted(self.sorted_due, context.first_day))
        # Already adult when the run starts (a start after the population's snapshot day):
        # never on the index in this run.
        c.status[self.order[: self.next]] = LEFT
        context.state.recount(c.household[self.order[: self.next]])

    def step(self, day: int) -> None:
        stop = int(np.searchsorted(self.sorted_due, day, side="right"))
        rows = self.order[self.next : stop]
        self.next = stop
        rows = rows[self.context.present(rows)]
        if not len(rows):
            return
        c = self.context.state.children
        self.end_care(rows, day)
        kept = self.rng.random(len(rows)) < self.params.consent_share.value
        c.status[rows[kept]] = KEPT_WITH_CONSENT
        c.status[rows[~kept]] = LEFT
        self.context.state.recount(c.household[rows])
        log = self.context.log
        log.record(Event.KEPT_WITH_CONSENT, day, rows[kept], authority=c.authority[rows[kept]])
        log.record(Event.LEFT_INDEX, day, rows[~kept], authority=c.authority[rows[~kept]])
