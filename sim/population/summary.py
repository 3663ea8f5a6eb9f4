"""Summaries of a synthetic population, for the CLI, reports and notebooks."""

import polars as pl

COLUMNS = {
    "children": "children",
    "households": "households",
    "carers": "carers",
    "schools": "schools",
    "gp_practices": "GP practices",
    "practitioners": "practitioners",
}


def summary_by_region(counts: pl.DataFrame) -> pl.DataFrame:
    """Authorities and rows of each table per region, with a total row.

    `counts` has one row per authority (see sim.population.synth.authority_counts).
    """
    by_region = (
        counts.group_by("region")
        .agg(pl.len().alias("LAs"), *(pl.col(name).sum() for name in COLUMNS))
        .sort("region")
    )
    total = by_region.select(pl.lit("All selected").alias("region"), pl.exclude("region").sum())
    return pl.concat([by_region, total.cast(by_region.schema)]).rename(COLUMNS)
