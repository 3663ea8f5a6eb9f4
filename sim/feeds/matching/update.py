"""Keeping the index current: a feed update merged into existing records, never unshielding.

In 2009 the national update feeds created new, unshielded records for children whose existing
records were shielded, so the feeds were paused (Hansard 23 Mar and 12 May 2009;
docs/reference.md s5e, s6). Here a feed record either updates the child it links to, in place,
keeping the shield; or is held for review when it comes anywhere near a shielded child
(`shielded_hold_probability`); or, only when it is close to no one, becomes a new child. The
`shielded` column of existing records is carried through untouched and checked again before
returning: if any shielded child were missing or unshielded, `ShieldError` is raised and nothing is
returned.
"""

from dataclasses import dataclass

import polars as pl

from sim.errors import WorkbenchError
from sim.feeds.matching.merge import INDEX_SCHEMA, merge_records
from sim.feeds.matching.parameters import MatchingParams, matching_params
from sim.feeds.matching.resolve import (
    assign_children,
    possible_duplicates,
    review_frame,
    with_candidate,
)
from sim.feeds.matching.standardise import standardise
from sim.feeds.matching.weights import MatchWeights

UPDATED_FIELDS = ("household_id", "school_urn", "gp_practice_code")
ADDRESS = ("address_line", "town", "postcode", "authority_code")


class ShieldError(WorkbenchError):
    """A merge would have dropped or cleared a shield: refused."""


@dataclass(frozen=True)
class UpdateResult:
    """The index after the update (existing rows first updated, new children added), the
    records held for review, each update record's child (null when held), and the issuers."""

    index: pl.DataFrame
    review: pl.DataFrame
    links: pl.DataFrame
    issuers: pl.DataFrame
    pairs_compared: int


def _latest_per_child(records: pl.DataFrame) -> pl.DataFrame:
    """Each updated child's values from its most recently received linked record."""
    order = records.sort("child_id", "received_on", "record_key", descending=[False, True, True])
    address = (
        order.filter(pl.col("postcode").is_not_null())
        .group_by("child_id", maintain_order=True)
        .first()
        .select("child_id", *(pl.col(c).alias(f"{c}_new") for c in ADDRESS))
    )
    fields = [
        order.filter(pl.col(c).is_not_null())
        .group_by("child_id", maintain_order=True)
        .first()
        .select("child_id", pl.col(c).alias(f"{c}_new"))
        for c in UPDATED_FIELDS
    ]
    seen = records.group_by("child_id").agg(pl.col("source").unique().alias("sources_new"))
    merged = seen
    for part in [address, *fields]:
        merged = merged.join(part, on="child_id", how="left")
    return merged


def apply_updates(index: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """Existing rows with address and services taken from their latest linked feed record.

    Identity fields (names, date of birth, gender) are left as they are: a change of identity
    is for the authority's management team, not a feed. `shielded` is not touched."""
    latest = _latest_per_child(records)
    joined = index.join(latest, on="child_id", how="left")
    has_address = pl.col("postcode_new").is_not_null()
    return joined.with_columns(
        *(
            pl.when(has_address).then(pl.col(f"{c}_new")).otherwise(pl.col(c)).alias(c)
            for c in ADDRESS
        ),
        *(pl.coalesce(f"{c}_new", c).alias(c) for c in UPDATED_FIELDS),
        pl.concat_list(
            "sources", pl.col("sources_new").fill_null(pl.lit([], dtype=pl.List(pl.String)))
        )
        .list.unique()
        .list.sort()
        .alias("sources"),
    ).select(index.columns)


def check_shields_kept(before: pl.DataFrame, after: pl.DataFrame) -> None:
    """Raise ShieldError unless every child shielded before is present and shielded after."""
    shielded = before.filter(pl.col("shielded"))["child_id"]
    still = after.filter(pl.col("shielded") & pl.col("child_id").is_in(shielded.implode()))
    if still.height != shielded.len():
        raise ShieldError(
            f"{shielded.len() - still.height} shielded record(s) would lose the shield"
        )


def merge_update(
    index: pl.DataFrame,
    update: pl.DataFrame,
    weights: MatchWeights,
    issuers: pl.DataFrame,
    params: MatchingParams | None = None,
) -> UpdateResult:
    """Merge feed records (FEED_SCHEMA) into index rows (INDEX_SCHEMA plus `shielded`)."""
    params = params or matching_params()
    if "shielded" not in index.columns:
        raise ShieldError("index records must carry a 'shielded' column")
    index = index.with_columns(pl.col("shielded").fill_null(True))  # unknown means shielded
    update = update.with_row_index("record_key")
    spine_ids = index.select(pl.int_range(pl.len()).cast(pl.UInt32).alias("record_key"), "child_id")

    by_crn = update.join(
        spine_ids.select(pl.col("child_id").alias("crn")), on="crn", how="semi"
    ).select("record_key", pl.col("crn").alias("child_id"))
    records = standardise(update.drop("record_key")).filter(
        ~pl.col("record_key").is_in(by_crn["record_key"].implode())
    )
    spine = standardise(index.select(list(INDEX_SCHEMA))).with_columns(index["shielded"])
    found = assign_children(records, spine, spine_ids, update, issuers, weights, params)
    fresh = found.fresh

    known = pl.concat([by_crn, found.linked])
    updated = apply_updates(index, update.join(known, on="record_key"))
    added = merge_records(update.join(fresh, on="record_key"), params.source_priority.value)
    added = added.with_columns(shielded=pl.lit(False))
    result = pl.concat([updated, added], how="diagonal").sort("child_id")
    check_shields_kept(index, result)

    duplicates = possible_duplicates(found.possible, fresh)
    named = pl.concat(
        [with_candidate(found.linking.review, spine_ids), with_candidate(duplicates, fresh)]
    )
    review = review_frame(named, update)
    links = update.join(pl.concat([known, fresh]), on="record_key", how="left").select(
        "source", "record_id", "child_id", "truth_child_id"
    )
    return UpdateResult(result, review, links, found.issuers, found.pairs_compared)
