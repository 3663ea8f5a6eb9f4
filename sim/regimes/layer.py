"""One scenario's regime layer: turns the day's encounters into lookups, phone-rounds and
reconnections, and writes them to the regime log (sim.regimes.log).

A case is *reconnected* on the first day practitioners in the new authority know who was
involved before: the old authority's records arrive, a lookup shows the previous contacts (and
the practitioner reaches one), a CP-IS notification is answered, or a phone-round
succeeds (docs/architecture.md, "The lost child"). A phone-round can fail: a share
`phone_round_failure` never reach anyone (its hours are spent all the same). Once a
reconnection is under way no one looks further. Delays are exponential quantiles of the
encounter's own uniform, so a regime never draws a random number (common random numbers).
"""

import numpy as np

from sim.regimes.log import RegimeLog
from sim.regimes.parameters import PathParams
from sim.regimes.regimes import NEVER, Schedule
from sim.world.encounters import DueEncounters, Encounters
from sim.world.sampling import Agenda
from sim.world.state import NONE, UNBORN

PATHS = ("records_transfer", "lookup", "notification", "phone_round")
TRANSFER = PATHS.index("records_transfer")


def quantile_days(u: np.ndarray, mean_days: float) -> np.ndarray:
    """Whole days (at least 1) of an exponential with this mean at quantiles `u`."""
    return np.maximum(1, np.ceil(-mean_days * np.log1p(-np.asarray(u)))).astype(np.int64)


class RegimeLayer:
    def __init__(
        self, schedule: Schedule, encounters: Encounters, paths: PathParams, last_day: int
    ) -> None:
        self.schedule, self.encounters, self.paths = schedule, encounters, paths
        self.log = RegimeLog(schedule.name, encounters)
        self.planned = np.zeros(0, dtype=np.int32)  # day knowledge arrives, NEVER if not yet
        self.path = np.zeros(0, dtype=np.int8)
        self.reconnected = np.zeros(0, dtype=np.int32)
        self.agenda = Agenda(last_day)
        self.propensity = np.asarray(paths.lookup_propensity.value) * paths.compliance.value
        self.phone = np.asarray(paths.phone_round_propensity.value)
        self.phone_failure = paths.phone_round_failure.value

    def open(self, cases: np.ndarray) -> None:
        """Start following new cases; a records transfer, if any, is already on its way."""
        size = int(cases.max()) + 1 if len(cases) else 0
        if size > len(self.planned):
            grow = size - len(self.planned)
            self.planned = np.r_[self.planned, np.full(grow, NEVER, dtype=np.int32)]
            self.path = np.r_[self.path, np.full(grow, -1, dtype=np.int8)]
            self.reconnected = np.r_[self.reconnected, np.full(grow, NONE, dtype=np.int32)]
        transfer = self.encounters.cases.transfer[cases]
        coming = cases[transfer != NONE]
        self._plan(coming, transfer[transfer != NONE].astype(np.int64), TRANSFER)
        self.log.cases_opened(cases)

    def step(self, day: int, due: DueEncounters) -> None:
        """Today's encounters, then today's reconnections."""
        if len(due):
            self._encounters(day, due)
        cases, _ = self.agenda.pop(day)
        if len(cases):
            keep = (self.planned[cases] == day) & (self.reconnected[cases] == NONE)
            keep &= self.encounters.followed(cases, day)
            cases = np.unique(cases[keep])
            self.reconnected[cases] = day
            self.log.reconnections(day, cases, self.path[cases])

    def _encounters(self, day: int, due: DueEncounters) -> None:
        # Still searching: nothing known yet, and no lookup or phone-round under way (a
        # records transfer on its way is unknown to the new authority until it arrives).
        path = self.path[due.case]
        waiting = (self.planned[due.case] > day) & ((path == -1) | (path == TRANSFER))
        authority = self.encounters.cases.to_authority[due.case].astype(np.int64)
        step = self.schedule.index_at(day, due.minute)
        status = self.encounters.state.children.status[self.encounters.cases.child[due.case]]
        shown = np.zeros(len(due), dtype=bool)
        for index, regime in enumerate(self.schedule.regimes):
            here = waiting & (step == index)
            if not here.any():
                continue
            part = due.take(here)
            # access is the share of these practitioners who can use the regime
            looks = part.u_look < self.propensity[part.kind] * regime.access(part, authority[here])
            if not regime.holds_unborn:
                looks &= status[here] != UNBORN
            if not looks.any():
                continue
            asked = part.take(looks)
            answers = regime.answer(asked, self.encounters)
            self.log.lookups(day, asked, regime.name, answers, self.paths.lookup_minutes.value)
            hit = np.flatnonzero(here)[np.flatnonzero(looks)][answers.reconnects]
            shown[hit] = True
            delay = quantile_days(due.u_delay[hit], answers.delay_mean_days)
            self._plan(due.case[hit], day + delay, PATHS.index(answers.path))
        threshold = self.phone[due.kind]
        rings = waiting & ~shown & (due.u_phone < threshold)
        if rings.any():
            ringing = due.take(rings)
            # given that it rings, u_phone / threshold is uniform: the top share fails
            reaches = ringing.u_phone < threshold[rings] * (1.0 - self.phone_failure)
            self.log.phone_rounds(day, ringing, self.paths.phone_round_hours.value, reaches)
            delay = quantile_days(ringing.u_delay[reaches], self.paths.phone_round_days.value)
            self._plan(ringing.case[reaches], day + delay, PATHS.index("phone_round"))

    def _plan(self, cases: np.ndarray, days: np.ndarray, path: int) -> None:
        """Bring forward the day knowledge arrives, where this path is sooner."""
        if not len(cases):
            return
        sooner = days < self.planned[cases]
        cases, days = cases[sooner], days[sooner]
        order = np.lexsort((days, cases))  # per case, the earliest first
        cases, days = cases[order], days[order]
        first = np.r_[True, cases[1:] != cases[:-1]] if len(cases) else np.zeros(0, bool)
        cases, days = cases[first], days[first]
        self.planned[cases] = days
        self.path[cases] = path
        self.agenda.add(days, cases, np.full(len(cases), path))
