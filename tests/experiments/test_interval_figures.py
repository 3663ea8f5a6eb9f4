"""Means and paired differences with 95% intervals, as tables to read and as figures."""

import datetime as dt
import math

import polars as pl
import pytest

from sim.experiments.interval_figures import (
    ci_table,
    ci_text,
    difference_figure,
    difference_table,
    interval_figure,
    rate_over_time_figure,
)
from sim.experiments.scenario import scenario_from_dict
from sim.experiments.stats import t_quantile

SWITCHED = {
    "title": "none beside a switch-off",
    "seed": 1,
    "replications": 3,
    "period": {"start": "2010-01-01", "end": "2010-12-31"},
    "population": {"scale": 0.01, "authorities": ["E08000001"]},
    "arms": [
        {"name": "none", "regimes": [{"regime": "none"}]},
        {
            "name": "history",
            "regimes": [
                {"regime": "contactpoint"},
                {"regime": "none", "start": "2010-08-06T12:00"},
            ],
        },
    ],
}


def _confidence() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "arm": ["none", "none", "contactpoint", "contactpoint"],
            "metric": ["lost_90_per_1000", "mean_days_to_reconnection"] * 2,
            "replications": [5] * 4,
            "mean": [356.7, 48.2, 231.9, 43.0],
            "ci_low": [334.5, 45.3, 213.5, math.nan],
            "ci_high": [379.0, 51.0, 250.3, math.nan],
        }
    )


def _differences() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "arm": ["contactpoint", "signposting"],
            "reference": ["none", "none"],
            "metric": ["lost_90_per_1000", "lost_90_per_1000"],
            "replications": [5, 5],
            "mean": [-124.8, -1.4],
            "ci_low": [-145.7, -3.7],
            "ci_high": [-103.9, 1.0],
        }
    )


def test_ci_text_rounds_by_size_and_shows_a_lone_mean():
    """Whole numbers from 100 up, one decimal below; no interval when it is undefined."""
    assert ci_text(1234.4, 1100.2, 1300.9) == "1,234 (1,100 to 1,301)"
    assert ci_text(48.25, 45.31, 51.04) == "48.2 (45.3 to 51.0)"
    assert ci_text(43.0, math.nan, math.nan) == "43.0"


def test_tables_put_figures_down_and_arms_or_comparisons_across():
    """The confidence table has a column per arm; the differences one per 'arm - reference'."""
    table = ci_table(_confidence())
    assert table.columns == ["figure", "none", "contactpoint"]
    assert table.row(0) == (
        "lost at 90 days per 1,000 vulnerable movers",
        "357 (334 to 379)",
        "232 (214 to 250)",
    )
    assert table.row(1)[2] == "43.0"
    differences = difference_table(_differences())
    assert differences.columns == ["figure", "contactpoint - none", "signposting - none"]
    assert differences.row(0)[1:] == ("-125 (-146 to -104)", "-1.4 (-3.7 to 1.0)")


def test_interval_figure_has_a_labelled_panel_per_figure():
    """One panel per figure, its axis named with the unit, the arms down the side."""
    figure = interval_figure(_confidence(), ("lost_90_per_1000", "mean_days_to_reconnection"))
    axes = figure.get_axes()
    assert [a.get_xlabel() for a in axes] == [
        "lost at 90 days per 1,000 vulnerable movers",
        "mean days to reconnection",
    ]
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["none", "contactpoint"]
    assert "95% confidence intervals" in figure.get_suptitle()


def test_difference_figure_hollows_an_interval_that_crosses_zero():
    """A difference the replications cannot tell from zero is drawn hollow, a clear one filled."""
    figure = difference_figure(_differences(), ("lost_90_per_1000",))
    axes = figure.get_axes()[0]
    markers = [line for line in axes.get_lines() if line.get_marker() == "o"]
    assert markers[0].get_markerfacecolor() != "white"
    assert markers[1].get_markerfacecolor() == "white"
    assert [t.get_text() for t in axes.get_yticklabels()] == [
        "contactpoint - none",
        "signposting - none",
    ]


def test_rate_over_time_pools_each_quarter_and_marks_the_switch_off(tmp_path):
    """Per quarter: the mean of the replications' rates and its t band; quarters whose movers
    cannot be followed 90 days are left out; the switch-off is a named line."""
    months = [dt.date(2010, m, 1) for m in range(1, 13)]
    rows = []
    for replication, lost in enumerate((30.0, 40.0, 50.0)):
        for arm in ("none", "history"):
            for month in months:
                rows += [
                    (arm, replication, "all", "all", month, "eligible_90", 100.0),
                    (arm, replication, "all", "all", month, "lost_90", lost),
                ]
    columns = ["arm", "replication", "level", "area", "month", "metric", "value"]
    pl.DataFrame(rows, schema=columns, orient="row").write_parquet(tmp_path / "metrics.parquet")
    scenario = scenario_from_dict(SWITCHED, "test")
    figure = rate_over_time_figure(tmp_path, scenario, arms=("none",))
    axes = figure.get_axes()[0]
    line = next(line for line in axes.get_lines() if line.get_label() == "none (mean)")
    assert list(line.get_ydata()) == pytest.approx([400.0, 400.0, 400.0])  # Jan, Apr, Jul
    half = t_quantile(0.975, 2) * 100 / math.sqrt(3)
    band = axes.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(400 - half) and band.max() == pytest.approx(400 + half)
    labels = axes.get_legend_handles_labels()[1]
    assert "history: none from 06 Aug 2010 12:00" in labels
    assert "moved too late to follow for 90 days" in labels
    assert "history (mean)" not in labels  # only the arms asked for
