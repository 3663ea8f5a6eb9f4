"""Figures of the index for teaching (notebook 01): the audit trail. How well feed records are
matched into one record per child: sim.feeds.matching.figures (notebook 02).

Each `*_figure` returns a matplotlib Figure made without pyplot (as sim.experiments.figures),
with a title, axes labelled with their units and a legend; a notebook shows it by leaving it
last in a cell.
"""

import datetime as dt

import matplotlib.dates as mdates
import polars as pl
from matplotlib.figure import Figure

OUTCOME_COLOURS = {"allowed": "tab:green", "refused": "tab:red"}


def audit_outcomes_figure(audit: pl.DataFrame) -> Figure:
    """Every audit entry counted by action, allowed and refused stacked: what the trail holds
    (every refusal is audited, as every access is)."""
    counts = audit.group_by("action", "outcome").len().sort("action", descending=True)
    actions = counts["action"].unique(maintain_order=True).to_list()
    figure = Figure(figsize=(9, 1.5 + 0.32 * len(actions)), layout="constrained")
    axes = figure.subplots()
    left = pl.DataFrame({"action": actions, "left": [0] * len(actions)})
    for outcome, colour in OUTCOME_COLOURS.items():
        rows = left.join(
            counts.filter(pl.col("outcome") == outcome), on="action", how="left"
        ).with_columns(pl.col("len").fill_null(0))
        axes.barh(rows["action"], rows["len"], left=rows["left"], color=colour, label=outcome)
        left = rows.select("action", left=pl.col("left") + pl.col("len"))
    axes.set_xlim(0, left["left"].max() * 1.08)
    axes.set_xlabel("number of audit entries")
    axes.set_ylabel("action")
    axes.set_title("Everything recorded in the audit log, by action and outcome")
    figure.legend(title="outcome", loc="outside lower center", ncols=2)
    axes.grid(axis="x", alpha=0.3)
    return figure


def audit_session_figure(audit: pl.DataFrame, since: dt.datetime) -> Figure:
    """The entries from `since` on, one dot per entry at its time: a session step by step,
    allowed in green and refused in red."""
    ours = audit.filter(pl.col("time") >= since).sort("time")
    figure = Figure(figsize=(10, 1.8 + 0.35 * ours["action"].n_unique()), layout="constrained")
    axes = figure.subplots()
    for outcome, colour in OUTCOME_COLOURS.items():
        rows = ours.filter(pl.col("outcome") == outcome)
        axes.scatter(rows["time"], rows["action"], color=colour, s=60, label=outcome, zorder=3)
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    axes.set_xlabel(f"simulated time on {since:%d %B %Y} (hours:minutes)")
    axes.set_ylabel("action")
    axes.set_title("Our session in the audit log: every step, allowed or refused")
    axes.legend(title="outcome", loc="lower right")
    axes.grid(axis="x", alpha=0.3)
    return figure
