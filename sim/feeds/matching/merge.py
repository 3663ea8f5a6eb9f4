"""One index record per child from the feed records linked to it: which source wins what.

Each field takes the value most of the child's records agree on, so a single typo, nickname or
swapped date is outvoted; a tie goes to the source earlier in `source_priority` (the Child
Benefit record first, as its CRN seeded the index). The address takes the value most records
agree on and, on a tie, the most recently received. A surname that differs from the chosen one
by more than a keying slip is kept as a former surname (SI 2007/2182 Sch 1 para 1: name and
any former name).
"""

import polars as pl

from sim.feeds.matching.comparison import within_one_edit

INDEX_SCHEMA = {
    "child_id": pl.String,
    "forename": pl.String,
    "middle_names": pl.String,
    "surname": pl.String,
    "former_surnames": pl.List(pl.String),
    "gender": pl.String,
    "date_of_birth": pl.Date,
    "address_line": pl.String,
    "town": pl.String,
    "postcode": pl.String,
    "authority_code": pl.String,
    "household_id": pl.Int64,
    "school_urn": pl.Int64,
    "gp_practice_code": pl.String,
    "sources": pl.List(pl.String),
    "truth_child_id": pl.String,
}
ADDRESS = ("address_line", "town", "postcode", "authority_code")


def vote(
    records: pl.LazyFrame, fields: tuple[str, ...], recent_first: bool = False
) -> pl.LazyFrame:
    """child_id and the winning value(s) of `fields` among records where the first is set."""
    tallies = (
        records.filter(pl.col(fields[0]).is_not_null())
        .group_by("cid", *fields)
        .agg(pl.len().alias("votes"), pl.col("priority").min(), pl.col("received_on").max())
    )
    order = ["votes", "received_on", "priority"] if recent_first else ["votes", "priority"]
    descending = [True, True, False] if recent_first else [True, False]
    keys = [*order, *fields]
    return tallies.group_by("cid").agg(
        pl.col(f).sort_by(keys, descending=[*descending, *[False] * len(fields)]).first()
        for f in fields
    )


def former_surnames(records: pl.DataFrame, chosen: pl.DataFrame) -> pl.DataFrame:
    """child_id -> sorted surnames other than the chosen one, excluding keying slips of it."""
    others = (
        records.select("child_id", pl.col("surname").alias("other"))
        .drop_nulls()
        .unique()
        .join(chosen.select("child_id", "surname"), on="child_id")
        .filter(pl.col("other") != pl.col("surname"))
    )
    slip = within_one_edit(others["other"].str.to_uppercase(), others["surname"].str.to_uppercase())
    kept = others.filter(~pl.Series(slip))
    return kept.group_by("child_id").agg(pl.col("other").sort().alias("former_surnames"))


def merge_records(records: pl.DataFrame, priority: list[str]) -> pl.DataFrame:
    """Index rows (INDEX_SCHEMA) from feed records that carry an assigned `child_id`."""
    records = records.with_columns(
        priority=pl.col("source").replace_strict(
            {s: i for i, s in enumerate(priority)}, return_dtype=pl.Int32
        )
    )
    # Group on a dense integer key: far cheaper than on the ID strings at national scale.
    children = records.select("child_id").unique().sort("child_id").with_row_index("cid")
    lazy = records.join(children, on="child_id").drop("child_id").lazy()
    parts = [
        vote(lazy, ("forename",)),
        vote(lazy, ("middle_names",)),
        vote(lazy, ("surname",)),
        vote(lazy, ("gender",)),
        vote(lazy, ("date_of_birth",)),
        vote(lazy, ("postcode", "address_line", "town", "authority_code"), recent_first=True),
        vote(lazy, ("household_id",)),
        vote(lazy, ("school_urn",)),
        vote(lazy, ("gp_practice_code",)),
        vote(lazy, ("truth_child_id",)),
        vote(lazy, ("authority_code",)).rename({"authority_code": "fallback"}),
        lazy.select("cid", "source")
        .unique()
        .sort("cid", "source")
        .group_by("cid", maintain_order=True)
        .agg(pl.col("source").alias("sources")),
    ]
    merged = children.lazy()
    for part in parts:
        merged = merged.join(part, on="cid", how="left")
    merged = merged.collect().sort("cid").drop("cid")
    merged = (
        merged.with_columns(pl.coalesce("authority_code", "fallback").alias("authority_code"))
        .join(former_surnames(records, merged), on="child_id", how="left")
        .with_columns(pl.col("former_surnames").fill_null(pl.lit([], dtype=pl.List(pl.String))))
    )
    return merged.select(pl.col(c).cast(t) for c, t in INDEX_SCHEMA.items())


def deaths(records: pl.DataFrame) -> pl.DataFrame:
    """child_id, date_of_death for children with a death registration linked to them."""
    return (
        records.filter(pl.col("date_of_death").is_not_null())
        .group_by("child_id")
        .agg(pl.col("date_of_death").max())
        .sort("child_id")
    )
