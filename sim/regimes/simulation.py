"""Run the world once with several scenarios' regimes riding on it, and write the results.

    summary = run_simulation(population, SimulationConfig(seed=1, region="North West"), out)

The output directory appears complete or not at all (sim.outputs.staged_directory):

    events.parquet            the world's event log (sim.world.events.SCHEMA)
    regime_log.parquet        lookups, phone-rounds, reconnections (sim.regimes.log)
    population_use.parquet    every child's encounters and lookups (sim.regimes.population_use)
    lookups.parquet           one row per lookup of any child: who, which child, what it found
    exposure.parquet          monthly records held and users by authority
    metrics.parquet, .csv     the long metrics table (sim.metrics.table)
    summary.csv               whole-run figures per scenario
    reconnection_times.csv    the distribution of days to reconnection
    switch_off-NAME.json      with a deployment: the runbook's shutdown evidence per scenario
    manifest.json             seed, scenarios, period, lookup backend, versions, data hashes

With `deployment` (a `cpw deploy` directory made from the same population), every scenario
that uses ContactPoint looks up through the real index on its own copy, fed by the world and
switched off by the decommissioning runbook (sim.regimes.inside).
"""

import datetime as dt
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from sim.errors import InputError
from sim.metrics.lost import reconnection_times
from sim.metrics.table import summary
from sim.outputs import check_output_dir, staged_directory, write_json
from sim.provenance import data_file_hashes, lock_record, package_versions
from sim.reference.authorities import load_authorities
from sim.regimes.inside import LiveRun
from sim.regimes.lookup import IndexLookup
from sim.regimes.parameters import PathParams
from sim.regimes.regimes import Schedule
from sim.regimes.ride import ride
from sim.regimes.scenarios import SCENARIOS, build_schedule
from sim.world import WorldConfig

if TYPE_CHECKING:  # sim.parameters imports the regimes' parameter models
    from sim.parameters import ModelParameters

Progress = Callable[[int, int], None]  # (days done, days in the run)


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate: seed, period, region (None: every authority given) and scenarios."""

    seed: int = 1
    scenarios: tuple[str, ...] = ("none", "contactpoint", "signposting_2010")
    region: str | None = None
    start: dt.date = dt.date(2009, 1, 1)
    end: dt.date = dt.date(2011, 3, 31)
    replication: int = 0
    force: bool = False
    lookup: IndexLookup | None = None  # e.g. a FacadeLookup over a deployment; modelled if None
    paths: PathParams | None = None  # replaces params.paths if given
    params: "ModelParameters | None" = None  # data/ as it stands if None
    deployment: Path | None = None  # a `cpw deploy` directory: the real index inside the run
    switch_off: dt.datetime | None = None  # switch every live index off then (see inside.py)
    # with a deployment, every child's lookups go through the real index too (batched, audited);
    # False keeps them modelled (search_miss_rate), as for a run of the case lookups only
    population_through_index: bool = True
    # every child's lookups answered by this many worker processes, each owning the accounts of
    # a group of authorities (sim.regimes.lookup_workers); None: one per core; 1: in this process
    lookup_workers: int | None = None


@dataclass(frozen=True)
class SimulationSummary:
    out_dir: Path
    days: int
    children_at_start: int
    world_events: int
    regime_events: int
    vulnerable_movers: int
    wall_seconds: float
    lookup_backend: str
    figures: pl.DataFrame  # summary.csv
    population_lookups: int = 0  # lookups of any child, every scenario (population_use)

    @property
    def events_per_second(self) -> float:
        return (self.world_events + self.regime_events) / max(self.wall_seconds, 1e-9)


def region_population(
    population: Mapping[str, pl.DataFrame | pl.LazyFrame], region: str
) -> dict[str, pl.DataFrame | pl.LazyFrame]:
    """The population restricted to one region's authorities (children, schools, practices)."""
    codes = [a.code for a in load_authorities() if a.region == region]
    if not codes:
        regions = sorted({a.region for a in load_authorities()})
        raise InputError(f"region {region!r} is not one of: {', '.join(regions)}")
    column = {"authorities": "authority_code"}
    restricted = {}
    for name, frame in population.items():
        key = column.get(name, "authority_code")
        names = frame.collect_schema().names()
        restricted[name] = frame.filter(pl.col(key).is_in(codes)) if key in names else frame
    return restricted


def _schedule(
    name: str, lookup: IndexLookup | None, params: "ModelParameters", live: IndexLookup | None
) -> Schedule:
    """Scenario `name`'s schedule, answering through a live index, else `lookup`, else the
    modelled index."""
    return build_schedule(name, live or lookup, parameters=params)


def run_simulation(
    population: Mapping[str, pl.DataFrame | pl.LazyFrame],
    config: SimulationConfig,
    out_dir: Path,
    progress: Progress | None = None,
) -> SimulationSummary:
    """Run every scenario of `config` on one world trajectory and write the outputs."""
    unknown = [s for s in config.scenarios if s not in SCENARIOS]
    if unknown or not config.scenarios or len(set(config.scenarios)) != len(config.scenarios):
        raise InputError(f"scenarios: give distinct names from {', '.join(SCENARIOS)}")
    check_output_dir(out_dir, config.force)
    if config.region is not None:
        population = region_population(population, config.region)
    if config.deployment is not None and config.lookup is not None:
        raise InputError("give a deployment or a lookup, not both")
    from sim.parameters import model_parameters

    params = config.params if config.params is not None else model_parameters()
    if config.paths is not None:
        params = params.model_copy(update={"paths": config.paths})
    started = time.perf_counter()
    world_config = WorldConfig(
        seed=config.seed, replication=config.replication, start=config.start, end=config.end
    )
    days = world_config.days()
    makers = [partial(_schedule, name, config.lookup, params) for name in config.scenarios]
    with staged_directory(out_dir, config.force) as staging, ExitStack() as stack:
        live = None
        if config.deployment is not None:
            live = stack.enter_context(
                LiveRun(
                    config.deployment,
                    population,
                    staging,
                    seed=config.seed,
                    replication=config.replication,
                    start=config.start,
                    switch_off=config.switch_off,
                    population_through_index=config.population_through_index,
                    lookup_workers=config.lookup_workers,
                )
            )

        def on_day(date: dt.date) -> None:
            if progress is not None:
                progress((date - config.start).days + 1, days)

        ridden = ride(
            population, world_config, params, makers, staging / "events.parquet", live, on_day
        )
        regime_log, exposure, runner = ridden.regime_log, ridden.exposure, ridden.runner
        world_summary, table = ridden.summary, ridden.table
        outcomes = ridden.outcomes.lazy()
        regime_log.write_parquet(staging / "regime_log.parquet")
        exposure.write_parquet(staging / "exposure.parquet")
        use = runner.population.frame()
        use.write_parquet(staging / "population_use.parquet")
        runner.population.lookups().write_parquet(staging / "lookups.parquet")
        table.write_parquet(staging / "metrics.parquet")
        table.write_csv(staging / "metrics.csv")
        figures = summary(table)
        figures.write_csv(staging / "summary.csv")
        reconnection_times(outcomes).collect().write_csv(staging / "reconnection_times.csv")
        wall = time.perf_counter() - started
        cases = int((regime_log["event"] == "case_open").sum()) // len(config.scenarios)
        backend = config.lookup.backend if config.lookup is not None else "modelled"
        backend = "deployment" if live is not None else backend
        write_json(
            staging / "manifest.json",
            {
                "kind": "simulation",
                "seed": config.seed,
                "replication": config.replication,
                "scenarios": list(config.scenarios),
                "region": config.region,
                "start": config.start.isoformat(),
                "end": config.end.isoformat(),
                "lookup_backend": backend,
                "index": live.manifest() if live is not None else None,
                "overrides": params.overrides,
                "paths": {
                    name: getattr(runner.paths, name).value
                    for name in type(runner.paths).model_fields
                },
                "children_at_start": world_summary.children_at_start,
                "world_events": world_summary.events,
                "regime_events": regime_log.height,
                "vulnerable_movers": cases,
                "wall_seconds": round(wall, 3),
                "versions": package_versions(),
                "lock": lock_record(),
                "data": data_file_hashes(),
            },
        )
    return SimulationSummary(
        out_dir=out_dir,
        days=days,
        children_at_start=world_summary.children_at_start,
        world_events=world_summary.total_events,
        regime_events=regime_log.height,
        vulnerable_movers=cases,
        wall_seconds=wall,
        lookup_backend=backend,
        figures=figures,
        population_lookups=int(use["lookups"].sum()),
    )
