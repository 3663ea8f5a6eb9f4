"""Regime layers riding on one world: every scenario sees the same encounters, day by day.

The world runs once; its events feed one `Encounters` (the cases and their uniforms) and every
scenario's `RegimeLayer` reads the same day's cases and encounters, so scenarios differ only
in what their regimes decide (common random numbers by construction). The whole population's
encounters and lookups (sim.regimes.population_use) ride on the same world beside them. On the
first day of each month each scenario also records its privacy exposure by authority: records
held, users able to see them, and shielded records. Live indexes (sim.regimes.live) take the
day's feed updates before the day's lookups and any switch-off due that day after them.
"""

import datetime as dt

import numpy as np
import polars as pl

from sim.population.parameters import population_params
from sim.reference.authorities import load_authorities
from sim.regimes.layer import RegimeLayer
from sim.regimes.parameters import PathParams
from sim.regimes.population_use import PopulationUse
from sim.regimes.regimes import (
    ContactPointRegime,
    CpIs,
    LocalIndexes,
    Schedule,
    Signposting2010,
)
from sim.world.calendar import day_number
from sim.world.encounters import Encounters
from sim.world.state import PRESENT, UNBORN

EXPOSURE_SCHEMA = pl.Schema(
    {
        "scenario": pl.String,
        "date": pl.Date,
        "regime": pl.String,
        "authority": pl.String,
        "children": pl.Int64,
        "records_held": pl.Int64,
        "users": pl.Float64,
        "shielded_records": pl.Float64,
    }
)


class RegimeRunner:
    """Attach to a world before `world.run(on_day=runner.on_day)`."""

    def __init__(
        self,
        world,
        schedules: list[Schedule],
        paths: PathParams | None = None,
        indexes: list | None = None,
    ) -> None:
        self.world = world
        self.indexes = indexes or []
        self.paths = paths or world.context.params.paths  # the world's run parameters
        self.regime_params = world.context.params.regimes
        self.encounters = Encounters(world)
        self.layers = [
            RegimeLayer(s, self.encounters, self.paths, world.context.last_day) for s in schedules
        ]
        self.population = PopulationUse(world, schedules, self.encounters, self.paths)
        self._exposure: list[pl.DataFrame] = []
        self._codes = np.array([a.code for a in load_authorities()], dtype=object)

    def on_day(self, date: dt.date) -> None:
        day = day_number(date)
        cases = self.encounters.new_cases()
        due = self.encounters.due(day)
        for index in self.indexes:
            index.start_day(date)
        # every child's encounters and lookups made ready while a real index's lookup workers
        # still answer the day before (nothing here reads what the layers below decide)
        self.population.on_day(day)
        # the case lookups, while a real index's lookup workers may still answer the day before
        # (they take their turn at the index's locks: sim.regimes.live)
        for layer in self.layers:
            layer.open(cases)
            layer.step(day, due)
        self.population.dispatch()
        tomorrow = date + dt.timedelta(days=1) if day < self.world.context.last_day else None
        for index in self.indexes:
            index.end_day(date, tomorrow)
        # the days before today are counted: a worker reads today's snapshot (end_day) only
        # once it has answered them, so this waits for nothing
        self.population.settle(keep=1)
        if date.day == 1 or day == self.world.context.first_day:
            self._snapshot(day, date)

    def _snapshot(self, day: int, date: dt.date) -> None:
        c = self.world.state.children
        present = np.flatnonzero(c.status[: c.size] == PRESENT)
        authority = c.authority[present].astype(np.int64)
        size = len(self._codes)
        children = np.bincount(authority, minlength=size)
        held = np.flatnonzero(children)
        params, paths = self.regime_params, self.paths
        share = children / population_params().children_england.value
        for layer in self.layers:
            regime = layer.schedule.in_force(day)
            records = np.zeros(size, dtype=np.int64)
            users = np.zeros(size)
            if isinstance(regime, ContactPointRegime):
                live = regime.live_from <= day
                records = children * live
                users = params.contactpoint_users.value * share * regime.users_share(day)
            elif isinstance(regime, CpIs):
                unborn = np.flatnonzero(c.status[: c.size] == UNBORN)
                flaggable = np.r_[present, unborn]
                flagged = flaggable[regime.flagged(flaggable, day, self.encounters)]
                records = np.bincount(c.authority[flagged].astype(np.int64), minlength=size)
                users = params.cp_is_users.value * share
            elif isinstance(regime, Signposting2010):
                known = present[regime.held(c.care[present])]
                records = np.bincount(c.authority[known].astype(np.int64), minlength=size)
                users = params.signposting_2010_users.value * share
            elif isinstance(regime, LocalIndexes):
                records = children
                users = params.local_users.value * share
            self._exposure.append(
                pl.DataFrame(
                    {
                        "scenario": layer.schedule.name,
                        "date": date,
                        "regime": regime.name,
                        "authority": self._codes[held],
                        "children": children[held],
                        "records_held": records[held],
                        "users": users[held],
                        "shielded_records": records[held] * paths.shield_share.value,
                    },
                    strict=False,
                ).cast(dict(EXPOSURE_SCHEMA))
            )

    def regime_log(self) -> pl.DataFrame:
        return pl.concat([layer.log.frame() for layer in self.layers])

    def exposure(self) -> pl.DataFrame:
        if not self._exposure:
            return pl.DataFrame(schema=EXPOSURE_SCHEMA)
        return pl.concat(self._exposure)
