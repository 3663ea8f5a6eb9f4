"""The report's figures (matplotlib, Agg): each reads a run directory's tables, writes one PNG.

Figures are for reading, not decoration: every one has a title, axes labelled with their
units, a legend naming the arms, and dates on time axes.
"""

import datetime as dt
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as ticker
import polars as pl

from sim.experiments.scenario import Scenario
from sim.reference.authorities import load_authorities

COSTS = ("setup_gbp", "running_gbp", "user_setup_gbp", "lookup_gbp", "practitioner_time_gbp")


LINES = ("-", "--", "-.", ":")


def _styles(scenario: Scenario) -> dict[str, dict]:
    """The same colour and line style for an arm in every figure, in the scenario's order."""
    return {
        arm.name: {"color": f"C{i % 10}", "linestyle": LINES[i % len(LINES)], "label": arm.name}
        for i, arm in enumerate(scenario.arms)
    }


def _thousands(axis) -> None:
    axis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:,.0f}"))


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _switches(scenario: Scenario) -> list[tuple[dt.datetime, str]]:
    seen: dict[dt.datetime, str] = {}
    for arm in scenario.arms:
        for step in arm.regimes[1:]:
            seen.setdefault(
                step.start, f"{arm.name}: {step.regime} from {step.start:%d %b %Y %H:%M}"
            )
    return sorted(seen.items())


def _monthly(metrics: pl.DataFrame, metric: str) -> pl.DataFrame:
    return (
        metrics.filter((pl.col("level") == "all") & (pl.col("metric") == metric))
        .group_by("arm", "month")
        .agg(pl.col("value").mean())
        .sort("arm", "month")
    )


def _rate(counts: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Lost at 90 days per 1,000 eligible movers from long counts (empty if none eligible)."""
    eligible = counts.filter(pl.col("metric") == "eligible_90").select(*keys, eligible="value")
    lost = counts.filter(pl.col("metric") == "lost_90").select(*keys, lost="value")
    return (
        eligible.join(lost, on=keys, how="left")
        .filter(pl.col("eligible") > 0)
        .select(*keys, value=1000 * pl.col("lost").fill_null(0) / pl.col("eligible"))
    )


def lost_over_time(metrics: pl.DataFrame, scenario: Scenario, path: Path) -> Path:
    """Lost at 90 days per 1,000 vulnerable movers, by month of the move, switch-offs marked.

    Counts are pooled over replications; months whose movers could not all be followed for
    90 days before the period ends are left out (their few eligible cases mislead).
    """
    figure, axes = plt.subplots(figsize=(9, 4.5))
    last = scenario.period.end - dt.timedelta(days=90 + 31)
    data = (
        metrics.filter(
            (pl.col("level") == "all")
            & pl.col("metric").is_in(["lost_90", "eligible_90"])
            & (pl.col("month") <= last)
        )
        .group_by("arm", "month", "metric")
        .agg(pl.col("value").sum())
    )
    data = _rate(data, ["arm", "month"]).sort("month")
    if data.is_empty():
        axes.text(
            0.5,
            0.5,
            "period too short: no month's movers followed for 90 days",
            transform=axes.transAxes,
            ha="center",
        )
    for arm, style in _styles(scenario).items():
        rows = data.filter(pl.col("arm") == arm)
        axes.plot(rows["month"].to_list(), rows["value"].to_list(), marker="o", ms=3, **style)
    for when, label in _switches(scenario):
        axes.axvline(when, color="black", linestyle="--", linewidth=1)
        axes.annotate(
            label,
            (when, 0.03),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="bottom",
            ha="right",
            fontsize=8,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8},
        )
    axes.set_title("Vulnerable movers not reconnected within 90 days, by month of the move")
    axes.set_xlabel("month of the move")
    axes.set_ylabel("lost at 90 days per 1,000 movers\n(all replications pooled)")
    axes.set_ylim(bottom=0)
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    axes.legend(title="arm")
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    return _save(figure, path)


def reconnection_times(outcomes: pl.DataFrame, scenario: Scenario, path: Path) -> Path:
    """The share of cases reconnected within d days (empirical distribution), per arm."""
    figure, axes = plt.subplots(figsize=(8, 4.5))
    for arm, style in _styles(scenario).items():
        rows = outcomes.filter(pl.col("scenario") == arm)
        total = rows.height
        days = rows["days"].drop_nulls().sort().to_numpy()
        share = [(i + 1) / total for i in range(len(days))]
        style = {**style, "label": f"{arm} ({len(days):,} of {total:,} cases)"}
        axes.step(days, share, where="post", **style)
    axes.axvline(30, color="grey", linestyle=":")
    axes.axvline(90, color="grey", linestyle=":")
    axes.set_xlim(0, 365)
    axes.set_ylim(0, 1)
    axes.set_title("Time to reconnection (all replications)")
    axes.set_xlabel("days from the move to reconnection (dotted: 30 and 90 days)")
    axes.set_ylabel("share of vulnerable movers reconnected")
    axes.legend(title="arm", fontsize=8)
    axes.grid(alpha=0.3)
    return _save(figure, path)


def cost_breakdown(figures: pl.DataFrame, path: Path) -> Path:
    """Mean cost per arm over the run, stacked by component (GBP millions)."""
    means = figures.group_by("arm", maintain_order=True).agg(pl.col(c).mean() for c in COSTS)
    figure, axes = plt.subplots(figsize=(8, 4.5))
    bottom = [0.0] * means.height
    for column in COSTS:
        values = [v / 1e6 for v in means[column].to_list()]
        axes.bar(means["arm"].to_list(), values, bottom=bottom, label=column.removesuffix("_gbp"))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for x, total in enumerate(bottom):
        axes.annotate(f"GBP {total:,.2f} m", (x, total), ha="center", va="bottom", fontsize=9)
    axes.set_title("Cost over the run by component (mean over replications)")
    axes.set_xlabel("arm")
    axes.set_ylabel("GBP millions (simulated area)")
    axes.legend(title="component", fontsize=8)
    return _save(figure, path)


def exposure(metrics: pl.DataFrame, scenario: Scenario, path: Path) -> Path:
    """Records held in an index, month by month, per arm."""
    figure, axes = plt.subplots(figsize=(9, 4.5))
    data = _monthly(metrics, "records_held")
    for arm, style in _styles(scenario).items():
        rows = data.filter(pl.col("arm") == arm)
        axes.plot(rows["month"].to_list(), rows["value"].to_list(), **style)
    _thousands(axes.yaxis)
    axes.set_title("Privacy exposure: children's records held in an index")
    axes.set_xlabel("month")
    axes.set_ylabel("records held (simulated area)")
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    axes.legend(title="arm")
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    return _save(figure, path)


def authority_map(metrics: pl.DataFrame, scenario: Scenario, path: Path) -> Path:
    """Each authority at its centroid, coloured by lost at 90 days per 1,000, one panel per arm."""
    places = pl.DataFrame(
        {
            "area": [a.code for a in load_authorities()],
            "lat": [a.lat for a in load_authorities()],
            "lon": [a.lon for a in load_authorities()],
        }
    )
    counts = (
        metrics.filter(
            (pl.col("level") == "authority") & pl.col("metric").is_in(["lost_90", "eligible_90"])
        )
        .group_by("arm", "area", "metric")
        .agg(pl.col("value").sum())
    )
    counts = _rate(counts, ["arm", "area"]).rename({"value": "rate"}).join(places, on="area")
    arms = [arm.name for arm in scenario.arms]
    figure, panels = plt.subplots(
        1, max(len(arms), 1), figsize=(4 * max(len(arms), 1), 5), squeeze=False, sharey=True
    )
    low, high = (counts["rate"].min() or 0.0), (counts["rate"].max() or 1.0)
    scatter = None
    for axes, arm in zip(panels[0], arms, strict=False):
        rows = counts.filter(pl.col("arm") == arm)
        scatter = axes.scatter(
            rows["lon"],
            rows["lat"],
            c=rows["rate"],
            cmap="viridis_r",
            vmin=low,
            vmax=high,
            s=60,
            edgecolor="black",
            linewidth=0.3,
        )
        axes.set_title(arm)
        axes.set_xlabel("longitude (degrees)")
        axes.set_aspect(1.6)
    panels[0][0].set_ylabel("latitude (degrees)")
    if scatter is not None:
        figure.colorbar(scatter, ax=panels[0].tolist(), label="lost at 90 days per 1,000 movers")
    figure.suptitle("Authorities (at their centroids) by lost-child rate, all replications")
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def tornado(sweep: pl.DataFrame, ranges: list, arm: str, path: Path) -> Path:
    """For one arm: how far each parameter, low to high, moves the lost-child rate and the cost
    per child reconnected from the base run (point 0); widest swing at the top."""
    panels = (
        ("lost_90_per_1000", "lost at 90 days per 1,000 movers"),
        ("cost_per_child_found_gbp", "cost per child reconnected (GBP)"),
    )
    figure, axes_pair = plt.subplots(1, 2, figsize=(11, 1.2 + 0.6 * len(ranges)), squeeze=False)
    for axes, (metric, label) in zip(axes_pair[0], panels, strict=True):
        rows = sweep.filter((pl.col("arm") == arm) & (pl.col("metric") == metric))
        mean = dict(zip(rows["point"].to_list(), rows["mean"].to_list(), strict=True))
        base = mean.get(0, float("nan"))
        bars = []
        for i, r in enumerate(ranges):
            low, high = mean.get(1 + 2 * i, base), mean.get(2 + 2 * i, base)
            name = f"{r.key.rsplit('.', 1)[-1]} ({r.low:g} to {r.high:g})"
            bars.append((abs(high - low), name, low - base, high - base))
        bars.sort()
        for y, (_, _name, low, high) in enumerate(bars):
            axes.barh(y, low, color="C0", label="parameter at LOW" if y == 0 else None)
            axes.barh(y, high, color="C3", label="parameter at HIGH" if y == 0 else None)
        axes.set_yticks(range(len(bars)), [b[1] for b in bars], fontsize=8)
        axes.axvline(0, color="black", linewidth=0.8)
        axes.set_xlabel(f"change from base ({base:,.1f})")
        axes.set_title(label, fontsize=10)
        axes.legend(fontsize=8)
    figure.suptitle(f"Sensitivity of arm '{arm}' (one parameter at a time)")
    return _save(figure, path)
