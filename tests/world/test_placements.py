"""Looked-after children placed in another authority: a move of the child alone."""

import polars as pl

from sim.world.parameters import care_params


def test_some_children_starting_care_are_placed_in_another_authority(manchester_run):
    """About the sourced share of care starts come with a move the same day, of that child
    only (the household stays), into another simulated authority."""
    _, log = manchester_run
    starts = log.filter(
        (pl.col("event") == "episode_start") & (pl.col("episode") == "looked_after")
    ).select("child_id", "date", "household_id")
    moves = log.filter(pl.col("event") == "move").select(
        "child_id", "date", "household_id", "authority", "from_authority"
    )
    placed = starts.join(moves, on=["child_id", "date", "household_id"])
    assert starts.height > 20 and placed.height > 0
    assert (placed["authority"] != placed["from_authority"]).all()
    share = placed.height / starts.height
    expected = care_params().looked_after_placed_out_share.value
    assert abs(share - expected) < 0.25  # four authorities keep most of the kernel's moves
    together = moves.join(placed.select("household_id", "date"), on=["household_id", "date"])
    assert together.height == placed.height  # nobody else in the household moved that day
