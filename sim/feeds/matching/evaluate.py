"""How good the matching is, against the synthetic truth, and the exact-key baseline.

Precision and recall count record pairs (Christen 2012, ch. 7): a pair put in one child is a
true positive when both records are of the same true child. The duplicate rate counts index records
beyond one per true child, the failure that unshielded children in 2009 (docs/reference.md s6).
"""

from dataclasses import astuple, dataclass

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


@dataclass(frozen=True)
class LinkTally:
    """The counts behind a MatchReport. Tallies of batches add up when no child, true or
    matched, has records in two batches (a birth cohort is never split)."""

    records: int
    children: int
    index_records: int
    found: int
    held: int
    predicted: float
    correct: float
    actual: float

    def __add__(self, other: "LinkTally") -> "LinkTally":
        return LinkTally(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def report(self, pairs_compared: int = 0) -> MatchReport:
        return MatchReport(
            records=self.records,
            children=self.children,
            index_records=self.index_records,
            held_for_review=self.held,
            pairs_compared=pairs_compared,
            precision=self.correct / self.predicted if self.predicted else 1.0,
            recall=self.correct / self.actual if self.actual else 1.0,
            duplicate_rate=(self.index_records - self.found) / self.found if self.found else 0.0,
            missed_children=self.children - self.found,
        )


def tally(links: pl.DataFrame) -> LinkTally:
    """Count a record -> child assignment (source, record_id, child_id, truth_child_id).

    A null child_id is a record held for review: it is in no child, so its true pairs count
    as missed."""
    placed = links.filter(pl.col("child_id").is_not_null())
    return LinkTally(
        records=links.height,
        children=links["truth_child_id"].n_unique(),
        index_records=placed["child_id"].n_unique(),
        found=placed["truth_child_id"].n_unique(),
        held=links.height - placed.height,
        predicted=_pairs(placed.group_by("child_id").len()["len"]),
        correct=_pairs(placed.group_by("child_id", "truth_child_id").len()["len"]),
        actual=_pairs(links.group_by("truth_child_id").len()["len"]),
    )


def evaluate(links: pl.DataFrame, pairs_compared: int = 0) -> MatchReport:
    """Score a record -> child assignment (source, record_id, child_id, truth_child_id)."""
    return tally(links).report(pairs_compared)


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
