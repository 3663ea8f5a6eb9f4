"""Figures and tables of matching for teaching (notebook 02): how well feed records are matched
into one record per child.

Each `*_figure` returns a matplotlib Figure made without pyplot (as sim.experiments.figures),
with a title, axes labelled with their units and a legend; a notebook shows it by leaving it
last in a cell.
"""

from collections.abc import Mapping

import polars as pl
from matplotlib.figure import Figure

from sim.feeds.matching.evaluate import MatchReport, evaluate, exact_key_links
from sim.feeds.matching.resolve import build_index

MEASURES = {"precision": "precision", "recall": "recall", "duplicate_rate": "duplicate rate"}


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
