"""The event log: its schema, chunked streaming, and what listeners see."""

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from sim.world import SCHEMA, World, WorldConfig

THREE_MONTHS = dt.date(2009, 3, 31)


def test_log_has_the_documented_schema(manchester_run):
    """Columns and types are exactly SCHEMA; every row names a child and an authority."""
    _, log = manchester_run
    assert log.schema == SCHEMA
    assert log["child_id"].null_count() == 0
    assert log["authority"].null_count() == 0
    assert log.filter(pl.col("event") == "move")["from_authority"].null_count() == 0
    assert log.filter(pl.col("event") != "move")["from_authority"].null_count() == (
        log.filter(pl.col("event") != "move").height
    )


def test_dates_run_forward_and_warm_start_episodes_began_before_the_run(manchester_run):
    """Rows come in calendar order; episodes open on the first day started before it."""
    world, log = manchester_run
    assert log["date"].is_sorted()
    opened = log.filter(pl.col("event") == "episode_open")
    assert opened.height > 100
    assert (opened["date"] == world.config.start).all()
    assert (opened["started"] <= world.config.start).all()
    assert (opened["started"] < world.config.start).mean() > 0.9


def test_small_chunks_write_the_same_log(bolton, tmp_path):
    """Streaming in many small row groups gives the same table as one large chunk."""
    frames = []
    for rows in (7, 1_000_000):
        path = tmp_path / f"chunks-{rows}.parquet"
        World(bolton, WorldConfig(seed=2, end=THREE_MONTHS, chunk_rows=rows), path).run()
        frames.append(pl.read_parquet(path))
    assert_frame_equal(frames[0], frames[1])
    assert frames[0].height > 20


def test_listeners_see_every_event_as_it_is_made(bolton, tmp_path):
    """A subscriber receives each batch once, in log order, with the run's counts."""
    world = World(bolton, WorldConfig(seed=2, end=THREE_MONTHS), tmp_path / "e.parquet")
    seen = []
    world.subscribe(lambda batch: seen.append((batch.event, len(batch.child))))
    summary = world.run()
    log = pl.read_parquet(tmp_path / "e.parquet")
    assert sum(n for _, n in seen) == log.height == summary.total_events
    assert summary.events["move"] == sum(n for e, n in seen if e.name == "MOVE")


def test_an_empty_run_still_writes_a_readable_log(tmp_path, bolton):
    """A one-day run with no events writes a log with the schema (metrics can always read it)."""
    path = tmp_path / "one-day.parquet"
    quiet = {name: frame.head(0) if name == "children" else frame for name, frame in bolton.items()}
    World(quiet, WorldConfig(seed=1, end=dt.date(2009, 1, 1)), path).run()
    assert pl.read_parquet(path).schema == SCHEMA
