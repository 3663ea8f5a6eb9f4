"""Records put into one comparable shape: upper-case names, Soundex codes, postcode districts.

Phonetic codes are computed once per distinct name, not once per record: a national feed has
millions of records but only hundreds of thousands of distinct spellings.
"""

import jellyfish
import polars as pl

COMPARED = (
    "forename",
    "middle_name",
    "surname",
    "gender",
    "date_of_birth",
    "postcode",
)


def _clean(column: str) -> pl.Expr:
    """Upper case, ASCII letters, hyphen and space only (accents and apostrophes dropped)."""
    return (
        pl.col(column)
        .str.to_uppercase()
        .str.replace_all(r"[^A-Z\- ]", "")
        .str.strip_chars()
        .replace("", None)
    )


def soundex_codes(names: pl.Series) -> pl.Series:
    """Soundex of each name (nulls stay null), computed per distinct value."""
    distinct = names.drop_nulls().unique()
    codes = pl.Series([jellyfish.soundex(n) for n in distinct.to_list()], dtype=pl.String)
    mapping = pl.DataFrame({"name": distinct, "code": codes})
    frame = pl.DataFrame({"name": names})
    return frame.join(mapping, on="name", how="left", maintain_order="left")["code"]


def standardise(records: pl.DataFrame) -> pl.DataFrame:
    """`record_key` (row number) plus the fields matching compares and blocks on.

    `truth_child_id` is carried when present, for estimating weights and evaluation only."""
    frame = records.with_row_index("record_key").select(
        "record_key",
        _clean("forename").alias("forename"),
        _clean("middle_names").str.split(" ").list.first().alias("middle_name"),
        _clean("surname").alias("surname"),
        pl.col("gender"),
        pl.col("date_of_birth"),
        pl.col("date_of_birth").dt.year().alias("birth_year"),
        pl.col("postcode").str.to_uppercase().str.replace_all(" ", "").alias("postcode"),
        pl.col("postcode").str.to_uppercase().str.split(" ").list.first().alias("district"),
        pl.col("authority_code"),
        *(["truth_child_id"] if "truth_child_id" in records.columns else []),
    )
    return frame.with_columns(
        forename_code=soundex_codes(frame["forename"]),
        surname_code=soundex_codes(frame["surname"]),
    )
