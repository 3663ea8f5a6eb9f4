"""Costs against children linked: the ICER and the cost per hour saved, worked on paper."""

import math

import polars as pl
import pytest

from sim.experiments.economics import icer_rows, icer_table, linked_within


def _figures(rows):
    columns = ["replication", "arm", "total_gbp", "hours", "setup_gbp", "running_gbp"]
    frame = pl.DataFrame(rows, schema=columns, orient="row")
    return frame.with_columns(user_setup_gbp=pl.lit(0.0), lookup_gbp=pl.lit(0.0))


def _spells(replication, arm, days_linked):
    return [
        {"replication": replication, "arm": arm, "child_id": f"K{i}", "days": d, "linked": linked}
        for i, (d, linked) in enumerate(days_linked)
    ]


def test_linked_within_counts_moves_linked_by_each_threshold():
    spells = pl.DataFrame(_spells(0, "none", [(10, True), (45, True), (100, True), (20, False)]))
    counts = linked_within(spells).row(0, named=True)
    assert counts["linked_30"] == 1 and counts["linked_90"] == 2


def test_icer_is_the_cost_difference_over_additional_children_linked():
    """Two worlds. The index costs GBP 10,000 more in both, saves 100 then 300 hours (index
    costs GBP 12,000 then 12,000), and links 2 then 4 more moves within 30 days: ICER at 30 days
    = 10,000 / 3; cost per hour saved = 12,000 / 200."""
    figures = _figures(
        [
            (0, "none", 5_000.0, 400.0, 0.0, 0.0),
            (0, "index", 15_000.0, 300.0, 10_000.0, 2_000.0),
            (1, "none", 6_000.0, 500.0, 0.0, 0.0),
            (1, "index", 16_000.0, 200.0, 10_000.0, 2_000.0),
        ]
    )
    base0 = [(50, True)] * 5
    base1 = [(50, True)] * 5
    spells = pl.DataFrame(
        _spells(0, "none", base0)
        + _spells(0, "index", [(10, True)] * 2 + [(50, True)] * 3)
        + _spells(1, "none", base1)
        + _spells(1, "index", [(10, True)] * 4 + [(50, True)])
    )
    row = icer_table(figures, spells, "none").row(0, named=True)
    assert row["cost_difference_gbp"] == 10_000
    assert row["additional_linked_30"] == 3 and row["additional_linked_90"] == 0
    assert row["icer_30_gbp"] == pytest.approx(10_000 / 3)
    assert row["icer_30_low"] == pytest.approx(2_500) and row["icer_30_high"] == pytest.approx(
        5_000
    )
    assert math.isnan(row["icer_90_gbp"])  # no additional child linked within 90 days
    assert row["hours_saved"] == 200 and row["cost_per_hour_saved_gbp"] == pytest.approx(60)
    _, rows = icer_rows(icer_table(figures, spells, "none"))
    assert "dominated" in rows[0][3] and rows[0][2].startswith("3.0; GBP 3,333")


def test_a_regime_that_costs_practitioner_time_is_dominated_on_hours_not_on_children():
    """Two worlds where the index links 1 more move within 30 days in each but costs 50 more
    practitioner hours: the ICER at 30 days is defined (GBP 10,000 per child) and the cost per
    hour saved is dominated because no hours are saved, and each cell says so."""
    figures = _figures(
        [
            (0, "none", 5_000.0, 400.0, 0.0, 0.0),
            (0, "index", 15_000.0, 450.0, 10_000.0, 0.0),
            (1, "none", 5_000.0, 400.0, 0.0, 0.0),
            (1, "index", 15_000.0, 450.0, 10_000.0, 0.0),
        ]
    )
    spells = pl.DataFrame(
        _spells(0, "none", [(50, True)] * 2)
        + _spells(0, "index", [(10, True), (50, True)])
        + _spells(1, "none", [(50, True)] * 2)
        + _spells(1, "index", [(10, True), (50, True)])
    )
    _, rows = icer_rows(icer_table(figures, spells, "none"))
    assert rows[0][2] == "1.0; GBP 10,000 (10,000 to 10,000)"
    assert rows[0][3] == "0.0; dominated (the worlds link no additional child)"
    assert rows[0][4] == "-50; dominated (the worlds save no practitioner hours)"
