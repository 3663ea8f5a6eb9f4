"""The simulated world: SimPy holds the calendar, population-level processes act in daily batches.

    world = World(population, WorldConfig(seed=1), log_path=Path("events.parquet"), params=params)
    world.subscribe(listener)          # optional: sees every EventBatch as it happens
    summary = world.run()

Each subsystem is one SimPy process that wakes once a day (births, pre-birth plans, deaths,
adulthood, moves, social care); children are rows of numpy arrays, never processes
(docs/architecture.md, "Scale").
Processes are created in a fixed order, and SimPy runs same-time events first in, first out,
so a day always runs in that order; later layers add their own processes to `world.env`.
"""

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import simpy

from sim.errors import InputError
from sim.population.parameters import population_params
from sim.world.calendar import DAYS_PER_YEAR, day_number, to_date
from sim.world.care import SocialCare
from sim.world.context import Context
from sim.world.demography import Adulthood, Births, Deaths
from sim.world.destinations import destinations_for
from sim.world.events import EVENTS, EventLog, Listener
from sim.world.moves import Moves
from sim.world.pregnancy import PreBirthPlans
from sim.world.state import PRESENT, WorldState

if TYPE_CHECKING:  # sim.parameters imports the world's parameter models
    from sim.parameters import ModelParameters

TABLES = ("children", "schools", "gp_practices", "authorities")


@dataclass(frozen=True)
class WorldConfig:
    """What to run: the seed and replication (they fix every draw) and the period."""

    seed: int
    replication: int = 0
    start: dt.date = dt.date(2009, 1, 1)
    end: dt.date = dt.date(2011, 3, 31)
    chunk_rows: int = 250_000

    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class RunSummary:
    days: int
    children_at_start: int
    children_at_end: int
    events: dict[str, int] = field(default_factory=dict)
    wall_seconds: float = 0.0

    @property
    def total_events(self) -> int:
        return sum(self.events.values())


def _check(config: WorldConfig, params: "ModelParameters") -> None:
    demography = params.demography
    horizon = (config.end - config.start).days / DAYS_PER_YEAR
    if config.end < config.start:
        raise InputError(f"world: end {config.end} is before start {config.start}")
    if config.start < population_params().snapshot_date.value:
        raise InputError(f"world: start {config.start} is before the population's snapshot day")
    if horizon >= demography.consent_age.value - demography.adult_age.value:
        raise InputError("world: runs are limited to the years before anyone reaches 25")
    if config.seed < 0:
        raise InputError("world: seed must be a non-negative integer")


def _collect(population: Mapping[str, pl.DataFrame | pl.LazyFrame]) -> dict[str, pl.DataFrame]:
    missing = [name for name in TABLES if name not in population]
    if missing:
        raise InputError(f"world: population lacks table(s) {', '.join(missing)}")
    return {
        name: frame.collect() if isinstance(frame, pl.LazyFrame) else frame
        for name, frame in ((name, population[name]) for name in TABLES)
    }


class World:
    """A synthetic population living through the calendar, writing an event log."""

    def __init__(
        self,
        population: Mapping[str, pl.DataFrame | pl.LazyFrame],
        config: WorldConfig,
        log_path: Path | None = None,
        params: "ModelParameters | None" = None,
    ) -> None:
        if params is None:  # data/ as it stands
            from sim.parameters import model_parameters

            params = model_parameters()
        _check(config, params)
        tables = _collect(population)
        self.config, self.params = config, params
        births = params.demography.births_per_year.value
        scale = tables["children"].height / population_params().children_england.value
        spare = int(births * scale * config.days() / DAYS_PER_YEAR * 1.2) + 64
        self.state = WorldState(tables, spare)
        self.log = EventLog(self.state, log_path, config.chunk_rows)
        first = day_number(config.start)
        self.context = Context(
            state=self.state,
            log=self.log,
            scale=scale,
            first_day=first,
            last_day=first + config.days() - 1,
            seed=config.seed,
            replication=config.replication,
            params=params,
        )
        ordinals = np.sort(tables["authorities"]["ordinal"].to_numpy())
        self.care = SocialCare(self.context, destinations_for(ordinals, params.moves))
        births = Births(self.context, tables["authorities"], self.care.rates.pre_birth_daily)
        self.pre_birth = PreBirthPlans(self.context, births, self.care)
        self.steps: list[tuple[str, Callable[[int], None]]] = [
            ("births", births.step),
            ("pre_birth_plans", self.pre_birth.step),
            ("deaths", Deaths(self.context, self.care.end_care).step),
            ("adulthood", Adulthood(self.context, self.care.end_care).step),
            ("moves", Moves(self.context, ordinals).step),
            ("referrals", self.care.referrals),
            ("caf", self.care.caf),
            ("episode_ends", self.care.close_due),
        ]
        self.env = simpy.Environment()
        self.children_at_start = int(
            (self.state.children.status[: self.state.children.size] == PRESENT).sum()
        )

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with every batch of events as the world makes it."""
        self.log.listeners.append(listener)

    def today(self) -> dt.date:
        """The calendar date of the SimPy clock."""
        return to_date(self.context.first_day + int(self.env.now))

    def _daily(self, step: Callable[[int], None]):
        while True:
            step(self.context.first_day + int(self.env.now))
            yield self.env.timeout(1)

    def run(self, on_day: Callable[[dt.date], None] | None = None) -> RunSummary:
        """Run from start to end (inclusive) and close the log; `on_day` reports progress."""
        started = time.perf_counter()
        self.care.warm_start()
        self.pre_birth.warm_start()
        for _, step in self.steps:
            self.env.process(self._daily(step))
        if on_day is not None:
            self.env.process(self._daily(lambda day: on_day(to_date(day))))
        self.env.run(until=self.config.days())
        self.log.close()
        c = self.state.children
        return RunSummary(
            days=self.config.days(),
            children_at_start=self.children_at_start,
            children_at_end=int((c.status[: c.size] == PRESENT).sum()),
            events={name: int(n) for name, n in zip(EVENTS, self.log.counts, strict=True)},
            wall_seconds=time.perf_counter() - started,
        )
