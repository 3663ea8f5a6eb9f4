"""Vulnerable movers and their encounters (sim/world/encounters.py)."""

import polars as pl

from sim.world.calendar import DAYS_PER_YEAR
from sim.world.encounters import encounter_params
from sim.world.state import NO_CARE


def test_cases_are_vulnerable_movers_between_authorities(ridden):
    """Every case crossed an authority border with open involvement; every such move is a case."""
    _, runner, _ = ridden
    cases = runner.encounters.cases
    n = cases.size
    assert n > 100
    assert (cases.from_authority[:n] != cases.to_authority[:n]).all()
    assert ((cases.care[:n] != NO_CARE) | cases.lead_professional[:n]).all()


def test_cases_match_the_world_log(ridden):
    """Cases open on the days of cross-border moves recorded in the world's own event log."""
    world, runner, log = ridden
    c, cases = world.state.children, runner.encounters.cases
    opened = pl.DataFrame(
        {
            "child_id": c.child_id[cases.child[: cases.size]].astype(str),
            "day": cases.opened[: cases.size],
        }
    )
    none = log.filter((pl.col("scenario") == "none") & (pl.col("event") == "case_open"))
    assert none.height == opened.height
    assert sorted(none["child_id"]) == sorted(opened["child_id"])


def test_unscheduled_care_comes_at_its_rate(ridden):
    """Unscheduled-care lookups (eager, local) stay within twice the data's rate per case-year."""
    _, _, log = ridden
    local = log.filter(pl.col("scenario") == "local")
    lookups = local.filter((pl.col("event") == "lookup") & (pl.col("kind") == "unscheduled_care"))
    cases = local.filter(pl.col("event") == "case_open")
    # Local lookups are made at every encounter under eager paths, whether or not a case is
    # still searching, until reconnection; so they bound the encounters from below.
    years = cases.height * encounter_params().follow_days.value / DAYS_PER_YEAR
    assert lookups.height <= 2 * encounter_params().unscheduled_care_per_year.value * years
    assert lookups.height > 0
