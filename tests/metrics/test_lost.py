"""The lost-child rate: eligibility, censoring, thresholds and rates from summed counts."""

import datetime as dt

import polars as pl

from sim.metrics import case_outcomes, metrics_table, reconnection_times

JAN = dt.date(2010, 1, 1)
END = dt.date(2010, 12, 31)


def _value(table, metric, level="all", area="all"):
    rows = table.filter(
        (pl.col("level") == level) & (pl.col("area") == area) & (pl.col("metric") == metric)
    )
    return rows["value"].sum()


def test_lost_at_30_and_90_days_with_censoring(logs, empty_exposure):
    """Worked example: A in 19 days, B in 59, C never, D moved on first, E opened too late."""
    regime_rows, case, reconnection, world_rows = logs
    late = dt.date(2010, 12, 15)
    opened = [case(1, JAN), case(2, JAN), case(3, JAN), case(4, JAN), case(5, late)]
    found = [
        reconnection(1, JAN, dt.date(2010, 1, 20)),
        reconnection(2, JAN, dt.date(2010, 3, 1)),
        reconnection(4, JAN, dt.date(2010, 1, 15)),
    ]
    regime = regime_rows([*opened, *found])
    world = world_rows([("C4", "move", dt.date(2010, 1, 10)), ("C3", "birth", dt.date(2009, 1, 1))])
    table = metrics_table(regime, world, empty_exposure, END)
    assert _value(table, "vulnerable_movers") == 5
    assert _value(table, "eligible_30") == 3 and _value(table, "lost_30") == 2
    assert _value(table, "eligible_90") == 3 and _value(table, "lost_90") == 1
    rate = table.filter((pl.col("level") == "all") & (pl.col("metric") == "lost_30_per_1000"))
    assert rate["value"].to_list() == [round(2000 / 3, 6)]
    outcomes = case_outcomes(regime, world, END).collect().sort("case")
    assert outcomes["days"].to_list() == [19, 59, None, None, None]  # D's came after it moved on


def test_region_rates_come_from_summed_counts(logs, empty_exposure):
    """Two authorities (1 of 1 lost, 0 of 3 lost) make a region rate of 250, not 500."""
    regime_rows, case, reconnection, world_rows = logs
    rows = [case(1, JAN, "E08000001")]
    for number in (2, 3, 4):
        rows += [case(number, JAN, "E08000010"), reconnection(number, JAN, dt.date(2010, 1, 5))]
    for row in rows:
        if row["event"] == "reconnection":
            row["authority"] = "E08000010"
    table = metrics_table(regime_rows(rows), world_rows([]), empty_exposure, END)
    by = table.filter(pl.col("metric") == "lost_30_per_1000")
    assert by.filter(pl.col("area") == "E08000001")["value"].to_list() == [1000.0]
    assert by.filter(pl.col("area") == "E08000010")["value"].to_list() == [0.0]
    assert by.filter(pl.col("area") == "North West")["value"].to_list() == [250.0]


def test_reconnection_time_distribution(logs):
    """Quantiles of days to reconnection, overall and by path."""
    regime_rows, case, reconnection, world_rows = logs
    rows = []
    for number, days in enumerate([2, 4, 6, 8, 10]):
        path = "lookup" if days <= 4 else "phone_round"
        rows += [case(number, JAN), reconnection(number, JAN, JAN + dt.timedelta(days=days), path)]
    times = reconnection_times(case_outcomes(regime_rows(rows), world_rows([]), END)).collect()
    overall = times.filter(pl.col("path") == "all").row(0, named=True)
    assert overall["cases"] == 5 and overall["p50_days"] == 6 and overall["mean_days"] == 6
    lookup = times.filter(pl.col("path") == "lookup").row(0, named=True)
    assert lookup["cases"] == 2 and lookup["mean_days"] == 3
