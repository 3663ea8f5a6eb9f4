"""Matched children turned into the index's tables, one batch of birth cohorts at a time.

Keys continue from batch to batch, so the index is the same whatever the batch size: children
are keyed in order of birth year, then index ID; a household (one resolved household and
address, so two children of one family whose feeds disagree on the address are two households,
each with the family's carers) is keyed when the first of its children is loaded, ordered by
that child's birth year. Carers come with the Child Benefit claim, so they join on the resolved
household; schools, practices and their contacts are reference data, loaded with the first
batch. The names are those the feeds gave: a former surname is kept beside the current one
(SI 2007/2182 Sch 1 para 1). A death linked to a child goes to the death table, so retention's
one-year rule applies to it (reg 7).
"""

import polars as pl

from sim.errors import InputError
from sim.index.build import involvements, service_frames
from sim.index.store.keys import with_name_keys

ADDRESS = ("address_line", "town", "postcode")
HOME = ("household_id", "address_hash")


def _address_hash() -> pl.Expr:
    """One 64-bit value per address; a collision would need two addresses of one household."""
    return pl.struct(*ADDRESS).hash(seed=0).alias("address_hash")


class FeedLoad:
    """Index frames (schema.BULK_TABLES) for successive batches of matched children."""

    def __init__(self, tables: dict[str, pl.DataFrame]) -> None:
        self.carers = tables["carers"]
        self.contacts, self.services = service_frames(tables)
        self.homes = pl.DataFrame(
            schema={"household_id": pl.Int64, "address_hash": pl.UInt64, "household_key": pl.Int64}
        )
        self.children_loaded = 0
        self.carers_loaded = 0
        self.batches_loaded = 0

    def frames(self, index: pl.DataFrame, deaths: pl.DataFrame) -> dict[str, pl.DataFrame]:
        """Tables for one batch of matched children (INDEX_SCHEMA without the truth) and its
        deaths (child_id, date_of_death)."""
        if "truth_child_id" in index.columns:
            raise InputError("matched index: drop truth_child_id before loading")
        children = (
            index.with_columns(_address_hash(), year=pl.col("date_of_birth").dt.year())
            .sort("year", "child_id")
            .with_row_index("child_key", offset=self.children_loaded + 1)
            .with_columns(pl.col("child_key").cast(pl.Int64))
        )
        households, carers = self._new_homes(children)
        children = children.join(self.homes, on=HOME, how="left", nulls_equal=True).with_columns(
            pl.col("date_of_birth").dt.to_string("%Y-%m-%d")
        )
        self.children_loaded += children.height
        frames = {
            "household": households,
            "child": children,
            "name": _names(children),
            "carer": carers,
            "involvement": involvements(children, self.services),
            "death": deaths.join(children.select("child_id", "child_key"), on="child_id").select(
                "child_key", pl.col("date_of_death").dt.to_string("%Y-%m-%d").alias("died_on")
            ),
        }
        if self.batches_loaded == 0:
            frames |= {"contact": self.contacts, "service": self.services}
        self.batches_loaded += 1
        return frames

    def _new_homes(self, children: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Households first seen in this batch, keyed in order, and their carers."""
        addressed = pl.any_horizontal(pl.col(c).is_not_null() for c in ADDRESS)
        new = (
            children.filter(addressed)
            .group_by(*HOME)
            .agg(pl.col("year").min(), *(pl.col(c).first() for c in ADDRESS))
            .join(self.homes, on=HOME, how="anti", nulls_equal=True)
            .sort("year", "household_id", *ADDRESS, nulls_last=True)
            .with_row_index("household_key", offset=self.homes.height + 1)
            .with_columns(pl.col("household_key").cast(pl.Int64))
        )
        self.homes = pl.concat([self.homes, new.select(self.homes.columns)])
        households = new.select(
            "household_key",
            *ADDRESS,
            pl.col("postcode").str.replace_all(" ", "").str.to_uppercase().alias("postcode_norm"),
        )
        carers = (
            new.select("household_key", "household_id")
            .join(self.carers, on="household_id")
            .sort("household_key", "carer_id")
            .with_row_index("carer_key", offset=self.carers_loaded + 1)
            .with_columns(pl.col("carer_key").cast(pl.Int64))
        )
        self.carers_loaded += carers.height
        return households, carers


def _names(children: pl.DataFrame) -> pl.DataFrame:
    """Current names, and each former surname as a name that is not current."""
    current = children.select(
        "child_key", "forename", "middle_names", "surname", "date_of_birth", current=pl.lit(1)
    )
    former = (
        children.select("child_key", "forename", "middle_names", "former_surnames", "date_of_birth")
        .explode("former_surnames")
        .drop_nulls("former_surnames")
        .rename({"former_surnames": "surname"})
        .with_columns(current=pl.lit(0))
    )
    names = pl.concat([current, former.select(current.columns)])
    return with_name_keys(with_name_keys(names, "forename"), "surname").sort(
        "child_key", "current", "surname", descending=[False, True, False]
    )
