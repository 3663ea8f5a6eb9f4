"""Costs from the unit costs in data/metrics/costs.toml, by authority and month."""

import datetime as dt

import polars as pl

from sim.metrics import cost_params, monthly_costs
from sim.regimes import EXPOSURE_SCHEMA


def _exposure(rows):
    return pl.DataFrame(rows, schema=EXPOSURE_SCHEMA, orient="row").lazy()


def _activity(rows):
    schema = {"scenario": pl.String, "authority": pl.String, "month": pl.Date}
    schema |= {"lookups": pl.Float64, "hours": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row").lazy()


def test_contactpoint_costs_by_month():
    """Running cost for each live month, set-up and user costs once, time at the hourly rate."""
    p = cost_params()
    jan, feb, mar = dt.date(2009, 1, 1), dt.date(2009, 2, 1), dt.date(2009, 3, 1)
    a = "E08000001"
    exposure = _exposure(
        [
            ("contactpoint", jan, "contactpoint", a, 110_000, 0, 0.0, 0.0),
            ("contactpoint", feb, "contactpoint", a, 110_000, 110_000, 100.0, 5.0),
            ("contactpoint", mar, "contactpoint", a, 110_000, 110_000, 100.0, 5.0),
        ]
    )
    activity = _activity([("contactpoint", a, mar, 12.0, 3.0)])
    costs = monthly_costs(exposure, activity).collect().sort("month")
    share = 110_000 / p.children_england.value
    running = p.running_gbp_per_year.value / 12 * share
    assert costs["running_gbp"].to_list() == [0.0, running, running]
    assert costs["setup_gbp"].to_list() == [0.0, p.setup_gbp.value * share, 0.0]
    per_user = p.vetting_gbp.value + p.token_gbp.value
    per_user += p.training_hours.value * p.practitioner_gbp_per_hour.value
    assert costs["user_setup_gbp"].to_list() == [0.0, 100 * per_user, 0.0]
    assert costs["practitioner_time_gbp"].to_list() == [
        0,
        0,
        3.0 * p.practitioner_gbp_per_hour.value,
    ]
    assert costs["lookup_gbp"].to_list() == [0, 0, 12 * p.per_lookup_gbp.value]


def test_no_index_costs_only_practitioner_time():
    """Under `none` only the phone-round hours cost anything."""
    p = cost_params()
    jan = dt.date(2009, 1, 1)
    exposure = _exposure([("none", jan, "none", "E08000001", 110_000, 0, 0.0, 0.0)])
    activity = _activity([("none", "E08000001", jan, 0.0, 6.0)])
    row = monthly_costs(exposure, activity).collect().row(0, named=True)
    assert row["setup_gbp"] == row["running_gbp"] == row["user_setup_gbp"] == 0
    assert row["practitioner_time_gbp"] == 6.0 * p.practitioner_gbp_per_hour.value


def test_every_unit_cost_has_a_source():
    """Each cost parameter names a source, a year and a confidence grade."""
    p = cost_params()
    for name in type(p).model_fields:
        param = getattr(p, name)
        assert param.source.strip() and param.year >= 2004, name
