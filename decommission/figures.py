"""Figures of a decommissioning rehearsal for teaching (notebook 05): what was destroyed and
how, and each runbook step on the 2010 calendar. Each returns a matplotlib Figure made without
pyplot, with a title, axes labelled with their units, a legend and dated time axes.
"""

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib.dates as mdates
import polars as pl
from matplotlib.figure import Figure

from decommission.runbook import Runbook

STATES = {  # a step's status in run.json -> (colour, marker)
    "go": ("tab:green", "o"),
    "no-go": ("tab:red", "X"),
    "not reached": ("lightgrey", "o"),
}


def destroyed_table(evidence: Path) -> pl.DataFrame:
    """Bytes destroyed by kind of store and method, from the destroy step's evidence."""
    records = json.loads((evidence / "steps" / "destroy.json").read_text())["records"]
    return (
        pl.DataFrame(records)
        .group_by("kind", "method")
        .agg(files=pl.len(), bytes=pl.col("size").sum())
        .sort("kind", "method")
    )


def destroyed_figure(evidence: Path) -> Figure:
    """Kilobytes destroyed per kind of store, split by method (cryptographic erase for
    encrypted backups, overwrite and remove for the rest), with each bar's total."""
    table = destroyed_table(evidence).with_columns(kb=pl.col("bytes") / 1024)
    kinds = sorted(table["kind"].unique().to_list())
    totals = table.group_by("kind").agg(pl.col("kb").sum())
    figure = Figure(figsize=(9, 1.8 + 0.4 * len(kinds)), layout="constrained")
    axes = figure.subplots()
    left = pl.DataFrame({"kind": kinds, "left": [0.0] * len(kinds)})
    for (method,), rows in table.group_by("method", maintain_order=True):
        bars = left.join(rows, on="kind", how="left").with_columns(pl.col("kb").fill_null(0.0))
        axes.barh(bars["kind"], bars["kb"], left=bars["left"], label=method)
        left = bars.select("kind", left=pl.col("left") + pl.col("kb"))
    for kind, kb in totals.iter_rows():
        axes.annotate(
            f"{kb:,.1f} KB",
            (kb, kind),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    axes.set_xlim(0, totals["kb"].max() * 1.2)
    axes.set_xlabel("data destroyed (kilobytes)")
    axes.set_ylabel("kind of store")
    axes.set_title("What was destroyed in the rehearsal, by kind of store and method")
    axes.legend(title="destruction method", loc="lower right")
    return figure


def step_states(evidence: Path) -> dict[str, str]:
    """Each step's status in a rehearsal's run.json ('go' or 'no-go'); absent: not reached."""
    steps = json.loads((evidence / "run.json").read_text())["steps"]
    return {s["step"]: s["status"] for s in steps}


def runbook_calendar_figure(runbook: Runbook, runs: Sequence[tuple[str, Path]]) -> Figure:
    """For each rehearsal (label, evidence directory), every runbook step at its scheduled
    2010 time: green if its check passed, a red cross where the run stopped, grey if never
    reached; the dashed line is the switch-off at noon on 6 August 2010."""
    order = [entry.id for entry in runbook.steps]
    when = {entry.id: runbook.when(entry) for entry in runbook.steps}
    shutdown = next(entry.id for entry in runbook.steps if entry.kind == "shutdown")
    figure = Figure(figsize=(6 * len(runs), 5), layout="constrained")
    panels = figure.subplots(1, len(runs), sharey=True, squeeze=False)[0]
    for axes, (label, evidence) in zip(panels, runs, strict=True):
        status = step_states(evidence)
        for row, step in enumerate(order):
            colour, marker = STATES[status.get(step, "not reached")]
            axes.scatter(when[step], row, marker=marker, color=colour, s=110, zorder=3)
        axes.axvline(when[shutdown], color="black", linestyle="--", linewidth=1)
        axes.set_title(label)
        axes.xaxis.set_major_locator(mdates.MonthLocator(tz=when[shutdown].tzinfo))
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %Y", tz=when[shutdown].tzinfo))
        axes.set_xlabel(f"scheduled date of the step ({runbook.timezone} time)")
        axes.grid(alpha=0.3)
    panels[0].set_yticks(range(len(order)), [f"{s} ({when[s]:%d %b %H:%M})" for s in order])
    panels[0].invert_yaxis()
    panels[0].set_ylabel("runbook step (in order)")
    for state, (colour, marker) in STATES.items():
        panels[-1].scatter([], [], color=colour, marker=marker, label=state)
    panels[-1].plot([], [], color="black", linestyle="--", linewidth=1, label="switch-off, noon")
    handles, labels = panels[-1].get_legend_handles_labels()
    figure.legend(handles, labels, title="step's check", loc="outside lower center", ncols=4)
    figure.suptitle("The 2010 runbook step by step: did each step's check pass?")
    return figure
