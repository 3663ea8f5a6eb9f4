"""Blocking: only records that agree on every key of some rule are compared.

Each rule is an equi-join, and a block larger than `max_block_size` is skipped, so the number
of pairs grows with the number of records, not its square: at England scale a date of birth
alone would put ~1,700 children in each block (11 M over 18 x 365 days), a date of birth and a
Soundex code a few dozen.
"""

import polars as pl

from sim.feeds.matching.standardise import COMPARED

CARRIED = (*COMPARED, "district", "authority_code", "forename_code", "surname_code")


def _blocks(frame: pl.DataFrame, keys: list[str], max_block_size: int) -> pl.DataFrame:
    """record_key and a 64-bit hash of the rule's keys (a collision only adds a pair to score),
    without rows missing a key or in an oversized block."""
    usable = frame.drop_nulls(keys).select(
        "record_key", pl.struct(keys).hash(seed=0).alias("block")
    )
    return usable.filter(pl.len().over("block") <= max_block_size)


def candidate_pairs(
    left: pl.DataFrame,
    right: pl.DataFrame | None,
    rules: list[list[str]],
    max_block_size: int,
) -> pl.DataFrame:
    """Distinct (key_l, key_r) pairs. With no `right`, pairs within `left` (key_l < key_r)."""
    found = []
    for keys in rules:
        a = _blocks(left, keys, max_block_size)
        b = a if right is None else _blocks(right, keys, max_block_size)
        joined = a.join(b, on="block", suffix="_r").select(
            pl.col("record_key").alias("key_l"), pl.col("record_key_r").alias("key_r")
        )
        if right is None:
            joined = joined.filter(pl.col("key_l") < pl.col("key_r"))
        found.append(joined)
    schema = {"key_l": pl.UInt32, "key_r": pl.UInt32}
    if not found:
        return pl.DataFrame(schema=schema)
    return pl.concat(found).cast(schema).unique()  # type: ignore[arg-type]


def with_fields(pairs: pl.DataFrame, left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
    """Pairs with each side's compared fields as `<field>_l` and `<field>_r`."""
    lhs = left.select(
        pl.col("record_key").alias("key_l"), *(pl.col(c).alias(f"{c}_l") for c in CARRIED)
    )
    rhs = right.select(
        pl.col("record_key").alias("key_r"), *(pl.col(c).alias(f"{c}_r") for c in CARRIED)
    )
    return pairs.join(lhs, on="key_l").join(rhs, on="key_r")
