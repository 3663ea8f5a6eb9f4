"""Common random numbers: the same seed gives the same log, and nothing outside can shift it."""

import datetime as dt

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from sim.streams import stream
from sim.world import World, WorldConfig

SIX_MONTHS = dt.date(2009, 6, 30)


@given(seed=st.integers(0, 2**32 - 1))
@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_same_seed_same_log(seed, bolton, world_runner, tmp_path_factory):
    """Two runs with one seed write identical event logs, row for row."""
    _, first = world_runner(bolton, tmp_path_factory.mktemp("a"), seed, end=SIX_MONTHS)
    _, second = world_runner(bolton, tmp_path_factory.mktemp("b"), seed, end=SIX_MONTHS)
    assert first.height > 50
    assert_frame_equal(first, second)


def test_other_seeds_and_replications_give_other_worlds(bolton, world_runner, tmp_path):
    """Changing the seed or the replication changes the trajectory."""
    _, base = world_runner(bolton, tmp_path / "base", 1, end=SIX_MONTHS)
    _, reseeded = world_runner(bolton, tmp_path / "seed", 2, end=SIX_MONTHS)
    _, replicated = world_runner(bolton, tmp_path / "rep", 1, end=SIX_MONTHS, replication=1)
    assert not base.equals(reseeded)
    assert not base.equals(replicated)


def test_a_listener_drawing_its_own_numbers_cannot_perturb_the_world(
    bolton, world_runner, tmp_path
):
    """A later layer (a regime, encounters) that draws from its own stream, even heavily, on
    every event the world makes, leaves the world's log exactly as it was."""
    _, alone = world_runner(bolton, tmp_path, 9, end=SIX_MONTHS)
    regime_rng = stream(9, "index", 0, 1)
    seen = []

    def regime(batch) -> None:
        seen.append(len(batch.child))
        regime_rng.random(1000)
        np.random.default_rng().random(10)

    path = tmp_path / "with-listener.parquet"
    world = World(bolton, WorldConfig(seed=9, end=SIX_MONTHS), log_path=path)
    world.subscribe(regime)
    world.run()
    assert_frame_equal(pl.read_parquet(path), alone)
    assert sum(seen) == alone.height
