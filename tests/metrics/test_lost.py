"""The lost-child rate: eligibility, censoring, thresholds and rates from summed counts."""

import datetime as dt

import polars as pl

from sim.metrics import case_outcomes, lost_counts, metrics_table, reconnection_times

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


def _day(offset: int) -> dt.date:
    return JAN + dt.timedelta(days=offset)


def _counts(regime, world, run_end) -> pl.DataFrame:
    return lost_counts(case_outcomes(regime, world, run_end)).collect().sort("case")


def test_reconnected_on_the_threshold_day_is_not_lost(logs):
    """Worked example at both thresholds: reconnected after 29, 30, 31, 89, 90, 91 days or
    never, all followed 200 days. Lost at 30 means more than 30 days: 31, 89, 90, 91 and never;
    lost at 90 means more than 90: 91 and never."""
    regime_rows, case, reconnection, world_rows = logs
    waits = {1: 29, 2: 30, 3: 31, 4: 89, 5: 90, 6: 91}
    rows = [case(number, JAN) for number in (*waits, 7)]
    rows += [reconnection(number, JAN, _day(days)) for number, days in waits.items()]
    counts = _counts(regime_rows(rows), world_rows([]), _day(200))
    assert counts["days"].to_list() == [29, 30, 31, 89, 90, 91, None]
    assert counts["lost_30"].to_list() == [0, 0, 1, 1, 1, 1, 1]
    assert counts["lost_90"].to_list() == [0, 0, 0, 0, 0, 1, 1]
    assert counts["eligible_30"].to_list() == [1] * 7
    assert counts["eligible_90"].to_list() == [1] * 7
    assert counts["reconnected_cases"].to_list() == [1, 1, 1, 1, 1, 1, 0]
    assert counts["vulnerable_movers"].to_list() == [1] * 7


def test_a_case_followed_exactly_the_threshold_is_eligible(logs):
    """The run ends 30 days after case 1 opened and 29 after case 2: case 1 is eligible (and
    lost) at 30 days, case 2 is not eligible and so not lost; neither is eligible at 90."""
    regime_rows, case, _, world_rows = logs
    regime = regime_rows([case(1, JAN), case(2, _day(1))])
    counts = _counts(regime, world_rows([]), _day(30))
    assert counts["eligible_30"].to_list() == [1, 0]
    assert counts["lost_30"].to_list() == [1, 0]
    assert counts["eligible_90"].to_list() == [0, 0]
    assert counts["lost_90"].to_list() == [0, 0]
    at_90 = _counts(regime, world_rows([]), _day(90))
    assert at_90["eligible_90"].to_list() == [1, 0]
    assert at_90["lost_90"].to_list() == [1, 0]


def test_an_ending_on_the_opening_day_does_not_cut_the_case_short(logs):
    """The move that opened a case is dated the day it opened: only an ending strictly after
    the opening censors. Case 1's move is on its opening day (followed to the run's end);
    case 2 moves on a day later (followed one day); case 3 died before it opened (ignored)."""
    regime_rows, case, _, world_rows = logs
    regime = regime_rows([case(1, JAN), case(2, JAN), case(3, JAN)])
    world = world_rows(
        [("C1", "move", JAN), ("C2", "move", _day(1)), ("C3", "death", dt.date(2009, 12, 1))]
    )
    outcomes = case_outcomes(regime, world, _day(100)).collect().sort("case")
    assert outcomes["followed_until"].to_list() == [_day(100), _day(1), _day(100)]
    counts = lost_counts(case_outcomes(regime, world, _day(100))).collect().sort("case")
    assert counts["eligible_90"].to_list() == [1, 0, 1]
    assert counts["lost_90"].to_list() == [1, 0, 1]


def test_the_first_ending_after_opening_counts_and_the_run_end_caps_it(logs):
    """Case 1 leaves the index after 40 days and dies after 60: followed 40 days. Case 2's only
    ending is after the run ends: followed to the run's end."""
    regime_rows, case, _, world_rows = logs
    regime = regime_rows([case(1, JAN), case(2, JAN)])
    world = world_rows(
        [("C1", "death", _day(60)), ("C1", "left_index", _day(40)), ("C2", "move", _day(300))]
    )
    outcomes = case_outcomes(regime, world, _day(100)).collect().sort("case")
    assert outcomes["followed_until"].to_list() == [_day(40), _day(100)]
    counts = lost_counts(case_outcomes(regime, world, _day(100))).collect().sort("case")
    assert counts["eligible_30"].to_list() == [1, 1]
    assert counts["eligible_90"].to_list() == [0, 1]


def test_a_reconnection_on_the_day_the_case_ends_counts(logs):
    """Reconnected on the very day the child moved on (day 20): found, not lost. Reconnected
    the day after moving on (day 21 after a move on day 20): too late, not reconnected."""
    regime_rows, case, reconnection, world_rows = logs
    rows = [case(1, JAN), case(2, JAN)]
    rows += [reconnection(1, JAN, _day(20)), reconnection(2, JAN, _day(21))]
    world = world_rows([("C1", "move", _day(20)), ("C2", "move", _day(20))])
    outcomes = case_outcomes(regime_rows(rows), world, _day(100)).collect().sort("case")
    assert outcomes["reconnected"].to_list() == [_day(20), None]
    assert outcomes["days"].to_list() == [20, None]
    assert outcomes["followed_until"].to_list() == [_day(20), _day(20)]


def test_a_reconnection_on_the_run_end_counts(logs):
    """Reconnected on the last day of the run (day 35): reconnected in 35 days, lost at 30."""
    regime_rows, case, reconnection, world_rows = logs
    rows = [case(1, JAN), reconnection(1, JAN, _day(35))]
    counts = _counts(regime_rows(rows), world_rows([]), _day(35))
    assert counts["days"].to_list() == [35]
    assert counts["reconnected_cases"].to_list() == [1]
    assert counts["lost_30"].to_list() == [1]
    assert counts["eligible_90"].to_list() == [0]


def test_outcomes_keep_each_scenario_apart(logs):
    """The same case number in two scenarios: each scenario's reconnection is its own."""
    regime_rows, case, reconnection, world_rows = logs
    found = reconnection(1, JAN, _day(5))
    found["scenario"] = "contactpoint"
    rows = [case(1, JAN), case(1, JAN, scenario="contactpoint"), found]
    outcomes = case_outcomes(regime_rows(rows), world_rows([]), _day(50)).collect()
    by_scenario = dict(zip(outcomes["scenario"], outcomes["days"], strict=True))
    assert by_scenario == {"none": None, "contactpoint": 5}
    assert outcomes.columns[:7] == [
        "scenario", "case", "child_id", "authority", "from_authority", "care", "opened"
    ]  # fmt: skip


def test_reconnection_time_quantiles_are_nearest_ranks(logs):
    """Ten cases found after 10, 20, ..., 100 days: quantile q is the value at position q x 9
    rounded half up, so p10 = 20, p25 = 30, p50 = 60 (4.5 rounds to 5), p75 = 80, p90 = 90."""
    regime_rows, case, reconnection, world_rows = logs
    rows = []
    for number in range(10):
        days = 10 * (number + 1)
        rows += [case(number, JAN), reconnection(number, JAN, _day(days), "lookup")]
    times = reconnection_times(case_outcomes(regime_rows(rows), world_rows([]), _day(200)))
    table = times.collect()
    assert table["path"].to_list() == ["all", "lookup"]
    overall = table.row(0, named=True)
    assert overall == {
        "scenario": "none",
        "path": "all",
        "cases": 10,
        "mean_days": 55.0,
        "p10_days": 20,
        "p25_days": 30,
        "p50_days": 60,
        "p75_days": 80,
        "p90_days": 90,
    }


def test_reconnection_times_are_sorted_by_scenario_then_path(logs):
    """Rows come out by scenario, then path, whatever order the cases were logged in."""
    regime_rows, case, reconnection, world_rows = logs
    rows = []
    for number, (scenario, path) in enumerate(
        [("signposting", "lookup"), ("contactpoint", "phone_round"), ("contactpoint", "lookup")]
    ):
        found = reconnection(number, JAN, _day(3 + number), path)
        found["scenario"] = scenario
        rows += [case(number, JAN, scenario=scenario), found]
    times = reconnection_times(case_outcomes(regime_rows(rows), world_rows([]), _day(50)))
    assert times.collect().select("scenario", "path").rows() == [
        ("contactpoint", "all"),
        ("contactpoint", "lookup"),
        ("contactpoint", "phone_round"),
        ("signposting", "all"),
        ("signposting", "lookup"),
    ]
