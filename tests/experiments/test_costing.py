"""A finished run costed again under other unit costs, one cost at a time for a tornado, its
figures scaled to England and set beside the published claims."""

import math

import polars as pl
import pytest

from sim.experiments import run_experiment
from sim.experiments.claims import claims_table, claims_text
from sim.experiments.costing import (
    england_factor,
    for_england,
    recost,
    run_unit_costs,
    run_years,
    unit_cost_table,
)
from sim.experiments.scenario import scenario_from_dict
from sim.experiments.sensitivity import cost_sensitivity, with_effects
from sim.metrics import COMPONENTS, cost_params

BOLTON_AND_WIGAN = {  # early adopters: ContactPoint goes live there in May 2009
    "title": "Bolton and Wigan, 2009",
    "seed": 5,
    "replications": 2,
    "period": {"start": "2009-01-01", "end": "2009-09-30"},
    "population": {"scale": 0.1, "authorities": ["E08000001", "E08000010"]},
    "arms": [
        {"name": "none", "regimes": [{"regime": "none"}]},
        {"name": "contactpoint", "regimes": [{"regime": "contactpoint"}]},
    ],
    "parameters": {"metrics.costs.token_gbp": 20},
    "outputs": {"event_logs": False, "report": False},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One small run (about 5 s), shared by the tests of this file: (scenario, result)."""
    scenario = scenario_from_dict(BOLTON_AND_WIGAN, "test")
    return scenario, run_experiment(scenario, tmp_path_factory.mktemp("costing") / "run")


def test_recost_without_changes_gives_the_runs_own_costs(run):
    """The run's unit costs, scenario overrides included, reproduce its figures exactly."""
    _, result = run
    assert run_unit_costs(result.out_dir).token_gbp.value == 20
    again = recost(result.out_dir).sort("replication", "arm")
    ran = result.figures.sort("replication", "arm")
    assert again["total_gbp"].sum() > 0
    for column in (*COMPONENTS, "total_gbp"):
        assert again[column].to_list() == pytest.approx(ran[column].to_list()), column


def test_recost_changes_only_what_the_changed_unit_cost_drives(run):
    """Doubling set-up doubles the set-up column and nothing else; cost per child follows."""
    _, result = run
    base = recost(result.out_dir).sort("replication", "arm")
    setup = run_unit_costs(result.out_dir).setup_gbp.value
    doubled = recost(result.out_dir, {"setup_gbp": 2 * setup}).sort("replication", "arm")
    assert doubled["setup_gbp"].to_list() == pytest.approx((2 * base["setup_gbp"]).to_list())
    assert doubled["running_gbp"].to_list() == pytest.approx(base["running_gbp"].to_list())
    found = doubled.filter(pl.col("reconnected_cases") > 0)
    assert found["cost_per_child_found_gbp"].to_list() == pytest.approx(
        (found["total_gbp"] / found["reconnected_cases"]).to_list()
    )


def test_cost_sensitivity_puts_base_low_and_high_in_the_sweeps_order(run):
    """Point 0 is the run; points 1 and 2 a cost at low and high, and the total follows."""
    _, result = run
    table, ranges = cost_sensitivity(result.out_dir, {"setup_gbp": (100e6, 300e6)})
    assert [r.key for r in ranges] == ["metrics.costs.setup_gbp"]
    total = table.filter((pl.col("arm") == "contactpoint") & (pl.col("metric") == "total_gbp"))
    by_point = dict(zip(total["point"].to_list(), total["mean"].to_list(), strict=True))
    assert by_point[1] < by_point[0] < by_point[2]


def test_with_effects_adds_each_points_paired_differences(tmp_path):
    """Each point's differences.csv joins the sweep table as '<metric>_effect' rows."""
    for point, mean in ((0, -100.0), (1, -60.0)):
        directory = tmp_path / "points" / f"p{point:03d}"
        directory.mkdir(parents=True)
        pl.DataFrame(
            {
                "arm": ["contactpoint"],
                "reference": ["none"],
                "metric": ["lost_90_per_1000"],
                "replications": [1],
                "mean": [mean],
                "ci_low": [math.nan],
                "ci_high": [math.nan],
            }
        ).write_csv(directory / "differences.csv")
    sweep = pl.DataFrame(
        {"point": [0], "arm": ["contactpoint"], "metric": ["lost_90_per_1000"], "mean": [250.0]}
    )
    table = with_effects(sweep, tmp_path)
    effects = table.filter(pl.col("metric") == "lost_90_per_1000_effect").sort("point")
    assert effects["mean"].to_list() == [-100.0, -60.0]
    assert table.height == 3


def test_england_factor_and_years_scale_a_table():
    """All of England at half scale counts double; a 2-year total is halved per year."""
    england = scenario_from_dict(
        {
            **BOLTON_AND_WIGAN,
            "population": {"scale": 0.5},
            "period": {"start": "2009-01-01", "end": "2010-12-31"},
        },
        "test",
    )
    assert england_factor(england) == pytest.approx(2.0)
    assert run_years(england) == pytest.approx(730 / 365.25)
    table = pl.DataFrame({"mean": [10.0], "ci_low": [8.0], "ci_high": [12.0]})
    scaled = for_england(table, england, per_year=True).row(0)
    assert scaled == pytest.approx(
        (10 * 2 / (730 / 365.25), 8 * 2 / (730 / 365.25), 12 * 2 / (730 / 365.25))
    )


def test_claims_table_sets_published_figures_beside_the_model(run):
    """Published figures come from data/metrics; hours saved are none minus contactpoint, scaled."""
    scenario, result = run
    p = cost_params()
    claims = claims_table(result.figures, scenario)
    published = dict(zip(claims["figure"], claims["published"], strict=True))
    assert published["set-up cost (GBP)"] == p.setup_gbp.value
    assert published["practitioner hours saved a year"] == p.claimed_hours_per_year.value
    assert published["people who could see them (peak)"] == p.users_planned.value
    hours = result.figures.pivot(on="arm", index="replication", values="hours")
    saved = (hours["none"] - hours["contactpoint"]).mean()
    expected = saved * england_factor(scenario) / run_years(scenario)
    model = dict(zip(claims["figure"], claims["model"], strict=True))
    assert model["practitioner hours saved a year"] == pytest.approx(expected)
    assert claims_text(claims).columns == ["figure", "published", "model, England (95% CI)", "note"]


def test_unit_cost_table_lists_every_cost_with_its_confidence():
    """Every parameter of data/metrics/costs.toml appears with a confidence and a source."""
    table = unit_cost_table()
    assert set(table["name"]) == set(type(cost_params()).model_fields)
    assert table["confidence"].is_in(["high", "medium", "low"]).all()
    assert (table["source"].str.len_chars() > 0).all()
