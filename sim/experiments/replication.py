"""One replication of a scenario: one world, every arm riding on it (common random numbers).

The world's draws are keyed by (scenario seed, replication) through sim.streams, so each
replication is an independent world and every arm of a replication sees the same one. The
population is made once from the scenario seed and is the same in every replication: the
replications vary the world's events, not the starting children.

Writes into `directory`: events.parquet (if the scenario keeps event logs), regime_log.parquet,
exposure.parquet, metrics.parquet, outcomes.parquet (one row per arm and case), spells.parquet
(time to linkage per arm and case, sim.metrics.linkage), population_use.parquet (every
child's encounters and lookups by arm, month, kind and whether known to social care),
lookups.parquet (one row per lookup of any child: who looked, which child, whether known to
social care, whether it showed a record) and, when the period covers the 2009-10 census year,
calibration.csv. With a scenario's `[index]`
deployment, each arm that uses ContactPoint looks up through its own copy of the real index
(sim.regimes.inside) and the replication also writes index.json (feeds, switch-offs, usage
rules' refusals and alerts, audited lookups) and
switch_off-ARM.json (the runbook's shutdown evidence); the copies are removed afterwards.
"""

import datetime as dt
import json
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import polars as pl

from sim.experiments.parameters import overridden
from sim.experiments.scenario import Arm, Scenario
from sim.metrics.linkage import spells
from sim.metrics.lost import case_outcomes
from sim.metrics.table import metrics_table, summary
from sim.population.synth import SynthRequest, synthesise
from sim.regimes.inside import LiveRun, population_label, uses_contactpoint
from sim.regimes.lookup import IndexLookup
from sim.regimes.parameters import path_params, regime_params
from sim.regimes.regimes import Schedule
from sim.regimes.runner import RegimeRunner
from sim.regimes.scenarios import make_regime
from sim.world import World, WorldConfig
from sim.world.calibration import YEAR_END, YEAR_START, calibration_table

DayProgress = Callable[[int], None]  # called with 1 after each simulated day
_population_cache: dict[tuple, dict[str, pl.DataFrame]] = {}


def population(scenario: Scenario, workers: int = 1) -> dict[str, pl.DataFrame]:
    """The scenario's synthetic children (made once per process and kept for its replications)."""
    key = (scenario.seed, scenario.population.scale, scenario.authority_codes())
    if key not in _population_cache:
        _population_cache.clear()
        request = SynthRequest(scenario.seed, scenario.population.scale, key[2])
        _population_cache[key] = synthesise(request, workers=workers)
    return _population_cache[key]


def schedule(arm: Arm, start: dt.date, lookup: IndexLookup | None = None) -> Schedule:
    """The arm's regimes as a Schedule; parameters are read now (overrides in force).

    ContactPoint answers through `lookup`, or a modelled index if None."""
    paths, params = path_params(), regime_params()
    first = dt.datetime.combine(start, dt.time())
    return Schedule(
        arm.name,
        [
            (step.start or first, make_regime(step.regime, paths, params, lookup))
            for step in arm.regimes
        ],
    )


def live_run(scenario: Scenario, people: dict, directory: Path, replication: int) -> LiveRun:
    """The replication's live indexes over the scenario's deployment (checked first)."""
    assert scenario.index is not None
    children = people["children"]
    label = population_label(children, scenario.seed, scenario.population.scale)
    return LiveRun(
        Path(scenario.index.deployment),
        people,
        directory,
        seed=scenario.seed,
        replication=replication,
        start=scenario.period.start,
        switch_off=scenario.index.switch_off,
        label=label,
    )


def _figures(table: pl.DataFrame, outcomes: pl.DataFrame, use: pl.DataFrame) -> pl.DataFrame:
    """Whole-run figures per arm, with the derived ratios the comparisons use, and the whole
    population's lookups, views and routine hours (sim.regimes.population_use)."""
    figures = (
        summary(table)
        .rename({"scenario": "arm"})
        .join(use.rename({"scenario": "arm"}), on="arm", how="left")
    )
    days = (
        outcomes.filter(pl.col("days").is_not_null())
        .group_by("scenario")
        .agg(mean_days_to_reconnection=pl.col("days").mean())
        .rename({"scenario": "arm"})
    )
    found = pl.col("reconnected_cases")
    return (
        figures.join(days, on="arm", how="left")
        .with_columns(
            cost_per_child_found_gbp=pl.when(found > 0).then(pl.col("total_gbp") / found),
            records_exposed_per_child_found=pl.when(found > 0).then(pl.col("records_held") / found),
        )
        .sort("arm")
    )


def run_replication(
    scenario: Scenario,
    replication: int,
    directory: Path,
    progress: DayProgress | None = None,
    synth_workers: int = 1,
) -> pl.DataFrame:
    """Run one replication into `directory`; returns its figures (one row per arm)."""
    directory.mkdir(parents=True, exist_ok=True)
    period = scenario.period
    with overridden(scenario.parameters), ExitStack() as stack:
        people = population(scenario, synth_workers)
        world = World(
            people,
            WorldConfig(
                seed=scenario.seed, replication=replication, start=period.start, end=period.end
            ),
            log_path=directory / "events.parquet",
        )
        live = None
        if scenario.index is not None:
            live = stack.enter_context(live_run(scenario, people, directory, replication))
        schedules = []
        for arm in scenario.arms:
            built = schedule(arm, period.start)
            if live is not None and uses_contactpoint(built):
                built = schedule(arm, period.start, live.index_for(arm.name))
                live.schedule_built(arm.name, built)
            schedules.append(built)
        runner = RegimeRunner(world, schedules, indexes=live.indexes() if live else None)
        if live is not None:
            live.feed_from(world)

        def on_day(date: dt.date) -> None:
            runner.on_day(date)
            if progress is not None:
                progress(1)

        world.run(on_day=on_day)
        if live is not None:
            (directory / "index.json").write_text(json.dumps(live.manifest(), indent=1) + "\n")
        regime_log, exposure = runner.regime_log(), runner.exposure()
        world_log = pl.scan_parquet(directory / "events.parquet")
        table = metrics_table(regime_log.lazy(), world_log, exposure.lazy(), period.end)
        outcomes = case_outcomes(regime_log.lazy(), world_log, period.end).collect()
        linkage_spells = spells(regime_log.lazy(), outcomes.lazy())
        if period.start <= YEAR_START and period.end >= YEAR_END:
            calibration_table(world_log, world.context.scale).write_csv(
                directory / "calibration.csv"
            )
        figures = _figures(table, outcomes, runner.population.summary())
        population_use = runner.population.frame()
        lookups = runner.population.lookups()  # one row per lookup of any child
    regime_log.write_parquet(directory / "regime_log.parquet")
    exposure.write_parquet(directory / "exposure.parquet")
    table.write_parquet(directory / "metrics.parquet")
    outcomes.select(
        "scenario", "case", "authority", "care", "opened", "days", "path"
    ).write_parquet(directory / "outcomes.parquet")
    linkage_spells.write_parquet(directory / "spells.parquet")
    population_use.write_parquet(directory / "population_use.parquet")
    lookups.write_parquet(directory / "lookups.parquet")
    if not scenario.outputs.event_logs:
        (directory / "events.parquet").unlink()
    return figures.with_columns(replication=pl.lit(replication, pl.Int64))
