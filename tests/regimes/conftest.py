"""Fixtures for the regimes: a North West population and worlds with every scenario riding."""

import polars as pl
import pytest

from sim.population.synth import SynthRequest, synthesise
from sim.reference import load_authorities
from sim.regimes import SCENARIOS, RegimeRunner, build_schedule, path_params
from sim.world import World, WorldConfig

NORTH_WEST = tuple(a.code for a in load_authorities() if a.region == "North West")


@pytest.fixture(scope="session")
def north_west() -> dict[str, pl.DataFrame]:
    """The 23 North West authorities at 10%: about 150,000 children."""
    return synthesise(SynthRequest(seed=2, scale=0.1, authority_codes=NORTH_WEST))


def ride(population, seed: int = 7, scenarios=SCENARIOS, paths=None, log_path=None):
    """Run one world with the scenarios' regime layers; returns (world, runner, regime log)."""
    paths = paths or path_params()
    world = World(population, WorldConfig(seed=seed), log_path=log_path)
    runner = RegimeRunner(world, [build_schedule(s, paths=paths) for s in scenarios], paths)
    world.run(on_day=runner.on_day)
    return world, runner, runner.regime_log()


def eager_paths():
    """Paths with every practitioner looking up at every encounter: more lookups to check."""
    params = path_params()
    always = params.lookup_propensity.model_copy(update={"value": [1.0] * 5})
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
