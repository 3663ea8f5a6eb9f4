"""The metrics table: every measure by scenario, authority, region and month, in long form.

Columns: scenario, level ('authority', 'region' or 'all'), area (GSS code, region name or
'all'), month (first day), metric, value. Counts are summed up the levels first and rates are
worked out at each level from the summed counts, so a region's rate is never an average of
its authorities' rates. Measures:

- lost child: vulnerable_movers, reconnected_cases, eligible_30/90, lost_30/90 (by the month
  and new authority of the move), lost_30_per_1000 and lost_90_per_1000;
- time: lookups, phone_rounds, hours (practitioner hours finding who else is involved);
- costs (GBP): setup, running, user_setup, lookup, practitioner_time and total_gbp;
- privacy: records_held, users, shielded_records (monthly snapshots), inappropriate_accesses
  (lookups x an assumed share);
- data quality: lookups_found, stale_at_lookup (the index still had the old address).
"""

import datetime as dt

import polars as pl

from sim.metrics.costs import COMPONENTS, monthly_costs
from sim.metrics.lost import THRESHOLDS, case_outcomes, lost_counts
from sim.metrics.parameters import CostParams, cost_params
from sim.reference.authorities import load_authorities

KEYS = ["scenario", "authority", "month"]
TABLE_SCHEMA = pl.Schema(
    {
        "scenario": pl.String,
        "level": pl.String,
        "area": pl.String,
        "month": pl.Date,
        "metric": pl.String,
        "value": pl.Float64,
    }
)


def _activity(regime_log: pl.LazyFrame, share: float) -> pl.LazyFrame:
    lookup = pl.col("event") == "lookup"
    return (
        regime_log.filter(pl.col("event").is_in(["lookup", "phone_round"]))
        .with_columns(month=pl.col("date").dt.month_start())
        .group_by(KEYS)
        .agg(
            lookups=lookup.sum().cast(pl.Float64),
            phone_rounds=(pl.col("event") == "phone_round").sum().cast(pl.Float64),
            hours=pl.col("hours").sum(),
            lookups_found=(lookup & pl.col("found")).sum().cast(pl.Float64),
            stale_at_lookup=(lookup & pl.col("stale")).sum().cast(pl.Float64),
        )
        .with_columns(inappropriate_accesses=pl.col("lookups") * share)
    )


def _lost(outcomes: pl.LazyFrame) -> pl.LazyFrame:
    counts = lost_counts(outcomes)
    measures = ["vulnerable_movers", "reconnected_cases"]
    measures += [f"{kind}_{t}" for t in THRESHOLDS for kind in ("eligible", "lost")]
    return (
        counts.with_columns(month=pl.col("opened").dt.month_start())
        .group_by(KEYS)
        .agg(pl.col(measures).sum().cast(pl.Float64))
    )


def _exposure(exposure: pl.LazyFrame) -> pl.LazyFrame:
    return exposure.with_columns(month=pl.col("date").dt.month_start()).select(
        *KEYS,
        pl.col("records_held").cast(pl.Float64),
        "users",
        "shielded_records",
    )


def metrics_table(
    regime_log: pl.LazyFrame,
    world_log: pl.LazyFrame,
    exposure: pl.LazyFrame,
    run_end: dt.date,
    costs: CostParams | None = None,
    outcomes: pl.LazyFrame | None = None,
) -> pl.DataFrame:
    """The long metrics table of one run (all scenarios), by authority, region and overall.

    `costs` are the unit costs (the run's parameters; data/metrics/costs.toml if None).
    `outcomes` are the run's case outcomes (sim.metrics.lost.case_outcomes) if the caller
    already has them, so the event log is not scanned for them twice.
    """
    unit_costs = costs or cost_params()
    if outcomes is None:
        outcomes = case_outcomes(regime_log, world_log, run_end)
    activity = _activity(regime_log, unit_costs.inappropriate_share.value)
    money = monthly_costs(exposure, activity.select(*KEYS, "lookups", "hours"), unit_costs)
    wide = (
        _exposure(exposure)
        .join(_lost(outcomes), on=KEYS, how="full", coalesce=True)
        .join(activity, on=KEYS, how="full", coalesce=True)
        .join(money, on=KEYS, how="full", coalesce=True)
        .fill_null(0.0)
        .with_columns(total_gbp=pl.sum_horizontal(COMPONENTS))
    )
    measures = [c for c in wide.collect_schema().names() if c not in KEYS]
    regions = pl.LazyFrame(
        {
            "authority": [a.code for a in load_authorities()],
            "region": [a.region for a in load_authorities()],
        }
    )
    with_region = wide.join(regions, on="authority", how="left")
    levels = [
        wide.rename({"authority": "area"}).with_columns(level=pl.lit("authority")),
        with_region.group_by("scenario", "region", "month")
        .agg(pl.col(measures).sum())
        .rename({"region": "area"})
        .with_columns(level=pl.lit("region")),
        wide.group_by("scenario", "month")
        .agg(pl.col(measures).sum())
        .with_columns(area=pl.lit("all"), level=pl.lit("all")),
    ]
    rates = [
        pl.when(pl.col(f"eligible_{t}") > 0)
        .then(1000 * pl.col(f"lost_{t}") / pl.col(f"eligible_{t}"))
        .alias(f"lost_{t}_per_1000")
        for t in THRESHOLDS
    ]
    combined = pl.concat(levels, how="diagonal").with_columns(rates)
    names = measures + [f"lost_{t}_per_1000" for t in THRESHOLDS]
    return (
        combined.unpivot(
            index=["scenario", "level", "area", "month"], on=names, variable_name="metric"
        )
        .drop_nulls("value")
        # sums of floats in parallel groups differ in the last bits from run to run; rounding
        # to a millionth keeps the same seed's table identical
        .with_columns(pl.col("value").round(6))
        .select(list(TABLE_SCHEMA))
        .cast(dict(TABLE_SCHEMA))
        .sort("scenario", "level", "area", "month", "metric")
        .collect()
    )


def summary(table: pl.DataFrame) -> pl.DataFrame:
    """Whole-run figures per scenario (level 'all'): counts and money summed, rates recomputed."""
    overall = table.filter(pl.col("level") == "all")
    snapshot = ["records_held", "users", "shielded_records"]
    totals = (
        overall.filter(
            ~pl.col("metric").is_in(snapshot) & ~pl.col("metric").str.ends_with("_per_1000")
        )
        .group_by("scenario", "metric")
        .agg(pl.col("value").sum())
    )
    peaks = (
        overall.filter(pl.col("metric").is_in(snapshot))
        .group_by("scenario", "metric")
        .agg(pl.col("value").max())
    )
    # Sorted first, so the pivot's columns come in the same order on every run.
    wide = (
        pl.concat([totals, peaks])
        .sort("scenario", "metric")
        .pivot(on="metric", index="scenario", values="value")
    )
    for t in THRESHOLDS:
        if f"eligible_{t}" in wide.columns:
            wide = wide.with_columns(
                (1000 * pl.col(f"lost_{t}") / pl.col(f"eligible_{t}")).alias(f"lost_{t}_per_1000")
            )
    return wide.with_columns(pl.exclude("scenario").round(6)).sort("scenario")


def cost_summary(
    regime_log: pl.LazyFrame, exposure: pl.LazyFrame, costs: CostParams | None = None
) -> pl.DataFrame:
    """Whole-run cost components (GBP) and total per scenario, under the unit costs `costs`.

    Unit costs are applied after the run, so a finished run's logs can be costed again under
    other unit costs without simulating it again (the rest of the metrics do not change).
    """
    unit_costs = costs or cost_params()
    activity = _activity(regime_log, unit_costs.inappropriate_share.value)
    return (
        monthly_costs(exposure, activity.select(*KEYS, "lookups", "hours"), unit_costs)
        .group_by("scenario")
        .agg(pl.col(COMPONENTS).sum())
        .with_columns(total_gbp=pl.sum_horizontal(COMPONENTS))
        .sort("scenario")
        .collect()
    )
