"""Figures of the simulated world's event log for teaching (notebook 02): moves month by
month, moves between regions, and open social-care episodes. Each returns a matplotlib Figure
made without pyplot, with a title, axes labelled with their units, a legend and dated time
axes; a notebook shows it by leaving it last in a cell.
"""

import datetime as dt

import matplotlib.dates as mdates
import polars as pl
from matplotlib.figure import Figure

from sim.reference.authorities import load_authorities
from sim.world.calibration import stocks_on
from sim.world.world import RunSummary

EPISODES = {
    "child_in_need": "child in need",
    "child_protection_plan": "child protection plan",
    "looked_after": "looked after (in care)",
}


def event_counts(run: RunSummary) -> pl.DataFrame:
    """How many events of each kind the run made, largest first."""
    return pl.DataFrame(
        {"event": list(run.events), "count": list(run.events.values())},
        schema={"event": pl.String, "count": pl.Int64},
    ).sort("count", descending=True)


def _month_axis(axes) -> None:
    axes.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    axes.grid(alpha=0.3)


def moves_by_month_figure(log: pl.LazyFrame, scale: float) -> Figure:
    """House moves per month, within an authority and to another: a move between
    authorities is where information about a child used to get lost."""
    monthly = (
        log.filter(pl.col("event") == "move")
        .with_columns(
            month=pl.col("date").dt.truncate("1mo"),
            kind=pl.when(pl.col("from_authority") == pl.col("authority"))
            .then(pl.lit("within an authority"))
            .otherwise(pl.lit("to another authority")),
        )
        .group_by("month", "kind")
        .len()
        .sort("month")
        .collect()
    )
    figure = Figure(figsize=(10, 4.5), layout="constrained")
    axes = figure.subplots()
    for kind in ("within an authority", "to another authority"):
        rows = monthly.filter(pl.col("kind") == kind)
        axes.plot(rows["month"], rows["len"], marker="o", label=kind)
    _month_axis(axes)
    axes.set_xlabel("month")
    axes.set_ylabel("children who moved house (per month)")
    axes.set_ylim(bottom=0)
    axes.set_title(f"House moves of synthetic children per month ({scale:.1%} of England)")
    axes.legend(title="kind of move")
    return figure


def region_flows(log: pl.LazyFrame) -> pl.DataFrame:
    """Moves between authorities counted by region moved from (rows) and to (columns)."""
    region = pl.DataFrame([{"code": a.code, "region": a.region} for a in load_authorities()]).lazy()
    flows = (
        log.filter((pl.col("event") == "move") & (pl.col("from_authority") != pl.col("authority")))
        .join(region.rename({"code": "from_authority", "region": "from"}), on="from_authority")
        .join(region.rename({"code": "authority", "region": "to"}), on="authority")
        .group_by("from", "to")
        .len()
        .collect()
    )
    regions = sorted({a.region for a in load_authorities()})
    grid = flows.pivot(on="to", index="from", values="len")
    grid = pl.DataFrame({"from": regions}).join(grid, on="from", how="left")
    return grid.select(
        "from", *(pl.col(r) if r in grid.columns else pl.lit(0).alias(r) for r in regions)
    ).fill_null(0)


def region_flows_figure(log: pl.LazyFrame, start: dt.date, end: dt.date) -> Figure:
    """A heat map of moves between authorities by region: most stay inside their region
    (the diagonal)."""
    grid = region_flows(log)
    regions = grid["from"].to_list()
    figure = Figure(figsize=(8.5, 7), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(grid.drop("from").to_numpy(), cmap="Blues")
    axes.set_xticks(range(len(regions)), regions, rotation=45, ha="right")
    axes.set_yticks(range(len(regions)), regions)
    axes.set_xlabel("region moved to")
    axes.set_ylabel("region moved from")
    axes.set_title(f"Moves between authorities, by region, {start:%b %Y} - {end:%b %Y}")
    figure.colorbar(image, ax=axes, shrink=0.8, label="children who moved (number)")
    return figure


def open_episodes_figure(log: pl.LazyFrame, start: dt.date, end: dt.date, scale: float) -> Figure:
    """Social-care episodes open on the first day of each month, by kind: children in need,
    on a protection plan, and looked after."""
    months = pl.date_range(start, end, "1mo", eager=True).to_list()
    figure = Figure(figsize=(10, 4.5), layout="constrained")
    axes = figure.subplots()
    for episode, label in EPISODES.items():
        axes.plot(months, stocks_on(log, episode, months), marker=".", label=label)
    _month_axis(axes)
    axes.set_xlabel("date (first of the month)")
    axes.set_ylabel("episodes open on the day (number)")
    axes.set_ylim(bottom=0)
    axes.set_title(f"Open social-care episodes of synthetic children ({scale:.1%} of England)")
    axes.legend(title="kind of episode")
    return figure
