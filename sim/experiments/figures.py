"""The report's figures: each `*_figure` draws one from a run's tables, each writer saves a PNG.

Figures are for reading, not decoration: every one has a title, axes labelled with their
units, a legend naming the arms, and dates on time axes. They are matplotlib Figure objects
made without pyplot, so writing the report never changes a notebook's plotting backend, and a
notebook shows the same figure the report holds (display it, or leave it last in a cell).
"""

import datetime as dt
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.ticker as ticker
import polars as pl
from matplotlib.figure import Figure

from sim.experiments.scenario import Scenario
from sim.experiments.tornado import TORNADO_PANELS, tornado_figure
from sim.metrics.costs import COMPONENTS
from sim.reference.authorities import load_authorities

COST_LABELS = {
    "setup_gbp": "set-up (national cost shared by children held)",
    "running_gbp": "running (national cost shared by children held)",
    "user_setup_gbp": "users' vetting, tokens and training",
    "lookup_gbp": "per-lookup charges",
    "practitioner_time_gbp": "practitioners' time finding who is involved",
}


LINES = ("-", "--", "-.", ":")
DPI = 110


def arm_styles(scenario: Scenario) -> dict[str, dict]:
    """The same colour and line style for an arm in every figure, in the scenario's order."""
    return {
        arm.name: {"color": f"C{i % 10}", "linestyle": LINES[i % len(LINES)], "label": arm.name}
        for i, arm in enumerate(scenario.arms)
    }


def _thousands(axis) -> None:
    axis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:,.0f}"))


def date_axis(axes) -> None:
    """Months on a time axis: a tick each quarter, labelled 'Jan' over '2010' (never rotated)."""
    axes.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
    axes.xaxis.set_minor_locator(mdates.MonthLocator())
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))


def save(figure: Figure, path: Path) -> Path:
    """Write `figure` as a PNG at `path` (the report's resolution) and return the path."""
    figure.savefig(path, dpi=DPI)
    return path


def switches(scenario: Scenario) -> list[tuple[dt.datetime, str]]:
    """Each date an arm changes regime, with a label such as 'history: none from 06 Aug 2010'."""
    seen: dict[dt.datetime, str] = {}
    for arm in scenario.arms:
        for step in arm.regimes[1:]:
            seen.setdefault(
                step.start, f"{arm.name}: {step.regime} from {step.start:%d %b %Y %H:%M}"
            )
    return sorted(seen.items())


def mark_switches(axes, scenario: Scenario) -> None:
    """A dashed line at each regime switch, named in the legend (which says if there is none)."""
    marks = switches(scenario)
    for i, (when, label) in enumerate(marks):
        axes.axvline(when, color="black", linestyle=(0, (4, 2 + 2 * i)), linewidth=1.2, label=label)
    if not marks:
        axes.plot([], [], " ", label="no regime switch (no switch-off) in this scenario")


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


def lost_over_time_figure(metrics: pl.DataFrame, scenario: Scenario) -> Figure:
    """Lost at 90 days per 1,000 vulnerable movers, by month of the move, switch-offs marked.

    Counts are pooled over replications; months whose movers could not all be followed for
    90 days before the period ends are left out (their few eligible cases mislead).
    """
    figure = Figure(figsize=(9, 4.8), layout="constrained")
    axes = figure.subplots()
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
    for arm, style in arm_styles(scenario).items():
        rows = data.filter(pl.col("arm") == arm)
        axes.plot(rows["month"].to_list(), rows["value"].to_list(), marker="o", ms=3, **style)
    mark_switches(axes, scenario)
    axes.set_title("Vulnerable movers not reconnected within 90 days, by month of the move")
    axes.set_xlabel("month of the move")
    axes.set_ylabel("lost at 90 days per 1,000 movers\n(all replications pooled)")
    axes.set_ylim(bottom=0)
    date_axis(axes)
    axes.legend(title="arm", fontsize=8, loc="lower left")
    axes.grid(alpha=0.3)
    return figure


def lost_over_time(metrics: pl.DataFrame, scenario: Scenario, path: Path) -> Path:
    return save(lost_over_time_figure(metrics, scenario), path)


def reconnection_times_figure(outcomes: pl.DataFrame, scenario: Scenario) -> Figure:
    """The share of cases reconnected within d days (empirical distribution), per arm."""
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.subplots()
    for arm, style in arm_styles(scenario).items():
        rows = outcomes.filter(pl.col("scenario") == arm)
        total = rows.height
        days = rows["days"].drop_nulls().sort().to_numpy()
        share = [(i + 1) / max(total, 1) for i in range(len(days))]
        style = {**style, "label": f"{arm} ({len(days):,} of {total:,} cases)"}
        axes.step(days, share, where="post", **style)
    axes.axvline(30, color="grey", linestyle=":")
    axes.axvline(90, color="grey", linestyle=":")
    axes.set_xlim(0, 365)
    axes.set_ylim(0, 1)
    axes.set_title("Time to reconnection (all replications)")
    axes.set_xlabel("days from the move to reconnection (dotted: 30 and 90 days)")
    axes.set_ylabel("share of vulnerable movers reconnected")
    axes.legend(title="arm (reconnected of all cases)", fontsize=8, loc="lower right")
    axes.grid(alpha=0.3)
    return figure


def reconnection_times(outcomes: pl.DataFrame, scenario: Scenario, path: Path) -> Path:
    return save(reconnection_times_figure(outcomes, scenario), path)


def cost_breakdown_figure(figures: pl.DataFrame) -> Figure:
    """Mean cost per arm over the run, stacked by component (GBP millions)."""
    means = figures.group_by("arm", maintain_order=True).agg(pl.col(c).mean() for c in COMPONENTS)
    figure = Figure(figsize=(9, 4.8), layout="constrained")
    axes = figure.subplots()
    bottom = [0.0] * means.height
    for column in COMPONENTS:
        values = [v / 1e6 for v in means[column].to_list()]
        axes.bar(means["arm"].to_list(), values, bottom=bottom, label=COST_LABELS[column])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for x, total in enumerate(bottom):
        axes.annotate(f"GBP {total:,.2f} m", (x, total), ha="center", va="bottom", fontsize=9)
    axes.set_ylim(0, max(bottom, default=0) * 1.12 or 1)
    axes.set_title("Cost over the run by component (mean over replications)")
    axes.set_xlabel("arm")
    axes.set_ylabel("GBP millions (simulated area)")
    axes.legend(title="component", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return figure


def cost_breakdown(figures: pl.DataFrame, path: Path) -> Path:
    return save(cost_breakdown_figure(figures), path)


def exposure_figure(metrics: pl.DataFrame, scenario: Scenario) -> Figure:
    """Records held in an index, month by month, per arm (switches marked)."""
    figure = Figure(figsize=(9, 4.8), layout="constrained")
    axes = figure.subplots()
    data = _monthly(metrics, "records_held")
    for arm, style in arm_styles(scenario).items():
        rows = data.filter(pl.col("arm") == arm)
        axes.plot(rows["month"].to_list(), rows["value"].to_list(), **style)
    mark_switches(axes, scenario)
    _thousands(axes.yaxis)
    axes.set_title("Privacy exposure: children's records held in an index")
    axes.set_xlabel("month")
    axes.set_ylabel("records held (simulated area)")
    date_axis(axes)
    axes.legend(title="arm", fontsize=8)
    axes.grid(alpha=0.3)
    return figure


def exposure(metrics: pl.DataFrame, scenario: Scenario, path: Path) -> Path:
    return save(exposure_figure(metrics, scenario), path)


def authority_map_figure(metrics: pl.DataFrame, scenario: Scenario) -> Figure:
    """Each authority at its centroid, coloured by lost at 90 days per 1,000, one panel per arm."""
    authorities = load_authorities()
    places = pl.DataFrame(
        {
            "area": [a.code for a in authorities],
            "lat": [a.lat for a in authorities],
            "lon": [a.lon for a in authorities],
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
    # each panel as wide as the area is on the ground (a degree east is 0.6 of one north)
    wide = 0.6 * (counts["lon"].max() - counts["lon"].min() + 0.3) if counts.height else 1.0
    tall = counts["lat"].max() - counts["lat"].min() + 0.3 if counts.height else 1.0
    panel = min(max(4.2 * wide / tall, 2.4), 6.0)
    figure = Figure(figsize=(panel * max(len(arms), 1) + 1.6, 5.2), layout="constrained")
    panels = figure.subplots(1, max(len(arms), 1), squeeze=False, sharex=True, sharey=True)
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
        axes.set_xlabel("longitude (degrees east)")
        axes.set_aspect(1 / 0.6)  # about 1 / cos(53 degrees north)
        axes.grid(alpha=0.3)
    panels[0][0].set_ylabel("latitude (degrees north)")
    if scatter is not None:
        figure.colorbar(
            scatter, ax=panels[0].tolist(), label="lost at 90 days per 1,000 movers (darker: more)"
        )
    figure.suptitle("Authorities (at their centroids) by lost-child rate, all replications")
    return figure


def authority_map(metrics: pl.DataFrame, scenario: Scenario, path: Path) -> Path:
    return save(authority_map_figure(metrics, scenario), path)


def tornado(
    sweep: pl.DataFrame, ranges: list, arm: str, path: Path, panels: tuple | None = None
) -> Path:
    return save(tornado_figure(sweep, ranges, arm, panels or TORNADO_PANELS), path)
