"""Loading the index: feed records merged into one record per child.

The Child Benefit records carry the Child Reference Number and form the spine
(docs/reference.md s5c); every other record is linked to the spine by blocking and Fellegi-Sunter
scoring; records that link to no spine child are clustered among themselves and issued new IDs;
uncertain records are held in a review queue, not published.
"""

from dataclasses import dataclass

import polars as pl

from sim.feeds.matching.issue import issue_ids
from sim.feeds.matching.linking import (
    REVIEW_COLUMNS,
    Linking,
    cluster_leftovers,
    link_to_spine,
)
from sim.feeds.matching.merge import deaths, merge_records
from sim.feeds.matching.parameters import MatchingParams, matching_params
from sim.feeds.matching.standardise import standardise
from sim.feeds.matching.weights import MatchWeights, estimate_weights

REVIEW_SCHEMA = {
    "source": pl.String,
    "record_id": pl.String,
    "candidate_child_id": pl.String,
    "match_probability": pl.Float64,
    "reason": pl.String,
    "truth_child_id": pl.String,
}


@dataclass(frozen=True)
class MatchResult:
    """The merged index, the review queue, each record's assignment and what it cost.

    `links` has one row per feed record (source, record_id, child_id, truth_child_id); a held
    record has a null child_id."""

    index: pl.DataFrame
    review: pl.DataFrame
    links: pl.DataFrame
    deaths: pl.DataFrame
    issuers: pl.DataFrame
    weights: MatchWeights
    pairs_compared: int


def new_children(
    feeds: pl.DataFrame,
    components: pl.DataFrame,
    issuers: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """record_key -> newly issued child_id for clustered leftovers, and the updated issuers.

    A cluster's authority is its records' most common one (ties: alphabetical)."""
    keyed = components.join(
        feeds.select(pl.col("record_key").alias("node"), "authority_code"), on="node"
    )
    authority = (
        keyed.group_by("component", "authority_code")
        .len()
        .sort("component", "len", "authority_code", descending=[False, True, False])
        .group_by("component", maintain_order=True)
        .first()
        .sort("component")
    )
    ids, issuers = issue_ids(issuers, authority["authority_code"])
    named = authority.select("component").with_columns(child_id=ids)
    return keyed.join(named, on="component").select(
        pl.col("node").alias("record_key"), "child_id"
    ), issuers


def possible_duplicates(possible: pl.DataFrame, fresh: pl.DataFrame) -> pl.DataFrame:
    """Review-band pairs between new children that did end up as two children: both are
    published, and a person decides whether they are one."""
    other = fresh.rename({"record_key": "candidate_key", "child_id": "other"})
    return (
        possible.join(fresh, on="record_key")
        .join(other, on="candidate_key")
        .filter(pl.col("child_id") != pl.col("other"))
        .select(*REVIEW_COLUMNS)
    )


def with_candidate(review: pl.DataFrame, candidate_ids: pl.DataFrame) -> pl.DataFrame:
    """Review rows with the candidate's child_id (candidate_ids: record_key, child_id)."""
    named = candidate_ids.select(
        pl.col("record_key").alias("candidate_key"), pl.col("child_id").alias("candidate_child_id")
    )
    return review.join(named, on="candidate_key", how="left").drop("candidate_key")


def review_frame(review: pl.DataFrame, feeds: pl.DataFrame) -> pl.DataFrame:
    """Review rows named by the record's source and record ID."""
    return (
        review.join(
            feeds.select("record_key", "source", "record_id", "truth_child_id"), on="record_key"
        )
        .sort("source", "record_id")
        .select(pl.col(c).cast(t) for c, t in REVIEW_SCHEMA.items())
    )


@dataclass(frozen=True)
class Assignment:
    """Records linked to spine children, and the rest clustered into new children."""

    linking: Linking
    linked: pl.DataFrame  # record_key -> child_id of the spine record it links to
    fresh: pl.DataFrame  # record_key -> child_id newly issued
    possible: pl.DataFrame  # near pairs among the new children (possible duplicates)
    issuers: pl.DataFrame
    pairs_compared: int


def second_chance(
    records: pl.DataFrame,
    linking: Linking,
    linked: pl.DataFrame,
    spine: pl.DataFrame,
    spine_ids: pl.DataFrame,
    weights: MatchWeights,
    params: MatchingParams,
) -> tuple[Linking, pl.DataFrame]:
    """Link what matched no spine record to another record already linked to a spine child.

    Errors chain: the Child Benefit record may carry a stale address in another authority and
    the census a new surname at the new address, while the health record, with the new address
    and the old surname, links to the spine. The census record then matches the health record,
    not the spine one. A linked record stands for its child here, with the child's shield, so
    the shielded hold applies as in the first pass; a child is one candidate however many of
    its records match (so they are never rivals), and links and review rows name the child's
    spine record, as first-pass ones do."""
    leftovers = records.filter(pl.col("record_key").is_in(linking.leftover.implode()))
    if not leftovers.height or not linked.height:
        return linking, linked
    spine_of = spine_ids.group_by("child_id").agg(pl.col("record_key").min().alias("spine_key"))
    shields = (
        spine.select("record_key", "shielded")
        .join(spine_ids, on="record_key")
        .group_by("child_id")
        .agg(pl.col("shielded").any())
    )
    via = (
        records.join(linked, on="record_key")
        .join(shields, on="child_id", how="left")
        .with_columns(pl.col("shielded").fill_null(True))  # unknown means shielded
    )
    via = via.join(spine_of.rename({"spine_key": "stands_for"}), on="child_id")
    second = link_to_spine(leftovers, via.drop("child_id"), weights, params)
    spine_child = spine_of.select("spine_key", "child_id")
    links = second.links.join(spine_child, on="spine_key")
    combined = Linking(
        links=pl.concat([linking.links, second.links]),
        review=pl.concat([linking.review, second.review]).sort("record_key"),
        leftover=second.leftover,
        pairs_compared=linking.pairs_compared + second.pairs_compared,
    )
    return combined, pl.concat([linked, links.select("record_key", "child_id")])


def assign_children(
    records: pl.DataFrame,
    spine: pl.DataFrame,
    spine_ids: pl.DataFrame,
    feeds: pl.DataFrame,
    issuers: pl.DataFrame,
    weights: MatchWeights,
    params: MatchingParams,
) -> Assignment:
    """Link standardised `records` to the `spine` (`spine_ids`: spine record_key -> child_id),
    then cluster what links to no one into new children with IDs from their authority. The
    first build and every later update resolve records this way."""
    linking = link_to_spine(records, spine, weights, params)
    linked = linking.links.join(
        spine_ids.rename({"record_key": "spine_key"}), on="spine_key"
    ).select("record_key", "child_id")
    linking, linked = second_chance(records, linking, linked, spine, spine_ids, weights, params)
    leftovers = records.filter(pl.col("record_key").is_in(linking.leftover.implode()))
    components, possible, compared = cluster_leftovers(leftovers, weights, params)
    fresh, issuers = new_children(feeds, components, issuers)
    return Assignment(linking, linked, fresh, possible, issuers, linking.pairs_compared + compared)


def build_index(
    feeds: pl.DataFrame,
    issuers: pl.DataFrame,
    seed: int,
    weights: MatchWeights | None = None,
    params: MatchingParams | None = None,
) -> MatchResult:
    """Merge stacked feed records (sim.feeds.FEED_SCHEMA) into one record per child.

    `issuers` is the population's `authorities` frame (it issues IDs for children with no
    CRN); weights are estimated from the records' truth unless given."""
    params = params or matching_params()
    feeds = feeds.with_row_index("record_key")
    std = standardise(feeds.drop("record_key"))
    weights = weights or estimate_weights(std, params, seed)

    with_crn = feeds.filter(pl.col("crn").is_not_null())
    by_crn = with_crn.select("record_key", pl.col("crn").alias("child_id"))
    spine_keys = (
        with_crn.sort("crn", "received_on", "record_key", descending=[False, True, False])
        .group_by("crn", maintain_order=True)
        .first()
        .select("record_key", pl.col("crn").alias("child_id"))
    )
    spine = std.join(spine_keys.select("record_key"), on="record_key").with_columns(
        shielded=pl.lit(False)
    )
    rest = std.filter(~pl.col("record_key").is_in(with_crn["record_key"].implode()))
    found = assign_children(rest, spine, spine_keys, feeds, issuers, weights, params)
    fresh = found.fresh

    assigned = pl.concat([by_crn, found.linked, fresh])
    published = feeds.join(assigned, on="record_key")
    index = merge_records(published, params.source_priority.value)

    duplicates = possible_duplicates(found.possible, fresh)
    named = with_candidate(
        pl.concat([found.linking.review, duplicates]), pl.concat([spine_keys, fresh])
    )
    review = review_frame(named, feeds)
    links = feeds.join(assigned, on="record_key", how="left").select(
        "source", "record_id", "child_id", "truth_child_id"
    )
    return MatchResult(
        index=index,
        review=review,
        links=links,
        deaths=deaths(published),
        issuers=found.issuers,
        weights=weights,
        pairs_compared=found.pairs_compared,
    )
