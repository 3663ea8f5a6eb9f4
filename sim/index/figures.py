"""Figures and tables of the index for teaching (notebooks 01 and 02): the audit trail, and
how well feed records are matched into one record per child.

Each `*_figure` returns a matplotlib Figure made without pyplot (as sim.experiments.figures),
with a title, axes labelled with their units and a legend; a notebook shows it by leaving it
last in a cell.
"""

import datetime as dt
from collections.abc import Mapping

import matplotlib.dates as mdates
import polars as pl
from matplotlib.figure import Figure

from sim.index.matching import build_index, evaluate, exact_key_links
from sim.index.matching.evaluate import MatchReport

OUTCOME_COLOURS = {"allowed": "tab:green", "refused": "tab:red"}
MEASURES = {"precision": "precision", "recall": "recall", "duplicate_rate": "duplicate rate"}


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


def one_child_in_feeds(feeds: pl.DataFrame) -> pl.DataFrame:
    """Every feed record of the child whose records disagree most: the same child as each
    source spelt, dated and addressed them (truth_child_id is known only because the data is
    synthetic). Ties go to the highest ID, so the same feeds always show the same child."""
    fields = ("forename", "surname", "date_of_birth", "postcode")
    variety = (
        feeds.group_by("truth_child_id")
        .agg(versions=pl.struct(*fields).n_unique(), records=pl.len())
        .sort("versions", "records", "truth_child_id")
    )
    child = variety["truth_child_id"][-1]
    return feeds.filter(pl.col("truth_child_id") == child).select(
        "source", *fields, "received_on", "truth_child_id"
    )


def compare_matching(
    feeds: pl.DataFrame, authorities: pl.DataFrame, seed: int
) -> dict[str, MatchReport]:
    """The feeds matched two ways: exact keys only (surname, birth date and postcode agree),
    and the workbench's probabilistic matching (Fellegi-Sunter, doubtful pairs held)."""
    matched = build_index(feeds, authorities, seed)
    return {
        "exact keys only": evaluate(exact_key_links(feeds)),
        "probabilistic matching": evaluate(matched.links, matched.pairs_compared),
    }


def matching_table(reports: Mapping[str, MatchReport]) -> pl.DataFrame:
    """One row per method: records, children, index records made, held for review, and the
    three measures in per cent."""
    return pl.DataFrame(
        [
            {
                "method": name,
                "feed records": r.records,
                "children": r.children,
                "index records": r.index_records,
                "held for review": r.held_for_review,
                **{f"{label} (%)": round(getattr(r, m) * 100, 1) for m, label in MEASURES.items()},
            }
            for name, r in reports.items()
        ]
    )


def matching_figure(reports: Mapping[str, MatchReport]) -> Figure:
    """Precision, recall and duplicate rate of each matching method, side by side."""
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.subplots()
    width = 0.8 / len(reports)
    for i, (name, report) in enumerate(reports.items()):
        offset = (i - (len(reports) - 1) / 2) * width
        values = [getattr(report, m) * 100 for m in MEASURES]
        bars = axes.bar([x + offset for x in range(len(MEASURES))], values, width, label=name)
        axes.bar_label(bars, fmt="%.1f%%", fontsize=8)
    axes.set_xticks(range(len(MEASURES)), list(MEASURES.values()))
    axes.set_xlabel("measure")
    axes.set_ylabel("per cent of records or pairs (%)")
    axes.set_ylim(0, 115)
    axes.set_title("Matching feed records into one record per child: two methods")
    figure.legend(title="method", loc="outside lower center", ncols=len(reports))
    return figure
