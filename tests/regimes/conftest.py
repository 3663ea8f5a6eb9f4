"""Fixtures for the regimes: a North West population and worlds with every scenario riding."""

import datetime as dt

import polars as pl
import pytest

from sim.parameters import model_parameters
from sim.population.synth import SynthRequest, synthesise
from sim.reference import load_authorities
from sim.regimes import (
    SCENARIOS,
    RegimeRunner,
    SimulationConfig,
    build_schedule,
    path_params,
    run_simulation,
)
from sim.world import World, WorldConfig

NORTH_WEST = tuple(a.code for a in load_authorities() if a.region == "North West")
REAL_INDEX_PERIOD = (dt.date(2010, 1, 1), dt.date(2010, 10, 31))


@pytest.fixture(scope="session")
def north_west() -> dict[str, pl.DataFrame]:
    """The 23 North West authorities at 10%: about 150,000 children."""
    return synthesise(SynthRequest(seed=2, scale=0.1, authority_codes=NORTH_WEST))


def ride(population, seed: int = 7, scenarios=SCENARIOS, paths=None, log_path=None, params=None):
    """Run one world with the scenarios' regime layers; returns (world, runner, regime log).
    `params` are the run's parameters (data/ if None); `paths` replaces their paths section."""
    params = params or model_parameters()
    if paths is not None:
        params = params.model_copy(update={"paths": paths})
    world = World(population, WorldConfig(seed=seed), log_path=log_path, params=params)
    runner = RegimeRunner(world, [build_schedule(s, parameters=params) for s in scenarios])
    world.run(on_day=runner.on_day)
    return world, runner, runner.regime_log()


def eager_paths():
    """Paths with every practitioner looking up at every encounter: more lookups to check."""
    params = path_params()
    always = params.lookup_propensity.model_copy(update={"value": [1.0] * 7})
    full = params.compliance.model_copy(update={"value": 1.0})
    return params.model_copy(update={"lookup_propensity": always, "compliance": full})


@pytest.fixture(scope="session")
def eager():
    return eager_paths()


@pytest.fixture(scope="session")
def ridden(north_west):
    """Every named scenario on one North West world (seed 7), practitioners always looking."""
    return ride(north_west, paths=eager_paths())


@pytest.fixture(scope="session")
def rider():
    return ride


@pytest.fixture(scope="session")
def outcomes():
    """`outcomes(log, scenario)`: each case's reconnection date and path, or null."""
    return case_reconnections


def case_reconnections(log: pl.DataFrame, scenario: str) -> pl.DataFrame:
    """Each case's reconnection (date and path), or null, for one scenario."""
    cases = log.filter((pl.col("scenario") == scenario) & (pl.col("event") == "case_open"))
    found = log.filter(
        (pl.col("scenario") == scenario) & (pl.col("event") == "reconnection")
    ).select("case", pl.col("date").alias("reconnected"), "path")
    return (
        cases.select("case", "child_id", "care", "opened")
        .join(found, on="case", how="left")
        .sort("case")
    )


# Bolton, Bury, Manchester, Salford and Wigan: North West early adopters (May 2009)
LIVE_AUTHORITIES = ("E08000001", "E08000002", "E08000003", "E08000006", "E08000010")


@pytest.fixture(scope="session")
def live_deployment(tmp_path_factory):
    """Five Greater Manchester authorities at 10% (seed 4), written by `cpw synth` and
    deployed by `cpw deploy` with the cheap 'simulation' hashing; returns (deployment,
    population tables)."""
    from sim.deployment.deploy import deploy
    from sim.population.output import write_population

    root = tmp_path_factory.mktemp("live")
    write_population(
        SynthRequest(seed=4, scale=0.1, authority_codes=LIVE_AUTHORITIES), root / "pop"
    )
    deploy(root / "pop", root / "dep", profile="simulation", users=6, canaries=2)
    tables = ("children", "households", "carers", "schools", "gp_practices", "authorities")
    return root / "dep", {name: pl.read_parquet(root / "pop" / name) for name in tables}


def run_with_index(population, deployment, out, paths, scenarios=("contactpoint_kept",), **changes):
    """A run (REAL_INDEX_PERIOD, seed 6) with the real index inside; returns its regime log.

    Every child's lookups stay modelled unless `population_through_index=True` is given: with
    every practitioner looking (eager paths) they are tens of thousands of audited lookups."""
    start, end = REAL_INDEX_PERIOD
    changes.setdefault("population_through_index", False)
    config = SimulationConfig(
        seed=6,
        scenarios=scenarios,
        start=start,
        end=end,
        deployment=deployment,
        paths=paths,
        **changes,
    )
    run_simulation(population, config, out)
    return pl.read_parquet(out / "regime_log.parquet")


def lookups_in(log: pl.DataFrame, scenario: str) -> pl.DataFrame:
    return log.filter((pl.col("event") == "lookup") & (pl.col("scenario") == scenario))


@pytest.fixture(scope="session")
def real_run():
    """`real_run(population, deployment, out, paths, scenarios, **changes)`: see run_with_index."""
    return run_with_index


@pytest.fixture(scope="session")
def lookups():
    """`lookups(log, scenario)`: the lookup events of one scenario."""
    return lookups_in
