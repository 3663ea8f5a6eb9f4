"""How good the matching is, against the synthetic truth, and the exact-key baseline.

Precision and recall count record pairs (Christen 2012, ch. 7): a pair put in one child is a
true positive when both records are of the same true child. The duplicate rate counts index
records beyond one per true child, the failure that unshielded children in 2009 (facts.md s6).
"""

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class MatchReport:
    records: int
    children: int
    index_records: int
    held_for_review: int
    pairs_compared: int
    precision: float
    recall: float
    duplicate_rate: float
    missed_children: int


def _pairs(counts: pl.Series) -> float:
    n = counts.cast(pl.Float64)
    return float((n * (n - 1) / 2).sum())


def evaluate(links: pl.DataFrame, pairs_compared: int = 0) -> MatchReport:
    """Score a record -> child assignment (source, record_id, child_id, truth_child_id).

    A null child_id is a record held for review: it is in no child, so its true pairs count
    as missed."""
    placed = links.filter(pl.col("child_id").is_not_null())
    predicted = _pairs(placed.group_by("child_id").len()["len"])
    correct = _pairs(placed.group_by("child_id", "truth_child_id").len()["len"])
    actual = _pairs(links.group_by("truth_child_id").len()["len"])
    children = links["truth_child_id"].n_unique()
    index_records = placed["child_id"].n_unique()
    found = placed["truth_child_id"].n_unique()
    return MatchReport(
        records=links.height,
        children=children,
        index_records=index_records,
        held_for_review=links.height - placed.height,
        pairs_compared=pairs_compared,
        precision=correct / predicted if predicted else 1.0,
        recall=correct / actual if actual else 1.0,
        duplicate_rate=(index_records - found) / found if found else 0.0,
        missed_children=children - found,
    )


def exact_key_links(feeds: pl.DataFrame) -> pl.DataFrame:
    """The baseline: records are one child when surname, date of birth and postcode agree
    exactly; a record missing any of them stands alone."""
    key = pl.concat_str(
        "surname", pl.col("date_of_birth").cast(pl.String), "postcode", separator="|"
    )
    alone = pl.concat_str(pl.lit("record:"), "source", "record_id")
    return feeds.select(
        "source", "record_id", pl.coalesce(key, alone).alias("child_id"), "truth_child_id"
    )
