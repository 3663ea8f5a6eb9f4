"""A region run has open boundaries: moves that would leave it come back as arrivals, so the
region's between-authority moves match the reference (not a closed world's ~0.7 of it)."""

import datetime as dt

import numpy as np
import polars as pl

from sim.population.synth import SynthRequest, synthesise
from sim.reference import load_authorities
from sim.world.calibration import calibration_table
from sim.world.destinations import destinations_for

AUTHORITIES = load_authorities()
NORTH_WEST = np.array([i for i, a in enumerate(AUTHORITIES) if a.region == "North West"])


def test_all_england_has_nothing_to_arrive_from():
    assert destinations_for(np.arange(len(AUTHORITIES))).arrivals is None


def test_arrivals_land_inside_and_never_on_the_origin():
    destinations = destinations_for(NORTH_WEST)
    assert destinations.arrivals is not None and (destinations.retained < 1).all()
    rng = np.random.default_rng(1)
    origins = np.repeat(np.arange(len(NORTH_WEST)), 200)
    drawn = destinations.draw_open(rng, origins)
    assert np.isin(drawn, NORTH_WEST).all()
    assert (drawn != NORTH_WEST[origins]).all()


def test_north_west_moves_between_authorities_within_ten_percent(world_runner, tmp_path):
    codes = tuple(AUTHORITIES[i].code for i in NORTH_WEST)
    people = synthesise(SynthRequest(seed=6, scale=0.05, authority_codes=codes))
    world, _ = world_runner(people, tmp_path, seed=3, end=dt.date(2010, 3, 31))
    log = pl.scan_parquet(tmp_path / f"events-3-{dt.date(2010, 3, 31)}.parquet")
    table = calibration_table(log, world.context.scale)
    moves = table.filter(pl.col("measure") == "moves_between_authorities").row(0, named=True)
    assert abs(moves["ratio"] - 1) <= 0.1


def test_arrivals_are_the_same_draws_as_the_open_destinations():
    destinations = destinations_for(NORTH_WEST)
    origins = np.repeat(np.arange(len(NORTH_WEST)), 100)
    drawn, arrived = destinations.draw_arrivals(np.random.default_rng(4), origins)
    assert (drawn == destinations.draw_open(np.random.default_rng(4), origins)).all()
    assert 0 < arrived.mean() < 1
    everywhere = destinations_for(np.arange(len(AUTHORITIES)))
    assert not everywhere.draw_arrivals(np.random.default_rng(4), origins)[1].any()


def test_arrivals_from_the_rest_of_england_carry_their_origin(world_runner, tmp_path):
    """Moves that came in over a region's open boundary say so; nothing else has an origin."""
    codes = ("E08000001", "E08000002")  # Bolton and Bury
    people = synthesise(SynthRequest(seed=6, scale=0.02, authority_codes=codes))
    _, log = world_runner(people, tmp_path, seed=3, end=dt.date(2009, 12, 31))
    moves = log.filter(pl.col("event") == "move")
    arrivals = moves.filter(pl.col("origin").is_not_null())
    assert arrivals.height > 0 and set(arrivals["origin"]) == {"rest of England"}
    assert (arrivals["authority"] != arrivals["from_authority"]).all()
    between = moves.filter(pl.col("authority") != pl.col("from_authority"))
    assert arrivals.height < between.height  # some moves stay between the two
    assert log.filter(pl.col("event") != "move")["origin"].null_count() == log.height - moves.height
