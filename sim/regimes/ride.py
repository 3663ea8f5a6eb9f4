"""One world with regimes riding on it, and its metrics: the core every run path shares.

    ridden = ride(people, WorldConfig(seed=1), params, makers, log_path)

sim.experiments.replication.run_replication (cpw simulate, compare, sweep, sensitivity, the
notebooks) and sim.regimes.simulation.run_simulation both run through here, so a world, its
regimes and its metrics are made one way, from one ModelParameters passed in.

Each maker builds one arm's Schedule given the lookup ContactPoint answers through (None: the
modelled index). With a live deployment (sim.regimes.inside.LiveRun), an arm that uses
ContactPoint is built again on its own live copy and the copies are fed from the world.
"""

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from sim.metrics.lost import case_outcomes
from sim.metrics.table import metrics_table
from sim.regimes.inside import LiveRun, uses_contactpoint
from sim.regimes.lookup import IndexLookup
from sim.regimes.regimes import Schedule
from sim.regimes.runner import RegimeRunner
from sim.world import World, WorldConfig
from sim.world.world import RunSummary

if TYPE_CHECKING:  # sim.parameters imports the regimes' parameter models
    from sim.parameters import ModelParameters

ScheduleMaker = Callable[[IndexLookup | None], Schedule]


@dataclass(frozen=True)
class Ridden:
    """What one world with its regimes produced."""

    world: World
    runner: RegimeRunner
    summary: RunSummary
    regime_log: pl.DataFrame
    exposure: pl.DataFrame
    outcomes: pl.DataFrame  # one row per arm and case (sim.metrics.lost.case_outcomes)
    table: pl.DataFrame  # the long metrics table (sim.metrics.table)


def ride(
    people: Mapping[str, pl.DataFrame | pl.LazyFrame],
    config: WorldConfig,
    params: "ModelParameters",
    makers: list[ScheduleMaker],
    log_path: Path,
    live: LiveRun | None = None,
    on_day: Callable[[dt.date], None] | None = None,
) -> Ridden:
    """Run the world from start to end with every arm riding; the event log goes to
    `log_path` and is read back once for the case outcomes and the metrics."""
    schedules = [make(None) for make in makers]
    if live is not None:  # the live copies are made while the world is built
        live.prepare([built.name for built in schedules if uses_contactpoint(built)])
    world = World(people, config, log_path=log_path, params=params)
    for k, make in enumerate(makers):
        if live is not None and uses_contactpoint(schedules[k]):
            schedules[k] = make(live.index_for(schedules[k].name))
            live.schedule_built(schedules[k].name, schedules[k])
    runner = RegimeRunner(world, schedules, indexes=live.indexes() if live else None)
    if live is not None:
        live.feed_from(world)

    def step(date: dt.date) -> None:
        runner.on_day(date)
        if on_day is not None:
            on_day(date)

    summary = world.run(on_day=step)
    regime_log, exposure = runner.regime_log(), runner.exposure()
    world_log = pl.scan_parquet(log_path)
    outcomes = case_outcomes(regime_log.lazy(), world_log, config.end).collect()
    table = metrics_table(
        regime_log.lazy(), world_log, exposure.lazy(), config.end, params.costs, outcomes.lazy()
    )
    return Ridden(world, runner, summary, regime_log, exposure, outcomes, table)
