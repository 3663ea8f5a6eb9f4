"""New index IDs for children no Child Reference Number identified.

The ID scheme is the population's (sim/population/identifiers.py): each authority issues
serials through its own affine permutation, continuing from the number it has issued, so a new
ID can never repeat one already given.
"""

import polars as pl

from sim.errors import InputError
from sim.population.identifiers import index_ids, serials

ISSUER_COLUMNS = ("authority_code", "ordinal", "id_multiplier", "id_offset", "ids_issued")


def issue_ids(issuers: pl.DataFrame, authority_codes: pl.Series) -> tuple[pl.Series, pl.DataFrame]:
    """One new ID per entry of `authority_codes`, in order, and the issuers' updated counts.

    `issuers` is the population's `authorities` frame (or any frame with ISSUER_COLUMNS)."""
    missing = sorted(set(authority_codes.drop_nulls().unique()) - set(issuers["authority_code"]))
    if missing or authority_codes.null_count():
        raise InputError(f"no ID issuer for authority {missing[0] if missing else 'unknown'}")
    wanted = pl.DataFrame({"authority_code": authority_codes}).with_row_index("position")
    wanted = wanted.with_columns(rank=pl.int_range(pl.len()).over("authority_code"))
    ids: list[pl.DataFrame] = []
    counts = {}
    for (code,), part in wanted.group_by("authority_code", maintain_order=True):
        issuer = issuers.filter(pl.col("authority_code") == code).row(0, named=True)
        ordinals = part["rank"].to_numpy() + issuer["ids_issued"]
        made = index_ids(
            issuer["ordinal"], serials(ordinals, issuer["id_multiplier"], issuer["id_offset"])
        )
        ids.append(part.select("position").with_columns(child_id=pl.Series(made).cast(pl.String)))
        counts[code] = issuer["ids_issued"] + part.height
    issued = (
        pl.concat(ids).sort("position")["child_id"] if ids else pl.Series("child_id", [], pl.String)
    )
    updated = issuers.with_columns(
        pl.col("authority_code")
        .replace_strict(counts, default=None, return_dtype=pl.Int64)
        .fill_null(pl.col("ids_issued"))
        .alias("ids_issued")
    )
    return issued, updated
