"""Time to linkage: Kaplan-Meier with censoring worked on paper, spells from logs, and the
bootstrap over children."""

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.metrics.linkage import (
    child_draws,
    kaplan_meier,
    linkage_differences,
    linkage_table,
    spells,
    survival_curves,
)
from sim.metrics.lost import case_outcomes

JAN = dt.date(2010, 1, 1)
END = dt.date(2010, 12, 31)


def test_kaplan_meier_worked_example_with_censoring():
    """Spells of 2 (linked), 3 (censored), 3 (linked), 5 (linked) and 8 (censored) days:
    S(2) = 4/5; S(3) = 0.8 x 3/4 (the one censored on day 3 is still at risk); S(5) = 0.6 x 1/2;
    flat to day 8, the last day anyone is followed, and unknown after it."""
    days = np.array([2, 3, 3, 5, 8])
    linked = np.array([True, False, True, True, False])
    at = np.array([0, 1, 2, 3, 4, 5, 7, 8, 9])
    got = kaplan_meier(days, linked, at)[0]
    expected = [1.0, 1.0, 0.8, 0.6, 0.6, 0.3, 0.3, 0.3, np.nan]
    np.testing.assert_allclose(got, expected)


def test_kaplan_meier_without_censoring_is_the_plain_share():
    """With every spell linked, the KM share unlinked at t is the share linked after t."""
    days = np.array([1, 10, 20, 40, 100])
    got = kaplan_meier(days, np.ones(5, bool), np.array([30, 90]))[0]
    np.testing.assert_allclose(got, [2 / 5, 1 / 5])


@given(
    st.lists(
        st.tuples(st.integers(0, 60), st.booleans(), st.integers(0, 3)), min_size=1, max_size=30
    )
)
def test_a_weight_counts_as_that_many_copies_of_a_spell(spells_):
    """Weights (bootstrap draws) give the same curve as repeating each spell that often."""
    days = np.array([d for d, _, _ in spells_])
    linked = np.array([e for _, e, _ in spells_])
    weight = np.array([w for _, _, w in spells_], dtype=float)
    if weight.sum() == 0:
        return
    at = np.arange(0, 61, 5)
    weighted = kaplan_meier(days, linked, at, weight[None, :])[0]
    repeat = weight.astype(int)
    copied = kaplan_meier(np.repeat(days, repeat), np.repeat(linked, repeat), at)[0]
    last = np.repeat(days, repeat).max()
    np.testing.assert_allclose(weighted[at <= last], copied[at <= last])


def test_spells_censor_at_the_next_move_and_the_run_end(logs):
    """A linked in 19 days; B moves on after 9 days (censored at 9, its later link ignored);
    C never linked, followed to the run's end; D unborn at the move."""
    regime_rows, case, reconnection, world_rows = logs
    late = dt.date(2010, 12, 1)
    d = case(4, JAN)
    d["unborn"], d["care"] = True, "child_protection_plan"
    rows = [
        case(1, JAN),
        case(2, JAN),
        case(3, late),
        d,
        reconnection(1, JAN, dt.date(2010, 1, 20)),
        reconnection(2, JAN, dt.date(2010, 1, 15)),
    ]
    world = world_rows([("C2", "move", dt.date(2010, 1, 10))])
    regime = regime_rows(rows)
    table = spells(regime, case_outcomes(regime, world, END))
    assert table["days"].to_list() == [19, 9, 30, 364]
    assert table["linked"].to_list() == [True, False, False, False]
    assert table["care_status"].to_list() == [
        "child_in_need",
        "child_in_need",
        "child_in_need",
        "unborn",
    ]


def _spells(arm: str, rows: list[tuple[str, str, int, bool]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (arm, i, child, status, days, linked)
            for i, (child, status, days, linked) in enumerate(rows)
        ],
        schema=["arm", "case", "child_id", "care_status", "days", "linked"],
        orient="row",
    )


def test_linkage_table_by_care_status_with_intervals():
    """Point shares are KM; intervals hold them; a child's two spells are drawn together."""
    rows = [(f"K{i}", "child_in_need", 10 + i, i % 3 != 0) for i in range(60)]
    rows += [(f"K{i}", "child_protection_plan", 5, True) for i in range(20)]
    table = linkage_table(_spells("none", rows), replicates=100, seed=1)
    cin = table.filter(pl.col("care_status") == "child_in_need").row(0, named=True)
    assert cin["spells"] == 60 and cin["children"] == 60 and cin["linked"] == 40
    point = kaplan_meier(np.array([r[2] for r in rows[:60]]), np.array([r[3] for r in rows[:60]]),
                         np.array([30]))[0][0]  # fmt: skip
    assert cin["unlinked_30"] == pytest.approx(point)
    assert cin["unlinked_30_low"] <= point <= cin["unlinked_30_high"]
    plan = table.filter(pl.col("care_status") == "child_protection_plan").row(0, named=True)
    assert plan["unlinked_30"] == 0.0 and plan["children"] == 20
    everyone = table.filter(pl.col("care_status") == "all").row(0, named=True)
    assert everyone["spells"] == 80 and everyone["children"] == 60


def test_bootstrap_draws_whole_children():
    """Each sample draws as many children as there are, with replacement."""
    draws = child_draws(50, 30, seed=3)
    assert draws.shape == (30, 50) and (draws.sum(axis=1) == 50).all()


def test_paired_differences_are_zero_for_identical_arms_and_signed_otherwise():
    rows = [(f"K{i}", "child_in_need", 10 + 2 * i, i % 2 == 0) for i in range(40)]
    faster = [(c, s, max(1, d - 15), True) for c, s, d, _ in rows]
    table = pl.concat([_spells("none", rows), _spells("same", rows), _spells("index", faster)])
    diff = linkage_differences(table, "none", replicates=50, seed=2)
    same = diff.filter((pl.col("arm") == "same") & (pl.col("care_status") == "all"))
    assert same["difference_30"].to_list() == [0.0]
    assert same["difference_30_low"].to_list() == [0.0] == same["difference_30_high"].to_list()
    index = diff.filter((pl.col("arm") == "index") & (pl.col("care_status") == "all"))
    assert index["difference_30"][0] < 0 and index["difference_30_high"][0] <= 0


def test_survival_curves_start_at_one_and_never_rise():
    rows = [(f"K{i}", "caf", 3 * i + 1, i % 4 != 0) for i in range(30)]
    curves = survival_curves(_spells("none", rows), horizon=120)
    values = curves["unlinked"].drop_nans().to_numpy()
    assert values[0] == 1.0 and (np.diff(values) <= 0).all()
