"""Deciding links: each feed record to its best index (spine) record, or to no one.

A record links when its best candidate reaches `match_probability` and leads the next by
`min_margin_bits`; it is held for clerical review when the best reaches
`review_probability`, or when the best is a shielded child above the far lower
`shielded_hold_probability` (2009: national update feeds duplicated shielded children,
docs/reference.md s5e). Everything else is left over, to be clustered into new children.
"""

from dataclasses import dataclass

import polars as pl

from sim.feeds.matching.blocking import candidate_pairs, with_fields
from sim.feeds.matching.comparison import compare
from sim.feeds.matching.parameters import MatchingParams
from sim.feeds.matching.weights import MatchWeights

REVIEW_COLUMNS = {
    "record_key": pl.UInt32,
    "candidate_key": pl.UInt32,
    "match_probability": pl.Float64,
    "reason": pl.String,
}


@dataclass(frozen=True)
class Linking:
    """links: record_key -> spine_key; review: held records; leftover: record keys."""

    links: pl.DataFrame
    review: pl.DataFrame
    leftover: pl.Series
    pairs_compared: int


def scored_pairs(
    left: pl.DataFrame, right: pl.DataFrame | None, weights: MatchWeights, params: MatchingParams
) -> pl.DataFrame:
    """Blocked, compared and scored candidate pairs (key_l, key_r, match_weight, ...)."""
    pairs = candidate_pairs(left, right, params.blocking_rules.value, params.max_block_size.value)
    compared = compare(with_fields(pairs, left, left if right is None else right))
    return weights.score(compared).select("key_l", "key_r", "match_weight", "match_probability")


def link_to_spine(
    records: pl.DataFrame,
    spine: pl.DataFrame,
    weights: MatchWeights,
    params: MatchingParams,
) -> Linking:
    """Link standardised `records` to standardised `spine` rows (which carry `shielded`).

    Spine rows may carry `stands_for`, the key of the spine record of the child they belong
    to (several records of one child): candidates are then children, each scored by its best
    record, so two records of one child never count as rivals."""
    scored = scored_pairs(records, spine, weights, params)
    shielded = spine.select(pl.col("record_key").alias("key_r"), "shielded")
    if "stands_for" in spine.columns:
        child = spine.select(pl.col("record_key").alias("key_r"), "stands_for")
        scored = (
            scored.join(child, on="key_r")
            .sort("key_l", "stands_for", "match_weight", descending=[False, False, True])
            .group_by("key_l", "stands_for", maintain_order=True)
            .agg(pl.col("match_weight").first(), pl.col("match_probability").first())
            .rename({"stands_for": "key_r"})
        )
        shielded = spine.group_by(pl.col("stands_for").alias("key_r")).agg(pl.col("shielded").any())
    ranked = (
        scored.join(shielded, on="key_r", how="left")
        .sort("key_l", "match_weight", "key_r", descending=[False, True, False])
        .with_columns(rank=pl.int_range(pl.len()).over("key_l"))
    )
    best = ranked.filter(pl.col("rank") == 0).drop("rank")
    runner_up = ranked.filter(pl.col("rank") == 1).select(
        "key_l", pl.col("match_weight").alias("second_weight")
    )
    best = best.join(runner_up, on="key_l", how="left")
    margin = pl.col("match_weight") - pl.col("second_weight").fill_null(-float("inf"))
    is_link = (pl.col("match_probability") >= params.match_probability.value) & (
        margin >= params.min_margin_bits.value
    )
    near_shield = (
        ranked.filter(
            pl.col("shielded")
            & (pl.col("match_probability") >= params.shielded_hold_probability.value)
        )
        .group_by("key_l")
        .agg(pl.col("key_r").first(), pl.col("match_probability").max())
    )
    links = best.filter(is_link).select(
        pl.col("key_l").alias("record_key"), pl.col("key_r").alias("spine_key")
    )
    unlinked = best.filter(~is_link)
    ordinary = unlinked.filter(
        pl.col("match_probability") >= params.review_probability.value
    ).select(
        pl.col("key_l").alias("record_key"),
        pl.col("key_r").alias("candidate_key"),
        "match_probability",
        pl.lit("uncertain match").alias("reason"),
    )
    shield_hold = near_shield.filter(~pl.col("key_l").is_in(links["record_key"].implode())).select(
        pl.col("key_l").alias("record_key"),
        pl.col("key_r").alias("candidate_key"),
        "match_probability",
        pl.lit("close to a shielded child").alias("reason"),
    )
    review = (
        pl.concat(
            [
                shield_hold,
                ordinary.filter(~pl.col("record_key").is_in(shield_hold["record_key"].implode())),
            ]
        )
        .cast(REVIEW_COLUMNS)  # type: ignore[arg-type]
        .sort("record_key")
    )
    decided = pl.concat([links["record_key"], review["record_key"]])
    leftover = records["record_key"].filter(~records["record_key"].is_in(decided.implode()))
    return Linking(links, review, leftover, scored.height)


def connected_components(nodes: pl.Series, edges: pl.DataFrame) -> pl.DataFrame:
    """node -> component (the smallest node in it), by label propagation over joins."""
    labels = pl.DataFrame({"node": nodes, "component": nodes})
    both = pl.concat([edges.select(a="key_l", b="key_r"), edges.select(a="key_r", b="key_l")])
    while True:
        lowest = (
            both.join(labels, left_on="b", right_on="node")
            .group_by("a")
            .agg(pl.col("component").min().alias("neighbour"))
        )
        updated = labels.join(lowest, left_on="node", right_on="a", how="left").select(
            "node", pl.min_horizontal("component", "neighbour").alias("component")
        )
        if updated.equals(labels):
            return labels
        labels = updated


def cluster_leftovers(
    records: pl.DataFrame, weights: MatchWeights, params: MatchingParams
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Group records that match no spine child into new children.

    Returns (record_key -> component, possible-duplicate review rows, pairs compared)."""
    scored = scored_pairs(records, None, weights, params)
    edges = scored.filter(pl.col("match_probability") >= params.match_probability.value)
    components = connected_components(records["record_key"], edges)
    possible = scored.filter(
        pl.col("match_probability").is_between(
            params.review_probability.value, params.match_probability.value, closed="left"
        )
    ).select(
        pl.col("key_l").alias("record_key"),
        pl.col("key_r").alias("candidate_key"),
        "match_probability",
        pl.lit("possible duplicate").alias("reason"),
    )
    return components, possible.cast(REVIEW_COLUMNS), scored.height  # type: ignore[arg-type]
