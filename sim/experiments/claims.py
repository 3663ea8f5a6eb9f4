"""The published claims about ContactPoint beside what the model says, both for England.

Published (docs/reference.md 5a-5b; data/metrics/costs.toml): GBP 224 m to set up, just under
GBP 44 m a year to run, 5 million practitioner hours a year saved, records of 11 million
children, 390,000 planned users (almost 15,000 at closure). The model's figures come from a run
of part of England, scaled up by England's children over the simulated children
(costing.england_factor) and, for totals over the run, divided by its length in years. Each
carries the run's 95% interval across replications (hours saved: the paired difference, same
worlds). Hours saved are given twice: for vulnerable movers only, and for every child's
encounters (lookups against enquiries by phone, sim.regimes.population_use), with how many times
the assumed enquiries the claimed 5 million hours would need.
"""

import math

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from sim.experiments.costing import england_factor, run_years
from sim.experiments.interval_figures import ci_text
from sim.experiments.scenario import Scenario
from sim.experiments.stats import confidence_table, paired_differences
from sim.metrics import CostParams, cost_params

COLUMNS = ["figure", "published", "model", "model_low", "model_high", "note"]


def claims_table(
    figures: pl.DataFrame,
    scenario: Scenario,
    arm: str = "contactpoint",
    reference: str = "none",
    costs: CostParams | None = None,
) -> pl.DataFrame:
    """One row per claim: the published England figure and the model's England equivalent
    (mean, 95% CI) for `arm`; hours saved are `reference` minus `arm` on the same worlds."""
    p = costs or cost_params()
    factor, years = england_factor(scenario), run_years(scenario)
    ci = confidence_table(figures, ("setup_gbp", "running_gbp", "records_held", "users"))
    ci = ci.filter(pl.col("arm") == arm)
    saved = paired_differences(figures, arm, ("hours", "routine_hours")).filter(
        pl.col("arm") == reference
    )

    def model(table: pl.DataFrame, metric: str, scale: float) -> tuple[float, float, float]:
        row = table.filter(pl.col("metric") == metric)
        if row.is_empty():
            return math.nan, math.nan, math.nan
        return tuple(scale * v for v in row.select("mean", "ci_low", "ci_high").row(0))

    hours = model(saved, "hours", factor / years)
    routine = model(saved, "routine_hours", factor / years)
    needed = (
        f"{p.claimed_hours_per_year.value / routine[0]:,.1f} times"
        if routine[0] > 0
        else "more than any multiple of"
    )
    rows = [
        ("set-up cost (GBP)", p.setup_gbp.value, *model(ci, "setup_gbp", factor),
         "charged as each authority went live"),
        ("running cost a year (GBP)", p.running_gbp_per_year.value,
         *model(ci, "running_gbp", factor / years), "averaged over the run, live months only"),
        ("practitioner hours saved a year", p.claimed_hours_per_year.value, *hours,
         f"{reference} minus {arm}: vulnerable movers only"),
        ("practitioner hours saved a year, every child", p.claimed_hours_per_year.value,
         *routine, f"{reference} minus {arm}: lookups and enquiries at every encounter; the claim "
         f"needs {needed} the assumed enquiries (regimes.encounters.enquiry_share)"),
        ("value of hours saved a year (GBP)",
         p.claimed_hours_per_year.value * p.practitioner_gbp_per_hour.value,
         *(h * p.practitioner_gbp_per_hour.value for h in routine), "every child, hourly rate"),
        ("children's records held (peak)", p.children_england.value,
         *model(ci, "records_held", factor), "the month the most were held"),
        ("people who could see them (peak)", p.users_planned.value,
         *model(ci, "users", factor), f"planned; about {p.users_at_closure.value:,} at closure"),
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=COLUMNS, orient="row")


def claims_text(claims: pl.DataFrame) -> pl.DataFrame:
    """The claims table to read: published figure, model 'mean (low to high)', note."""
    return claims.select(
        "figure",
        pl.col("published").map_elements(lambda v: f"{v:,.0f}", pl.String),
        pl.struct("model", "model_low", "model_high")
        .map_elements(lambda r: ci_text(r["model"], r["model_low"], r["model_high"]), pl.String)
        .alias("model, England (95% CI)"),
        "note",
    )


def claims_figure(claims: pl.DataFrame) -> Figure:
    """Published figure (grey bar) and the model's England equivalent (dot, 95% CI) per claim,
    on a logarithmic scale so that thousands and millions fit on one axis."""
    figure = Figure(figsize=(10, 1.4 + 0.75 * claims.height), layout="constrained")
    axes = figure.subplots()
    ys = np.arange(claims.height)
    axes.barh(ys, claims["published"], color="lightgrey", label="published (England)")
    mean, low, high = (claims[c].to_numpy() for c in ("model", "model_low", "model_high"))
    shown = mean > 0
    spread = np.nan_to_num(np.vstack([mean - low, high - mean]), nan=0.0)
    axes.errorbar(
        mean[shown],
        ys[shown],
        xerr=spread[:, shown],
        fmt="o",
        color="C3",
        capsize=4,
        label="model, England equivalent (95% CI)",
    )
    for y, (published, model) in enumerate(zip(claims["published"], mean, strict=True)):
        axes.annotate(f"{published:,.0f}", (published, y), xytext=(4, 6),
                      textcoords="offset points", fontsize=8, color="dimgrey")  # fmt: skip
        if model > 0:
            axes.annotate(f"{model:,.0f}", (model, y), xytext=(4, -12),
                          textcoords="offset points", fontsize=8, color="C3")  # fmt: skip
    axes.set_xscale("log")
    axes.set_yticks(
        ys,
        [f"{f}\n({n})" for f, n in zip(claims["figure"], claims["note"], strict=True)],
        fontsize=8,
    )
    axes.set_ylim(claims.height - 0.4, -0.6)
    axes.set_xlabel("England, logarithmic scale (each step is ten times the last)")
    axes.set_title("ContactPoint's published figures beside what the model says")
    axes.legend(loc="lower right", fontsize=8)
    axes.grid(axis="x", alpha=0.3)
    return figure
