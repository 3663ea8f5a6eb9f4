"""Forenames and their short forms (data/index/nicknames.csv): the one table the feeds' errors,
the matching and fuzzy search all use."""

from functools import cache

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from sim.reference.params import Confidence
from sim.reference.tables import load_rows

NICKNAMES_FILE = "index/nicknames.csv"


class Nickname(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    forename: str = Field(pattern=r"^[A-Z][a-z]+$")
    short_form: str = Field(pattern=r"^[A-Z][a-z]+$")
    source: str
    confidence: Confidence


@cache
def nicknames() -> tuple[Nickname, ...]:
    """Forenames and their short forms (data/index/nicknames.csv)."""
    return tuple(load_rows(NICKNAMES_FILE, Nickname))


def nickname_frame() -> pl.DataFrame:
    """The nickname table as a frame: forename, short_form."""
    rows = nicknames()
    return pl.DataFrame(
        {"forename": [r.forename for r in rows], "short_form": [r.short_form for r in rows]}
    )


def nickname_pairs() -> pl.DataFrame:
    """Upper-case forename pairs that are the same name (full and short form, or two short
    forms of one name), in both orders."""
    table = nickname_frame().select(
        pl.col("forename").str.to_uppercase(), pl.col("short_form").str.to_uppercase()
    )
    full = table.rename({"forename": "a", "short_form": "b"})
    shared = (
        table.join(table, on="forename", suffix="_b")
        .select(pl.col("short_form").alias("a"), pl.col("short_form_b").alias("b"))
        .filter(pl.col("a") != pl.col("b"))
    )
    both = pl.concat([full, full.select(pl.col("b").alias("a"), pl.col("a").alias("b")), shared])
    return both.unique()
