"""The lost child: vulnerable movers not reconnected within a threshold.

The measure in words: docs/architecture.md, "The lost child".

A case is *eligible* at T days if it was followed for T days: the run went on that long and the
child did not move on, die or leave the index first (a case cut short by the world is censored,
not lost). It is *lost* at T if eligible and not reconnected within T days. Everything here is a
lazy polars query over the regime log and the world's event log.
"""

import polars as pl

THRESHOLDS = (30, 90)
ENDINGS = ("move", "death", "left_index")
PERCENTILES = ((10, 0.1), (25, 0.25), (50, 0.5), (75, 0.75), (90, 0.9))  # column, quantile


def case_outcomes(regime_log: pl.LazyFrame, world_log: pl.LazyFrame, run_end) -> pl.LazyFrame:
    """One row per scenario and case: opened, reconnected (or null), path, followed_until."""
    cases = regime_log.filter(pl.col("event") == "case_open").select(
        "scenario", "case", "child_id", "authority", "from_authority", "care", "opened"
    )
    reconnected = regime_log.filter(pl.col("event") == "reconnection").select(
        "scenario", "case", pl.col("date").alias("reconnected"), "path"
    )
    endings = world_log.filter(pl.col("event").cast(pl.String).is_in(ENDINGS)).select(
        "child_id", pl.col("date").alias("ended")
    )
    ended = (
        cases.select("case", "child_id", "opened")
        .unique()
        .join(endings, on="child_id")
        .filter(pl.col("ended") > pl.col("opened"))
        .group_by("case")
        .agg(pl.col("ended").min())
    )
    return (
        cases.join(reconnected, on=["scenario", "case"], how="left")
        .join(ended, on="case", how="left")
        .with_columns(
            followed_until=pl.min_horizontal(pl.col("ended").fill_null(run_end), pl.lit(run_end)),
            days=(pl.col("reconnected") - pl.col("opened")).dt.total_days(),
        )
        # a reconnection after the case was cut short cannot count
        .with_columns(
            reconnected=pl.when(pl.col("reconnected") <= pl.col("followed_until")).then(
                pl.col("reconnected")
            ),
            days=pl.when(pl.col("reconnected") <= pl.col("followed_until")).then(pl.col("days")),
        )
    )


def lost_counts(outcomes: pl.LazyFrame) -> pl.LazyFrame:
    """Per case: eligible_T and lost_T (0/1) for each threshold, plus reconnected."""
    columns = [
        pl.lit(1).alias("vulnerable_movers"),
        pl.col("days").is_not_null().cast(pl.Int64).alias("reconnected_cases"),
    ]
    for t in THRESHOLDS:
        eligible = (pl.col("followed_until") - pl.col("opened")).dt.total_days() >= t
        lost = eligible & (pl.col("days").is_null() | (pl.col("days") > t))
        columns += [
            eligible.cast(pl.Int64).alias(f"eligible_{t}"),
            lost.cast(pl.Int64).alias(f"lost_{t}"),
        ]
    return outcomes.with_columns(columns)


def reconnection_times(outcomes: pl.LazyFrame) -> pl.LazyFrame:
    """The distribution of days to reconnection by scenario and path (reconnected cases)."""
    found = outcomes.filter(pl.col("days").is_not_null())
    summary = [
        pl.len().alias("cases"),
        pl.col("days").mean().alias("mean_days"),
        *(
            pl.col("days")
            .quantile(share, "nearest")  # pragma: no mutate (nearest is also polars' default)
            .alias(f"p{percent}_days")
            for percent, share in PERCENTILES
        ),
    ]
    by_path = found.group_by("scenario", pl.col("path").cast(pl.String)).agg(summary)
    overall = found.group_by("scenario").agg(summary).with_columns(path=pl.lit("all"))
    return pl.concat([overall, by_path], how="diagonal").sort("scenario", "path")
