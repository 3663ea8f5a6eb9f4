"""Practitioners meet every child: encounters at their rates, lookups, views and hours."""

import numpy as np
import polars as pl

from sim.regimes import path_params
from sim.world.calendar import DAYS_PER_YEAR
from sim.world.state import PRESENT


def test_hours_are_lookups_and_unanswered_enquiries(ridden):
    """Per scenario: hours = lookups x lookup minutes + phone-rounds x phone-round hours, and
    phone-rounds are the enquiries a shown record did not answer (all of them with no index)."""
    _, runner, _ = ridden
    paths = path_params()
    use = runner.population.frame().group_by("scenario").agg(pl.exclude("month", "kind").sum())
    for row in use.iter_rows(named=True):
        expected = row["lookups"] * paths.lookup_minutes.value / 60
        expected += row["phone_rounds"] * paths.phone_round_hours.value
        assert abs(row["hours"] - expected) < 1e-6 * max(1.0, expected)
        assert row["phone_rounds"] <= row["enquiries"]
        assert row["views"] <= row["lookups"]
    none = use.filter(pl.col("scenario") == "none").row(0, named=True)
    assert none["lookups"] == 0 and none["phone_rounds"] == none["enquiries"] > 1000


def test_every_scenario_meets_the_same_children(ridden):
    """Encounters do not depend on the regime (common random numbers)."""
    _, runner, _ = ridden
    counts = runner.population.frame().group_by("scenario").agg(pl.col("encounters").sum())
    assert counts["encounters"].n_unique() == 1


def test_unscheduled_care_comes_at_its_population_rate(ridden):
    """About 0.33 attendances per child a year (within 5%)."""
    world, runner, _ = ridden
    frame = runner.population.frame().filter(
        (pl.col("scenario") == "none") & (pl.col("kind") == "unscheduled_care")
    )
    years = (world.context.last_day - world.context.first_day + 1) / DAYS_PER_YEAR
    c = world.state.children
    present = int((c.status[: c.size] == PRESENT).sum())  # about the same all run
    rate = frame["encounters"].sum() / (present * years)
    expected = runner.population.params.unscheduled_care_per_year.value
    assert abs(rate / expected - 1) < 0.05


def test_only_a_universal_index_shows_records_of_children_never_known(ridden):
    """Signposting (2010) and CP-IS hold only children known to social care, so they never show
    a never-known child's record; ContactPoint and local indexes show many."""
    _, runner, _ = ridden
    summary = {r["scenario"]: r for r in runner.population.summary().iter_rows(named=True)}
    for name in ("signposting_2010", "cp_is"):
        assert summary[name]["views_never_known"] == 0
        assert summary[name]["never_known_children_viewed"] == 0
    for name in ("contactpoint", "local"):
        assert summary[name]["views_never_known"] > 1000
        assert 1 <= summary[name]["services_per_viewed_child"] <= 7
        assert summary[name]["children_viewed"] <= summary[name]["population_views"]
    assert summary["contactpoint"]["routine_hours"] < summary["none"]["routine_hours"]


def test_viewed_bits_count_distinct_services(ridden):
    """A child's bit mask has one bit per kind of service that saw the record."""
    _, runner, _ = ridden
    bits = runner.population.viewed[1]
    assert bits.dtype == np.uint8 and bits.max() < 1 << 7


def test_every_lookup_is_a_row_that_adds_up_to_the_counts(ridden):
    """The lookups table: one row per lookup, by scenario, kind, known and viewed, matching
    the monthly counts; each row names a child of the world and the practitioner's authority."""
    world, runner, _ = ridden
    rows = runner.population.lookups()
    counts = runner.population.frame()
    keys = ["scenario", "kind", "known_to_social_care"]
    tallied = rows.group_by(keys).agg(
        pl.len().alias("rows"), pl.col("viewed").sum().alias("viewed_rows")
    )
    summed = counts.group_by(keys).agg(pl.col("lookups").sum(), pl.col("views").sum())
    joined = summed.filter(pl.col("lookups") > 0).join(tallied, on=keys, how="full", coalesce=True)
    assert (joined["rows"] == joined["lookups"]).all()
    assert (joined["viewed_rows"] == joined["views"]).all()
    ids = set(world.state.children.child_id[: world.state.children.size].astype(str))
    assert set(rows["child_id"].unique()) <= ids and rows["authority"].null_count() == 0
    assert rows.filter(pl.col("scenario") == "none").height == 0
