"""Unit costs given through the API: changed by name, validated, and used by every cost query."""

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import InputError
from sim.metrics import cost_params, cost_summary, metrics_table, summary, with_costs
from sim.regimes import EXPOSURE_SCHEMA

JAN, FEB = dt.date(2010, 1, 1), dt.date(2010, 2, 1)
BOLTON = "E08000001"


def _logs(logs):
    """One ContactPoint authority live from February, with two lookups (5 minutes each)."""
    regime_rows, case, _, world_rows = logs
    rows = [case(1, dt.date(2010, 1, 20), scenario="contactpoint")]
    for day in (3, 4):
        row = case(1, dt.date(2010, 1, 20), scenario="contactpoint")
        row.update(event="lookup", date=FEB + dt.timedelta(days=day), regime="contactpoint")
        row.update(kind="school_admission", found=True, stale=False, hours=5 / 60)
        rows.append(row)
    exposure = pl.DataFrame(
        [
            ("contactpoint", JAN, "contactpoint", BOLTON, 60_000, 0, 0.0, 0.0),
            ("contactpoint", FEB, "contactpoint", BOLTON, 60_000, 60_000, 2_000.0, 282.0),
        ],
        schema=EXPOSURE_SCHEMA,
        orient="row",
    ).lazy()
    return regime_rows(rows), world_rows([]), exposure


def test_with_costs_changes_only_the_named_values():
    """A changed cost keeps its unit, source and confidence; the other costs are untouched."""
    base = cost_params()
    changed = with_costs({"setup_gbp": 300_000_000, "training_hours": 7})
    assert changed.setup_gbp.value == 300_000_000 and changed.training_hours.value == 7
    assert changed.setup_gbp.source == base.setup_gbp.source
    assert changed.setup_gbp.confidence == base.setup_gbp.confidence
    assert changed.running_gbp_per_year == base.running_gbp_per_year
    assert cost_params().setup_gbp.value == base.setup_gbp.value  # the loaded file is not changed


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"set_up": 1}, "no cost named 'set_up'"),
        ({"token_gbp": -5}, "token_gbp.value"),
        ({"inappropriate_share": 1.5}, "inappropriate_share.value"),
    ],
)
def test_with_costs_refuses_unknown_names_and_invalid_values(changes, message):
    """A misspelt cost or a value its model forbids is a one-line InputError naming it."""
    with pytest.raises(InputError, match=message):
        with_costs(changes)


def test_metrics_table_uses_the_unit_costs_it_is_given(logs):
    """Doubling set-up doubles the set-up column; a day of training changes the users' cost."""
    regime_log, world_log, exposure = _logs(logs)
    end = dt.date(2010, 12, 31)
    base = summary(metrics_table(regime_log, world_log, exposure, end)).row(0, named=True)
    costs = with_costs({"setup_gbp": 2 * cost_params().setup_gbp.value, "training_hours": 7})
    changed = summary(metrics_table(regime_log, world_log, exposure, end, costs)).row(0, named=True)
    assert changed["setup_gbp"] == pytest.approx(2 * base["setup_gbp"])
    p = cost_params()
    per_user = p.vetting_gbp.value + p.token_gbp.value + 7 * p.practitioner_gbp_per_hour.value
    assert changed["user_setup_gbp"] == pytest.approx(2_000 * per_user)
    assert changed["lost_90"] == base["lost_90"]  # unit costs change money, nothing else


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    setup=st.floats(0, 1e9),
    running=st.floats(0, 1e8),
    hour=st.floats(0, 100),
    share=st.floats(0, 1),
)
def test_cost_summary_agrees_with_the_metrics_table(logs, setup, running, hour, share):
    """Costing the logs again under any unit costs gives the metrics table's totals for them."""
    regime_log, world_log, exposure = _logs(logs)
    costs = with_costs(
        {
            "setup_gbp": setup,
            "running_gbp_per_year": running,
            "practitioner_gbp_per_hour": hour,
            "inappropriate_share": share,
        }
    )
    table = metrics_table(regime_log, world_log, exposure, dt.date(2010, 12, 31), costs)
    expected = summary(table).row(0, named=True)
    got = cost_summary(regime_log, exposure, costs).row(0, named=True)
    for column in ("setup_gbp", "running_gbp", "practitioner_time_gbp", "total_gbp"):
        assert got[column] == pytest.approx(expected[column], rel=1e-9, abs=1e-5), column
