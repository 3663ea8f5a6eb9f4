"""Figures and tables of honest uncertainty: means and paired differences with 95% intervals.

    result = run_experiment(scenario, out_dir)
    interval_figure(result.confidence)        # each arm's mean and 95% CI, one panel a figure
    difference_figure(result.differences)     # each arm minus the reference arm, same worlds
    rate_over_time_figure(out_dir, scenario)  # lost-child rate by quarter with a 95% band

The intervals are those of sim.experiments.stats: a Student t interval across replications
(independent worlds); differences are paired replication by replication (common random
numbers), so they are narrower than the two arms' own intervals suggest. Figures are
matplotlib Figure objects (no pyplot), as in sim.experiments.figures.
"""

import datetime as dt
import math
from pathlib import Path

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from sim.experiments.figures import arm_styles, date_axis, mark_switches
from sim.experiments.scenario import Scenario
from sim.experiments.stats import LABELS, interval

LOST_AND_TIME = ("lost_30_per_1000", "lost_90_per_1000", "mean_days_to_reconnection")
NAMES = {  # the report's labels, and the figures it does not tabulate
    **LABELS,
    "setup_gbp": "set-up cost (GBP)",
    "running_gbp": "running cost (GBP)",
    "user_setup_gbp": "users' vetting, tokens and training (GBP)",
    "lookup_gbp": "per-lookup charges (GBP)",
    "practitioner_time_gbp": "practitioners' time (GBP)",
    "records_held": "children's records held (peak month)",
    "users": "people with access (peak month)",
    "shielded_records": "shielded records (peak month)",
}


def ci_text(mean: float, low: float, high: float) -> str:
    """'1,234 (1,100 to 1,300)': whole numbers from 100 up, one decimal below."""

    def number(value: float) -> str:
        if math.isnan(value):
            return "n/a"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"

    return number(mean) if math.isnan(low) else f"{number(mean)} ({number(low)} to {number(high)})"


def _wide(table: pl.DataFrame, column: pl.Expr) -> pl.DataFrame:
    """Figures down, `column` across, each cell 'mean (low to high)', in the table's order."""
    order = table["metric"].unique(maintain_order=True).to_list()
    cells = table.select(
        pl.col("metric").replace_strict({m: NAMES.get(m, m) for m in order}).alias("figure"),
        column.alias("across"),
        pl.struct("mean", "ci_low", "ci_high")
        .map_elements(lambda r: ci_text(r["mean"], r["ci_low"], r["ci_high"]), pl.String)
        .alias("text"),
    )
    return cells.pivot(on="across", index="figure", values="text", maintain_order=True)


def ci_table(confidence: pl.DataFrame) -> pl.DataFrame:
    """One row per figure, one column per arm: 'mean (low to high)', the 95% interval."""
    return _wide(confidence, pl.col("arm"))


def difference_table(differences: pl.DataFrame) -> pl.DataFrame:
    """One row per figure, one column per comparison ('arm - reference'): the paired CIs."""
    return _wide(differences, pl.format("{} - {}", "arm", "reference"))


def _panels(count: int, height: float) -> tuple[Figure, list]:
    figure = Figure(figsize=(4.2 * count, height), layout="constrained")
    return figure, list(figure.subplots(1, count, squeeze=False)[0])


def interval_figure(
    confidence: pl.DataFrame, metrics: tuple[str, ...] = LOST_AND_TIME, title: str = ""
) -> Figure:
    """Each arm's mean (dot) and 95% confidence interval (bar), one panel per figure."""
    arms = confidence["arm"].unique(maintain_order=True).to_list()
    figure, panels = _panels(len(metrics), 1.6 + 0.45 * len(arms))
    for axes, metric in zip(panels, metrics, strict=True):
        rows = confidence.filter(pl.col("metric") == metric)
        for y, arm in enumerate(arms):
            mean, low, high = (
                rows.filter(pl.col("arm") == arm).select("mean", "ci_low", "ci_high").row(0)
            )
            axes.errorbar(
                mean, y, xerr=[[mean - low], [high - mean]], fmt="o", color=f"C{y % 10}", capsize=4
            )
            axes.annotate(
                f"{mean:,.0f}",
                (mean, y),
                xytext=(0, 7),
                textcoords="offset points",
                ha="center",
                fontsize=8,
            )
        axes.set_yticks(range(len(arms)), arms)
        axes.set_ylim(len(arms) - 0.5, -0.6)
        axes.set_xlabel(NAMES.get(metric, metric))
        axes.grid(axis="x", alpha=0.3)
    panels[0].set_ylabel("arm")
    replications = int(confidence["replications"].max())
    figure.suptitle(
        title or f"Mean over {replications} replications, with 95% confidence intervals"
    )
    return figure


def difference_figure(
    differences: pl.DataFrame, metrics: tuple[str, ...] = LOST_AND_TIME, title: str = ""
) -> Figure:
    """Each arm minus the reference arm on the same worlds: mean and 95% CI, zero marked.

    An interval that does not cross zero is a difference the replications can tell apart.
    """
    arms = differences["arm"].unique(maintain_order=True).to_list()
    reference = differences["reference"][0] if differences.height else ""
    figure, panels = _panels(len(metrics), 1.6 + 0.45 * len(arms))
    for axes, metric in zip(panels, metrics, strict=True):
        rows = differences.filter(pl.col("metric") == metric)
        for y, arm in enumerate(arms):
            mean, low, high = (
                rows.filter(pl.col("arm") == arm).select("mean", "ci_low", "ci_high").row(0)
            )
            clear = not (low <= 0 <= high)
            axes.errorbar(
                mean,
                y,
                xerr=[[mean - low], [high - mean]],
                fmt="o",
                mfc=f"C{(y + 1) % 10}" if clear else "white",
                color=f"C{(y + 1) % 10}",
                capsize=4,
            )
        axes.axvline(0, color="black", linewidth=1)
        axes.set_yticks(range(len(arms)), [f"{arm} - {reference}" for arm in arms])
        axes.set_ylim(len(arms) - 0.5, -0.6)
        axes.set_xlabel(f"difference in {NAMES.get(metric, metric)}")
        axes.grid(axis="x", alpha=0.3)
    figure.suptitle(
        title
        or f"Paired differences from '{reference}' on the same worlds, 95% confidence intervals"
        " (hollow: the interval crosses zero)"
    )
    return figure


def _rates(run_dir: Path, threshold: int, months: int, last: dt.date) -> pl.DataFrame:
    counts = (
        pl.scan_parquet(run_dir / "metrics.parquet")
        .filter(
            (pl.col("level") == "all")
            & pl.col("metric").is_in([f"lost_{threshold}", f"eligible_{threshold}"])
            & (pl.col("month").dt.month_end() <= last)
        )
        .with_columns(period=pl.col("month").dt.truncate(f"{months}mo"))
        .group_by("arm", "replication", "period", "metric")
        .agg(pl.col("value").sum())
        .collect()
        .pivot(on="metric", index=["arm", "replication", "period"], values="value")
    )
    return counts.filter(pl.col(f"eligible_{threshold}") > 0).with_columns(
        rate=1000 * pl.col(f"lost_{threshold}") / pl.col(f"eligible_{threshold}")
    )


def rate_over_time_figure(
    run_dir: Path,
    scenario: Scenario,
    arms: tuple[str, ...] = (),
    threshold: int = 90,
    months: int = 3,
) -> Figure:
    """Lost at `threshold` days per 1,000 movers, by period of the move (`months` long): the
    mean over replications with its 95% band, and every regime switch (e.g. the switch-off),
    for `arms` (all if empty). Movers too late in the run to be followed for `threshold` days
    are left out, and that stretch is shaded.
    """
    last = scenario.period.end - dt.timedelta(days=threshold)
    rates = _rates(run_dir, threshold, months, last)
    figure = Figure(figsize=(10, 5), layout="constrained")
    axes = figure.subplots()
    for arm, style in arm_styles(scenario).items():
        if arms and arm not in arms:
            continue
        rows = rates.filter(pl.col("arm") == arm).group_by("period").agg("rate").sort("period")
        middle = [p + dt.timedelta(days=15 * months) for p in rows["period"].to_list()]
        spans = np.array([interval(np.array(r, dtype=float)) for r in rows["rate"].to_list()])
        means, lows, highs = spans.T if len(spans) else ([], [], [])
        axes.plot(
            middle, means, marker="o", ms=4, linewidth=2, **{**style, "label": f"{arm} (mean)"}
        )
        axes.fill_between(middle, lows, highs, color=style["color"], alpha=0.15, linewidth=0)
    axes.fill_between([], [], [], color="grey", alpha=0.3, label="95% confidence band")
    axes.axvspan(
        last,
        scenario.period.end,
        color="grey",
        alpha=0.12,
        hatch="//",
        linewidth=0,
        label=f"moved too late to follow for {threshold} days",
    )
    mark_switches(axes, scenario)
    axes.set_xlim(scenario.period.start, scenario.period.end)
    axes.set_ylim(bottom=0)
    axes.set_xlabel(f"when the child moved ({months}-month periods, dot at the middle)")
    axes.set_ylabel(f"lost at {threshold} days per 1,000 vulnerable movers")
    axes.set_title(
        f"Vulnerable movers not reconnected within {threshold} days, by when they moved "
        f"({scenario.replications} replications)"
    )
    date_axis(axes)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower left")
    return figure
