"""Unborn children on a pre-birth plan (sim.world.pregnancy): they live and move with their
family, are born on their due date, are flagged by CP-IS and never found on ContactPoint,
which held children from birth only."""

import numpy as np
import polars as pl
import pytest

from sim.parameters import model_parameters
from sim.world.state import UNBORN

# Every plan made before birth, and made early, so a 10% North West has unborn movers to see,
# and unscheduled care often enough that their encounters come before the birth.
MANY_UNBORN = {
    "world.care.pre_birth_plan_share": 1.0,
    "world.care.pre_birth_plan_lead_days": 250,
    "regimes.encounters.unscheduled_care_per_year": 12.0,
}


@pytest.fixture(scope="module")
def unborn_run(north_west, rider, eager, tmp_path_factory):
    """North West, three regimes, practitioners always looking; (world, regime log, events)."""
    path = tmp_path_factory.mktemp("pre-birth") / "events.parquet"
    world, _, log = rider(
        north_west,
        scenarios=("none", "contactpoint_kept", "cp_is"),
        paths=eager,
        log_path=path,
        params=model_parameters(MANY_UNBORN),
    )
    return world, log, pl.read_parquet(path), north_west["children"]["child_id"]


def _births(world) -> pl.DataFrame:
    """child_id -> day of birth (a due day after the run for children still unborn)."""
    c = world.state.children
    return pl.DataFrame(
        {
            "child_id": pl.Series(c.child_id[: c.size]).cast(pl.String),
            "born": pl.Series(c.born[: c.size]).cast(pl.Date),
            "unborn_at_end": c.status[: c.size] == UNBORN,
        }
    )


def _unborn_cases(world, log: pl.DataFrame, scenario: str) -> pl.DataFrame:
    return log.filter((pl.col("scenario") == scenario) & pl.col("unborn")).join(
        _births(world), on="child_id"
    )


def test_unborn_children_start_on_a_plan_and_are_born_on_their_due_date(unborn_run):
    """A pre-birth plan starts with the unborn child's referral; the birth comes later, on the
    due day kept in the state; nothing that needs a born child happens before it."""
    world, _, events, known = unborn_run
    first = (
        events.filter(~pl.col("child_id").is_in(known.implode()))
        .group_by("child_id", maintain_order=True)
        .agg(pl.col("event").first().alias("first"), pl.col("date").first().alias("planned"))
    )
    assert set(first["first"].cast(pl.String)) <= {"referral", "birth", "episode_open"}
    planned = first.filter(pl.col("first") == "referral").join(_births(world), on="child_id")
    assert planned.height > 100
    births = events.filter(pl.col("event") == "birth").select("child_id", birth="date")
    born = planned.join(births, on="child_id")
    assert born.height > 50
    assert (born["birth"] == born["born"]).all()
    assert (born["birth"] > born["planned"]).all()
    assert planned.join(births, on="child_id", how="anti")["unborn_at_end"].all()
    plan_starts = events.filter(
        (pl.col("event") == "episode_start") & (pl.col("episode") == "child_protection_plan")
    ).select("child_id", "date")
    assert (
        planned.join(
            plan_starts, left_on=["child_id", "planned"], right_on=["child_id", "date"]
        ).height
        == planned.height
    )
    before = events.join(planned.select("child_id", "born"), on="child_id").filter(
        pl.col("date") < pl.col("born")
    )
    allowed = {"referral", "episode_start", "episode_end", "move"}
    assert set(before["event"].cast(pl.String)) <= allowed
    assert before.filter(pl.col("event") == "move").height > 20


def test_an_unborn_child_moves_with_its_family(unborn_run):
    """An unborn child's move is its household's move: every child who moves from that
    household that day goes to the same authority."""
    world, _, events, known = unborn_run
    planned = _births(world).filter(~pl.col("child_id").is_in(known.implode()))
    moves = events.filter(pl.col("event") == "move")
    unborn_moves = moves.join(planned, on="child_id").filter(pl.col("date") < pl.col("born"))
    assert unborn_moves.height > 20
    households = unborn_moves.select("household_id", "date").unique()
    same_day = moves.join(households, on=["household_id", "date"])
    destinations = same_day.group_by("household_id", "date").agg(pl.col("authority").n_unique())
    assert destinations["authority"].max() == 1
    assert same_day.height > unborn_moves.height  # families with elder children among them


def test_contactpoint_never_looks_up_an_unborn_child(unborn_run):
    """ContactPoint held children from birth (docs/reference.md s5a): an unborn mover's encounters
    before birth bring no lookup, though practitioners ring round for them as under none."""
    world, log, _, _ = unborn_run
    for scenario in ("contactpoint_kept", "none"):
        cases = _unborn_cases(world, log, scenario)
        before = cases.filter(pl.col("date") < pl.col("born"))
        assert before.filter(pl.col("event") == "lookup").height == 0
        assert before.filter(pl.col("event") == "phone_round").height > 0


def test_cp_is_flags_an_unborn_child_before_birth(unborn_run):
    """CP-IS shows a pre-birth plan on the mother's record: unscheduled care sees the flag
    before the birth and the notification reconnects the case."""
    world, log, _, _ = unborn_run
    cases = _unborn_cases(world, log, "cp_is")
    before = cases.filter(pl.col("date") < pl.col("born"))
    lookups = before.filter(pl.col("event") == "lookup")
    assert lookups.height > 0
    assert lookups["found"].all()
    notified = cases.filter(
        (pl.col("event") == "reconnection") & (pl.col("path") == "notification")
    )
    assert notified.height > 0
    assert np.all(notified["date"].to_numpy() > notified["opened"].to_numpy())
