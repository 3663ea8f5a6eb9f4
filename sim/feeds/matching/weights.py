"""Fellegi-Sunter match weights, estimated directly from a labelled sample of the truth.

Why direct estimation rather than EM: the synthetic population knows which records belong to
which child, as a clerical-review sample would in practice, and the feeds' errors are
correlated (a stale address changes postcode and district together; a surname change comes
with a new Soundex code), which breaks the conditional independence EM relies on to separate
matches from non-matches. So m = P(level | same child) is counted over every pair of records of
a sample of children, u = P(level | different children) over random record pairs (as Splink
does), and the prior is the exact share of all record pairs that are the same child. Counts
are smoothed by one per level, so no level has a zero probability.
"""

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from sim.feeds.matching.blocking import with_fields
from sim.feeds.matching.comparison import EXACT, LEVELS, MISSING, compare
from sim.feeds.matching.parameters import MatchingParams
from sim.feeds.matching.standardise import COMPARED
from sim.streams import stream

MATCHING_STREAM = 100  # key under the "feeds" subsystem, apart from the feeds' own 0-5


@dataclass(frozen=True)
class MatchWeights:
    """m and u per field and level, and the prior log2 odds that two records match.

    `frequencies` holds, for the term-frequency fields, each value's share of the records: two
    records that agree exactly on a rare name are likelier the same child than two that agree
    on a common one, so their EXACT agreement weighs log2(m / share of that value) instead of
    the field's average (Winkler's frequency-based matching; Splink's term-frequency
    adjustment). Without it, at England scale, a stale address in a far authority held every
    exact name-and-birthday match for review, however rare the name."""

    m: dict[str, tuple[float, ...]]
    u: dict[str, tuple[float, ...]]
    prior_log2_odds: float
    frequencies: dict[str, pl.DataFrame] = field(default_factory=dict)

    def bayes_factors(self, field: str) -> list[float]:
        """log2(m/u) per level; a MISSING level carries no evidence."""
        return [
            0.0 if level == MISSING else math.log2(self.m[field][level] / self.u[field][level])
            for level in range(LEVELS)
        ]

    def score(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """Add `match_weight` (posterior log2 odds) and `match_probability`."""
        terms = []
        for f in COMPARED:
            level = pl.col(f"{f}_level").cast(pl.Int64)
            term = pl.lit(pl.Series(self.bayes_factors(f))).get(level)
            if f in self.frequencies:
                share = f"{f}_share"
                pairs = pairs.join(
                    self.frequencies[f].rename({"value": f"{f}_l", "share": share}),
                    on=f"{f}_l",
                    how="left",
                )
                exact = math.log2(self.m[f][EXACT])
                term = (
                    pl.when((level == EXACT) & pl.col(share).is_not_null())
                    .then(exact - pl.col(share).log(2))
                    .otherwise(term)
                )
            terms.append(term)
        weight = pl.sum_horizontal(terms) + self.prior_log2_odds
        shares = [f"{f}_share" for f in self.frequencies if f"{f}_share" in pairs.columns]
        return (
            pairs.with_columns(match_weight=weight)
            .with_columns(match_probability=1.0 / (1.0 + (2.0 ** -pl.col("match_weight"))))
            .drop(shares)
        )


@dataclass(frozen=True)
class LevelCounts:
    """Comparison levels counted over same-child pairs (m) and different-child pairs (u), and
    the record pairs behind the prior. Counts from separate birth cohorts add up, so weights
    for England can be estimated one cohort at a time (every compared pair is within one)."""

    m: dict[str, tuple[int, ...]]
    u: dict[str, tuple[int, ...]]
    true_pairs: float
    all_pairs: float
    values: dict[str, pl.DataFrame] = field(default_factory=dict)  # value, count

    def __add__(self, other: "LevelCounts") -> "LevelCounts":
        def add(a: dict[str, tuple[int, ...]], b: dict[str, tuple[int, ...]]) -> dict:
            return {f: tuple(x + y for x, y in zip(a[f], b[f], strict=True)) for f in COMPARED}

        values = {
            f: pl.concat([self.values[f], other.values[f]]).group_by("value").agg(pl.sum("count"))
            for f in self.values
        }
        return LevelCounts(
            add(self.m, other.m),
            add(self.u, other.u),
            self.true_pairs + other.true_pairs,
            self.all_pairs + other.all_pairs,
            values,
        )

    def weights(self) -> MatchWeights:
        """m and u smoothed by one per level, and the prior odds of a match.

        A level neither sample saw is no evidence either way, so its u is set to its m: in a
        population of one authority no pair has postcodes in two authorities, and smoothing
        alone would make that unseen disagreement count for a match."""
        prior = max(self.true_pairs, 1.0) / max(self.all_pairs - self.true_pairs, 1.0)
        m = {f: _distribution(self.m[f]) for f in COMPARED}
        u = {
            f: tuple(
                m[f][level] if self.m[f][level] == self.u[f][level] == 0 else p
                for level, p in enumerate(_distribution(self.u[f]))
            )
            for f in COMPARED
        }
        frequencies = {
            f: counts.select(
                "value", (pl.col("count") / pl.col("count").sum()).alias("share")
            ).sort("value")
            for f, counts in self.values.items()
        }
        return MatchWeights(m=m, u=u, prior_log2_odds=math.log2(prior), frequencies=frequencies)


def _distribution(counts: tuple[int, ...]) -> tuple[float, ...]:
    smoothed = np.asarray(counts, dtype=np.float64) + 1.0
    return tuple(float(x) for x in smoothed / smoothed.sum())


def _levels(pairs: pl.DataFrame, field: str) -> tuple[int, ...]:
    counts = [0] * LEVELS
    for level, count in pairs.group_by(f"{field}_level").len().iter_rows():
        counts[int(level)] += count
    return tuple(counts)


def _pairs_of(records: pl.DataFrame, keys_l: np.ndarray, keys_r: np.ndarray) -> pl.DataFrame:
    pairs = pl.DataFrame({"key_l": keys_l, "key_r": keys_r}).cast(pl.UInt32)
    return compare(with_fields(pairs, records, records))


def count_levels(
    records: pl.DataFrame,
    rng: np.random.Generator,
    labelled_children: int,
    random_pairs: int,
    frequency_fields: tuple[str, ...] = (),
) -> LevelCounts:
    """Level counts from standardised records that carry `truth_child_id`: every pair of
    records of up to `labelled_children` children, and `random_pairs` random record pairs;
    and how often each value of the `frequency_fields` occurs."""
    sizes = records.group_by("truth_child_id").len()
    children = sizes.filter(pl.col("len") > 1)["truth_child_id"].sort()
    take = min(labelled_children, len(children))
    sample = children.gather(np.sort(rng.choice(len(children), take, replace=False)))
    labelled = records.filter(pl.col("truth_child_id").is_in(sample.implode())).select(
        "record_key", "truth_child_id"
    )
    same = labelled.join(labelled, on="truth_child_id", suffix="_r").filter(
        pl.col("record_key") < pl.col("record_key_r")
    )
    matches = _pairs_of(records, same["record_key"].to_numpy(), same["record_key_r"].to_numpy())

    n = records.height
    # a cohort can have no feed records (only unborn children, whom no feed holds)
    draws = rng.integers(0, n, (random_pairs, 2)) if n else np.zeros((0, 2), dtype=np.int64)
    truth = records["truth_child_id"].to_numpy()
    differ = (draws[:, 0] != draws[:, 1]) & (truth[draws[:, 0]] != truth[draws[:, 1]])
    keys = records["record_key"].to_numpy()
    randoms = _pairs_of(records, keys[draws[differ, 0]], keys[draws[differ, 1]])
    return LevelCounts(
        m={f: _levels(matches, f) for f in COMPARED},
        u={f: _levels(randoms, f) for f in COMPARED},
        true_pairs=float((sizes["len"].cast(pl.Float64) * (sizes["len"] - 1) / 2).sum()),
        all_pairs=n * (n - 1) / 2,
        values={
            f: records.drop_nulls(f)
            .group_by(pl.col(f).alias("value"))
            .agg(pl.len().cast(pl.Int64).alias("count"))
            for f in frequency_fields
        },
    )


def estimate_weights(records: pl.DataFrame, params: MatchingParams, seed: int) -> MatchWeights:
    """m, u and prior from standardised records that carry `truth_child_id`."""
    rng = stream(seed, "feeds", MATCHING_STREAM, 0)
    counts = count_levels(
        records,
        rng,
        params.labelled_children.value,
        params.random_pairs.value,
        tuple(params.term_frequency_fields.value),
    )
    return counts.weights()
