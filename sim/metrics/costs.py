"""Costs by scenario, authority and month, every unit cost from data/metrics/costs.toml.

- set-up (GBP 224 m, docs/reference.md 5b): shared by the children an authority holds,
  charged in the first month ContactPoint is in force there (a sunk cost by 2009, shown so
  totals compare);
- running (just under GBP 44 m a year for ContactPoint, as planned or as it was; the CP-IS
  budget for CP-IS; an assumed figure for the 2010 signposting proposal): shared by children,
  for each month the regime is in force (a local index has no located figure and is left at
  zero);
- vetting, tokens and training for each user, once, in the first month an authority's users
  can see records;
- per lookup, and practitioner time (lookups and phone-rounds) at the hourly rate.
"""

import polars as pl

from sim.metrics.parameters import CostParams, cost_params

KEYS = ("scenario", "authority", "month")
CONTACTPOINT = ("contactpoint", "contactpoint_as_it_was")  # one system: the same costs
COMPONENTS = ("setup_gbp", "running_gbp", "user_setup_gbp", "lookup_gbp", "practitioner_time_gbp")


def monthly_costs(
    exposure: pl.LazyFrame, activity: pl.LazyFrame, params: CostParams | None = None
) -> pl.LazyFrame:
    """Cost columns (GBP) per scenario, authority and month.

    `exposure` has one snapshot per scenario, authority and month (sim.regimes.runner);
    `activity` has lookups and hours per scenario, authority and month.
    """
    p = params or cost_params()
    share = pl.col("children") / p.children_england.value
    live = pl.col("records_held") > 0
    first_live = live & ~(
        live.shift(1, fill_value=False).over("scenario", "authority", order_by="month")
    )
    contactpoint = pl.col("regime").is_in(CONTACTPOINT)
    running = (
        pl.when(live & contactpoint)
        .then(p.running_gbp_per_year.value / 12 * share)
        .when(live & (pl.col("regime") == "cp_is"))
        .then(p.cp_is_running_gbp_per_year.value / 12 * share)
        .when(live & (pl.col("regime") == "signposting_2010"))
        .then(p.signposting_2010_running_gbp_per_year.value / 12 * share)
        .otherwise(0.0)
    )
    contactpoint_once = first_live & contactpoint
    per_user = p.vetting_gbp.value + p.token_gbp.value
    per_user += p.training_hours.value * p.practitioner_gbp_per_hour.value
    snapshots = exposure.with_columns(month=pl.col("date").dt.month_start()).with_columns(
        setup_gbp=pl.when(contactpoint_once).then(p.setup_gbp.value * share).otherwise(0.0),
        running_gbp=running,
        user_setup_gbp=pl.when(first_live).then(pl.col("users") * per_user).otherwise(0.0),
    )
    return (
        snapshots.select(*KEYS, "setup_gbp", "running_gbp", "user_setup_gbp")
        .join(activity, on=list(KEYS), how="full", coalesce=True)
        .with_columns(
            pl.col("setup_gbp", "running_gbp", "user_setup_gbp", "lookups", "hours").fill_null(0)
        )
        .with_columns(
            lookup_gbp=pl.col("lookups") * p.per_lookup_gbp.value,
            practitioner_time_gbp=pl.col("hours") * p.practitioner_gbp_per_hour.value,
        )
        .select(*KEYS, *COMPONENTS)
    )
