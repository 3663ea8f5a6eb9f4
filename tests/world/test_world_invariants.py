"""What must hold in any run: one authority per child, ages on the calendar, families together."""

import datetime as dt

import numpy as np
import polars as pl
from polars.testing import assert_frame_equal

from sim.population.identifiers import valid_index_ids
from sim.population.output import read_population, write_population
from sim.population.synth import SynthRequest, synthesise
from sim.reference import load_authorities
from sim.world import World, WorldConfig
from sim.world.calendar import ages, anniversaries, day_number
from sim.world.state import LOOKED_AFTER, PRESENT, WorldState

CODES = np.array([a.code for a in load_authorities()])


def _replayed(population: dict[str, pl.DataFrame], log: pl.DataFrame) -> pl.DataFrame:
    """Each event with the authority the child was in just before it, replayed from the log.

    A child of the population starts in its authority; a child made during the run starts
    where its first event happened (its birth, or an unborn child's pre-birth plan)."""
    known = population["children"].select("child_id", start=pl.col("authority_code"))
    first_where = pl.when(pl.col("event") == "move").then("from_authority").otherwise("authority")
    made = (
        log.filter(~pl.col("child_id").is_in(known["child_id"].implode()))
        .group_by("child_id", maintain_order=True)
        .agg(start=first_where.first())
    )
    start = pl.concat([known, made])
    moved_to = pl.when(pl.col("event") == "move").then(pl.col("authority"))
    return (
        log.with_row_index("order")
        .join(start, on="child_id", how="left")
        .sort("child_id", "order")
        .with_columns(current=moved_to.forward_fill().over("child_id"))
        .with_columns(before=pl.col("current").shift(1).over("child_id").fill_null(pl.col("start")))
    )


def test_each_child_is_in_exactly_one_authority_at_any_time(manchester, manchester_run):
    """Every move leaves the authority the log last put the child in; other events happen there."""
    world, log = manchester_run
    replayed = _replayed(manchester, log)
    assert replayed["start"].null_count() == 0
    moves = replayed.filter(pl.col("event") == "move")
    assert moves.height > 500
    assert (moves["from_authority"] == moves["before"]).all()
    others = replayed.filter((pl.col("event") != "move") & (pl.col("event") != "birth"))
    assert (others["authority"] == others["current"].fill_null(others["start"])).all()

    final = replayed.group_by("child_id").agg(
        pl.col("current").drop_nulls().last(), pl.col("start").first()
    )
    c = world.state.children
    state = pl.DataFrame(
        {
            "child_id": pl.Series(c.child_id[: c.size]).cast(pl.String),
            "now": CODES[c.authority[: c.size]],
        }
    )
    joined = final.join(state, on="child_id")
    assert (joined["now"] == joined["current"].fill_null(joined["start"])).all()


def test_children_leave_on_their_18th_birthday_and_no_adult_stays_present(manchester_run):
    """left_index and kept_with_consent fall on the 18th birthday; everyone present is under 18."""
    world, log = manchester_run
    c = world.state.children
    born = pl.DataFrame(
        {"child_id": pl.Series(c.child_id[: c.size]).cast(pl.String), "born": c.born[: c.size]}
    )
    leaving = log.filter(pl.col("event").is_in(["left_index", "kept_with_consent"])).join(
        born, on="child_id"
    )
    assert leaving.height > 100
    birthdays = anniversaries(leaving["born"].to_numpy(), 18)
    assert np.array_equal(leaving["date"].cast(pl.Int32).to_numpy(), birthdays)
    last = day_number(world.config.end)
    present = np.flatnonzero(c.status[: c.size] == PRESENT)
    assert ages(c.born[present], last).max() == 17
    assert world.today() == world.config.end + dt.timedelta(days=1)


def test_no_event_after_a_child_dies_or_leaves(manchester_run):
    """A death or a departure at 18 is the child's last event."""
    _, log = manchester_run
    ordered = log.with_row_index("order")
    final = ordered.group_by("child_id").agg(pl.col("order").max().alias("last"))
    exits = ordered.filter(pl.col("event").is_in(["death", "left_index", "kept_with_consent"]))
    checked = exits.join(final, on="child_id")
    assert (checked["order"] == checked["last"]).all()


def test_a_household_moves_together(manchester_run):
    """All children of a household who moved on a day went from and to the same places, and the
    children living at home share the household's authority at the end."""
    world, log = manchester_run
    pairs = (
        log.filter(pl.col("event") == "move")
        .group_by("household_id", "date")
        .agg(pl.struct("from_authority", "authority").n_unique().alias("pairs"), pl.len())
    )
    assert pairs.filter(pl.col("len") > 1).height > 50
    assert (pairs["pairs"] == 1).all()
    c, h = world.state.children, world.state.households
    home = np.flatnonzero((c.status[: c.size] == PRESENT) & (c.care[: c.size] != LOOKED_AFTER))
    assert np.array_equal(c.authority[home], h.authority[c.household[home]])


def test_births_get_new_valid_unique_index_ids(manchester, manchester_run):
    """Newborns' IDs pass the check character and collide with no other child's."""
    world, log = manchester_run
    births = log.filter(pl.col("event") == "birth")["child_id"]
    assert births.len() > 300
    assert valid_index_ids(births).all()
    c = world.state.children
    everyone = pl.Series(c.child_id[: c.size]).cast(pl.String)
    assert everyone.n_unique() == c.size
    assert not births.is_in(manchester["children"]["child_id"].implode()).any()


def test_plans_and_care_sit_inside_an_episode_of_need(manchester_run):
    """Every plan or care start or end has a child-in-need row for the child on the same day."""
    _, log = manchester_run
    episodes = log.filter(pl.col("episode").is_not_null())
    plans = episodes.filter(pl.col("episode").is_in(["child_protection_plan", "looked_after"]))
    need = episodes.filter(pl.col("episode") == "child_in_need").select("child_id", "date", "event")
    assert plans.height > 50
    assert plans.join(need, on=["child_id", "date", "event"], how="anti").height == 0


def test_stocks_never_go_below_zero(manchester_run):
    """Opens and starts always precede ends: the running stock of each episode is never negative."""
    _, log = manchester_run
    sign = pl.when(pl.col("event") == "episode_end").then(-1).otherwise(1).alias("sign")
    running = (
        log.filter(pl.col("episode").is_not_null())
        .with_columns(sign)
        .with_columns(stock=pl.col("sign").cum_sum().over("episode"))
    )
    assert running["stock"].min() >= 0


def test_the_world_does_not_depend_on_the_row_order(bolton, tmp_path):
    """A population read back in another order (e.g. from parquet) gives the same event log."""
    shuffled = {name: frame.sample(fraction=1.0, seed=3) for name, frame in bolton.items()}
    logs = []
    for name, tables in (("memory", bolton), ("shuffled", shuffled)):
        path = tmp_path / f"{name}.parquet"
        World(tables, WorldConfig(seed=4, end=dt.date(2009, 6, 30)), path).run()
        logs.append(pl.read_parquet(path))
    assert logs[0].height > 50
    assert_frame_equal(logs[0], logs[1])


def test_a_population_directory_runs_like_frames_in_memory(tmp_path):
    """`cpw synth` output, scanned lazily, gives the same world as the same population in memory."""
    request = SynthRequest(seed=6, scale=0.01, authority_codes=("E08000001", "E06000001"))
    write_population(request, tmp_path / "population")
    logs = []
    for name, tables in (
        ("directory", read_population(tmp_path / "population")),
        ("memory", synthesise(request)),
    ):
        path = tmp_path / f"{name}.parquet"
        World(tables, WorldConfig(seed=4, end=dt.date(2009, 6, 30)), path).run()
        logs.append(pl.read_parquet(path))
    assert_frame_equal(logs[0], logs[1])


def test_households_are_read_whatever_the_row_order(bolton):
    """Families, and the count of children who move with each, survive any row order."""
    shuffled = dict(bolton) | {"children": bolton["children"].sample(fraction=1.0, seed=3)}
    state = WorldState(shuffled, spare=0)
    c, h = state.children, state.households
    families = pl.DataFrame(
        {
            "child_id": pl.Series(c.child_id[: c.size]).cast(pl.String),
            "household_id": h.household_id[c.household[: c.size]],
        }
    ).sort("child_id")
    expected = bolton["children"].select("child_id", "household_id").sort("child_id")
    assert families.equals(expected)
    assert h.movers[: h.size].sum() == c.size
    assert len(state.members(np.arange(h.size))) == c.size
