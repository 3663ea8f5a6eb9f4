"""Common random numbers: every regime runs on the same world, and differs only by design."""

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.regimes import SCENARIOS, path_params
from sim.world import World, WorldConfig


def test_regime_layers_do_not_change_the_world(north_west, rider, tmp_path):
    """The world's event log is the same with no regime layer, one, or all of them."""
    bare = World(north_west, WorldConfig(seed=7), log_path=tmp_path / "bare.parquet")
    bare.run()
    rider(north_west, scenarios=("none",), log_path=tmp_path / "one.parquet")
    rider(north_west, scenarios=SCENARIOS, log_path=tmp_path / "all.parquet")
    expected = pl.read_parquet(tmp_path / "bare.parquet")
    assert expected.height > 10_000
    for name in ("one", "all"):
        assert pl.read_parquet(tmp_path / f"{name}.parquet").equals(expected)


def test_every_scenario_sees_the_same_vulnerable_movers(ridden, outcomes):
    """The same cases (child, care, date) open under every scenario."""
    _, _, log = ridden
    reference = outcomes(log, "none").select("case", "child_id", "care", "opened")
    assert reference.height > 50
    for scenario in SCENARIOS:
        cases = outcomes(log, scenario).select("case", "child_id", "care", "opened")
        assert cases.equals(reference), scenario


def test_without_lookups_every_regime_fares_as_none(north_west, rider, outcomes):
    """With lookup propensity 0 no regime looks anyone up, so every outcome equals `none`'s."""
    params = path_params()
    never = params.lookup_propensity.model_copy(update={"value": [0.0] * 7})
    paths = params.model_copy(update={"lookup_propensity": never})
    _, _, log = rider(north_west, seed=11, paths=paths)
    assert log.filter(pl.col("event") == "lookup").is_empty()
    reference = outcomes(log, "none")
    assert reference["reconnected"].is_not_null().sum() > 10
    for scenario in SCENARIOS:
        assert outcomes(log, scenario).equals(reference), scenario
        hours = log.filter(pl.col("scenario") == scenario)["hours"].sum()
        assert hours == log.filter(pl.col("scenario") == "none")["hours"].sum()


def test_cp_is_changes_nothing_for_children_never_flagged(ridden, outcomes):
    """Children in need with no plan or care episode fare exactly as under `none`."""
    _, _, log = ridden
    flagged_log = log.filter(
        (pl.col("scenario") == "cp_is") & (pl.col("event") == "lookup") & pl.col("contacts_shown")
    )
    assert flagged_log.height > 0  # CP-IS does reconnect some flagged children
    unflagged = _never_flagged(ridden)
    none = outcomes(log, "none").filter(pl.col("child_id").is_in(unflagged))
    signposting = outcomes(log, "cp_is").filter(pl.col("child_id").is_in(unflagged))
    assert none.height > 20
    assert signposting.equals(none)
    assert set(flagged_log["child_id"]).isdisjoint(unflagged)


def _never_flagged(ridden) -> list[str]:
    """Children who were never on a plan or in care during the run (by the runner's record)."""
    world, runner, log = ridden
    encounters = runner.encounters
    children = log.filter(pl.col("event") == "case_open")
    c = world.state.children
    ids = c.child_id[: c.size].astype(str)
    ever = set(ids[encounters.flag_ended[: c.size] != -1])
    ever |= set(
        children.filter(pl.col("care").is_in(["child_protection_plan", "looked_after"]))["child_id"]
    )
    ever |= set(ids[(c.care[: c.size] == 3) | (c.care[: c.size] == 4)])
    return sorted(set(children["child_id"]) - ever)


def test_switching_off_changes_nothing_before_the_date(ridden):
    """History and the kept counterfactual agree on every row dated before 6 August 2010."""
    _, _, log = ridden
    before = pl.col("date") < dt.date(2010, 8, 6)
    history = log.filter((pl.col("scenario") == "contactpoint") & before).drop("scenario")
    kept = log.filter((pl.col("scenario") == "contactpoint_kept") & before).drop("scenario")
    assert history.filter(pl.col("event") == "lookup").height > 20
    assert history.equals(kept)
    after = (pl.col("date") > dt.date(2010, 8, 6)) & (pl.col("event") == "lookup")
    assert log.filter((pl.col("scenario") == "contactpoint_kept") & after).height > 0


def test_no_lookup_under_none_or_after_switch_off(ridden):
    """`none` makes no lookups; history's last ContactPoint lookup is on or before 6 Aug 2010."""
    _, _, log = ridden
    lookups = log.filter(pl.col("event") == "lookup")
    assert lookups.filter(pl.col("scenario") == "none").is_empty()
    history = lookups.filter(pl.col("scenario") == "contactpoint")
    assert history["date"].max() <= dt.date(2010, 8, 6)
    assert (history["regime"] == "contactpoint").all()


@settings(max_examples=50, deadline=None)
@given(
    switch=st.datetimes(min_value=dt.datetime(2009, 1, 2), max_value=dt.datetime(2011, 3, 30)),
    minute=st.integers(0, 1439),
    offset=st.integers(-400, 400),
)
def test_schedule_is_none_from_the_switch_minute(switch, minute, offset):
    """At any minute, a switched-off schedule is in ContactPoint before the switch, none after."""
    from sim.regimes import build_schedule
    from sim.world.calendar import day_number

    schedule = build_schedule("contactpoint", switch_off=switch)
    day = day_number(switch.date()) + offset
    regime = schedule.regimes[int(schedule.index_at(day, [minute])[0])]
    at = dt.datetime.combine(switch.date() + dt.timedelta(days=offset), dt.time()) + dt.timedelta(
        minutes=minute
    )
    assert regime.name == (
        "none" if at >= switch.replace(second=0, microsecond=0) else "contactpoint"
    )
