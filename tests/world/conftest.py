"""Fixtures for the world: small synthetic populations and a helper that runs a world."""

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from sim.population.synth import SynthRequest, synthesise
from sim.reference import load_authorities
from sim.world import World, WorldConfig

GREATER_MANCHESTER = ("E08000001", "E08000002", "E08000003", "E08000004")


@pytest.fixture(scope="session")
def bolton() -> dict[str, pl.DataFrame]:
    """Bolton at 2% scale: about 1,250 children."""
    return synthesise(SynthRequest(seed=1, scale=0.02, authority_codes=("E08000001",)))


@pytest.fixture(scope="session")
def manchester() -> dict[str, pl.DataFrame]:
    """Four Greater Manchester authorities at 5%: about 13,000 children in 7,000 households."""
    return synthesise(SynthRequest(seed=4, scale=0.05, authority_codes=GREATER_MANCHESTER))


@pytest.fixture(scope="session")
def manchester_run(manchester, tmp_path_factory) -> tuple[World, pl.DataFrame]:
    """The four authorities through the default period, 2009-01-01 to 2011-03-31."""
    return run_world(manchester, tmp_path_factory.mktemp("world"), seed=5)


@pytest.fixture(scope="session")
def world_runner():
    """`run_world(population, directory, seed, end=..., **config)` -> (world, event log)."""
    return run_world


@pytest.fixture(scope="session")
def england_5_percent() -> dict[str, pl.DataFrame]:
    """All 152 authorities at 5% of England: about 550,000 children."""
    codes = tuple(a.code for a in load_authorities())
    return synthesise(SynthRequest(seed=3, scale=0.05, authority_codes=codes))


def run_world(
    population: dict[str, pl.DataFrame],
    directory: Path,
    seed: int,
    end: dt.date = dt.date(2011, 3, 31),
    **options,
) -> tuple[World, pl.DataFrame]:
    """Run a world to `end` and read back its event log."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"events-{seed}-{end}.parquet"
    world = World(population, WorldConfig(seed=seed, end=end, **options), log_path=path)
    world.run()
    return world, pl.read_parquet(path)
