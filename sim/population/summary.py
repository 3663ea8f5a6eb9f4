"""Summaries of a synthetic population, for the CLI, reports and notebooks."""

import polars as pl


def summary_by_region(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Authorities, children, households, carers, schools, practices, practitioners per region."""
    regions = tables["authorities"].select("authority_code", "region")

    def count(name: str, label: str) -> pl.DataFrame:
        frame = tables[name]
        if "authority_code" not in frame.columns:
            frame = frame.join(
                tables["households"].select("household_id", "authority_code"), on="household_id"
            )
        return (
            frame.join(regions, on="authority_code").group_by("region").agg(pl.len().alias(label))
        )

    result = regions.group_by("region").agg(pl.len().alias("LAs"))
    for name, label in [
        ("children", "children"),
        ("households", "households"),
        ("carers", "carers"),
        ("schools", "schools"),
        ("gp_practices", "GP practices"),
        ("practitioners", "practitioners"),
    ]:
        result = result.join(count(name, label), on="region", how="left")
    result = result.sort("region").fill_null(0)
    total = result.select(pl.lit("All selected").alias("region"), pl.exclude("region").sum())
    return pl.concat([result, total.cast(result.schema)])
