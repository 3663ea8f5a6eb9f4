"""Confidence intervals across replications and paired differences between arms."""

import math

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.experiments.stats import confidence_table, interval, paired_differences, t_quantile


def test_t_quantiles_match_the_printed_tables():
    """97.5% points of Student's t (Fisher and Yates' tables): df 1, 2, 4, 10, 30."""
    printed = {1: 12.706, 2: 4.303, 4: 2.776, 10: 2.228, 30: 2.042}
    for df, value in printed.items():
        assert abs(t_quantile(0.975, df) - value) < 1e-3


def test_interval_of_known_values():
    """Mean 2, sd 1, n 3: half-width t(0.975, 2) / sqrt(3)."""
    mean, low, high = interval(np.array([1.0, 2.0, 3.0]))
    half = t_quantile(0.975, 2) / math.sqrt(3)
    assert mean == 2.0 and math.isclose(low, 2 - half) and math.isclose(high, 2 + half)
    one = interval(np.array([4.0]))
    assert one[0] == 4.0 and math.isnan(one[1]) and math.isnan(one[2])


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(0, 1000, allow_nan=False), min_size=2, max_size=8),
    st.floats(-100, 100, allow_nan=False),
)
def test_a_constant_shift_is_a_paired_difference_with_no_width(base, shift):
    """Arm b = arm a + c in every replication: the difference is c with a zero-width interval,
    however much the replications vary (common random numbers remove the world's noise)."""
    n = len(base)
    figures = pl.DataFrame(
        {
            "replication": list(range(n)) * 2,
            "arm": ["a"] * n + ["b"] * n,
            "lost_90_per_1000": base + [v + shift for v in base],
        }
    )
    diff = paired_differences(figures, "a", ("lost_90_per_1000",)).row(0, named=True)
    assert diff["arm"] == "b" and diff["replications"] == n
    assert math.isclose(diff["mean"], shift, abs_tol=1e-6)
    assert math.isclose(diff["ci_low"], diff["ci_high"], abs_tol=1e-6)
    table = confidence_table(figures, ("lost_90_per_1000",))
    assert table["arm"].to_list() == ["a", "b"]
    assert math.isclose(table["mean"][0], float(np.mean(base)), rel_tol=1e-9, abs_tol=1e-9)
