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
from functools import partial
from pathlib import Path

import polars as pl

from sim.experiments.psa import replication_parameters
from sim.experiments.scenario import Arm, Scenario
from sim.metrics.linkage import spells
from sim.metrics.table import summary
from sim.outputs import write_json
from sim.parameters import ModelParameters
from sim.population.synth import SynthRequest, synthesise
from sim.regimes.inside import LiveRun, population_label
from sim.regimes.lookup import IndexLookup
from sim.regimes.regimes import Schedule
from sim.regimes.ride import ride
from sim.regimes.scenarios import make_regime
from sim.world import WorldConfig
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


def schedule(
    arm: Arm, start: dt.date, params: ModelParameters, lookup: IndexLookup | None = None
) -> Schedule:
    """The arm's regimes as a Schedule, with the replication's parameters.

    ContactPoint answers through `lookup`, or a modelled index if None."""
    paths, regimes = params.paths, params.regimes
    first = dt.datetime.combine(start, dt.time())
    return Schedule(
        arm.name,
        [
            (step.start or first, make_regime(step.regime, paths, regimes, lookup))
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
        lookup_workers=scenario.index.lookup_workers,
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
    """Run one replication into `directory`; returns its figures (one row per arm).

    Its parameters are the scenario's overrides on data/, and with PSA the replication's own
    draws of the uncertain ones (sim.experiments.psa); they are written to parameters.json."""
    directory.mkdir(parents=True, exist_ok=True)
    period = scenario.period
    params = replication_parameters(scenario, replication)
    write_json(directory / "parameters.json", {"replication": replication, **params.overrides})
    config = WorldConfig(
        seed=scenario.seed, replication=replication, start=period.start, end=period.end
    )
    makers = [partial(schedule, arm, period.start, params) for arm in scenario.arms]
    with ExitStack() as stack:
        people = population(scenario, synth_workers)
        live = None
        if scenario.index is not None:
            live = stack.enter_context(live_run(scenario, people, directory, replication))
        on_day = (lambda _: progress(1)) if progress is not None else None
        ridden = ride(people, config, params, makers, directory / "events.parquet", live, on_day)
        if live is not None:
            (directory / "index.json").write_text(json.dumps(live.manifest(), indent=1) + "\n")
    regime_log, exposure, outcomes = ridden.regime_log, ridden.exposure, ridden.outcomes
    table, use = ridden.table, ridden.runner.population
    if period.start <= YEAR_START and period.end >= YEAR_END:
        world_log = pl.scan_parquet(directory / "events.parquet")
        calibration_table(world_log, ridden.world.context.scale, params).write_csv(
            directory / "calibration.csv"
        )
    figures = _figures(table, outcomes, use.summary())
    regime_log.write_parquet(directory / "regime_log.parquet")
    exposure.write_parquet(directory / "exposure.parquet")
    table.write_parquet(directory / "metrics.parquet")
    outcomes.select(
        "scenario", "case", "authority", "care", "opened", "days", "path"
    ).write_parquet(directory / "outcomes.parquet")
    spells(regime_log.lazy(), outcomes.lazy()).write_parquet(directory / "spells.parquet")
    use.frame().write_parquet(directory / "population_use.parquet")
    use.lookups().write_parquet(directory / "lookups.parquet")  # one row per lookup of any child
    if not scenario.outputs.event_logs:
        (directory / "events.parquet").unlink()
    return figures.with_columns(replication=pl.lit(replication, pl.Int64))
