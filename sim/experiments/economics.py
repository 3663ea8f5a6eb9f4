"""Costs against benefits over the same population: incremental cost per additional child linked.

For each arm against the reference arm (`none` when present), on the same worlds:

- ICER at T days: (cost of the arm - cost of the reference) / (moves linked within T days
  under the arm - under the reference). Costs are the run's whole cost (set-up, running, users,
  lookups and practitioners' time, sim.metrics.costs), so what records transfer achieves in
  every regime is credited to none of them. "Dominated" means no additional child was linked
  (the mean gain over the worlds is zero or less).
- cost per hour saved: the arm's index costs (everything but practitioners' time) over the
  practitioner hours it saved against the reference (hours are lookups and phone-rounds);
  dominated when the arm saves no hours (its lookups cost more time than they spare).

Intervals: the ratio of mean differences, with a 95% percentile interval from resampling
replications (independent worlds, 2,000 draws); they cover variation between worlds only.
"""

import math

import numpy as np
import polars as pl

from sim.reporting import Table

THRESHOLDS = (30, 90)
DRAWS = 2000
INDEX_COSTS = ("setup_gbp", "running_gbp", "user_setup_gbp", "lookup_gbp")


def linked_within(spells: pl.DataFrame, thresholds: tuple[int, ...] = THRESHOLDS) -> pl.DataFrame:
    """Per replication and arm: moves linked within each threshold (`linked_T`)."""
    return (
        spells.group_by("replication", "arm")
        .agg(
            (pl.col("linked") & (pl.col("days") <= t)).sum().alias(f"linked_{t}")
            for t in thresholds
        )
        .sort("replication", "arm")
    )


def _ratio_interval(
    costs: np.ndarray, effects: np.ndarray, seed: int
) -> tuple[float, float, float]:
    """Mean cost difference over mean effect difference, and a bootstrap over replications."""
    if effects.mean() <= 0:
        return math.nan, math.nan, math.nan
    ratio = costs.mean() / effects.mean()
    if len(costs) < 2:
        return ratio, math.nan, math.nan
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(costs), size=(DRAWS, len(costs)))
    c, e = costs[picks].mean(axis=1), effects[picks].mean(axis=1)
    defined = e > 0
    if defined.mean() < 0.975:  # the interval would include "no additional child": unbounded
        return ratio, math.nan, math.inf
    low, high = np.percentile(c[defined] / e[defined], [2.5, 97.5])
    return ratio, float(low), float(high)


def icer_table(
    figures: pl.DataFrame, spells: pl.DataFrame, reference: str, seed: int = 0
) -> pl.DataFrame:
    """One row per arm other than `reference`: cost and linkage differences, ICERs at 30 and 90
    days, hours saved and the cost per hour saved, each with its interval (see module doc)."""
    linked = linked_within(spells)
    table = figures.select("replication", "arm", "total_gbp", "hours", *INDEX_COSTS).join(
        linked, on=["replication", "arm"], how="left"
    )
    base = table.filter(pl.col("arm") == reference).drop("arm")
    rows = []
    for arm in table["arm"].unique(maintain_order=True).to_list():
        if arm == reference:
            continue
        paired = (
            table.filter(pl.col("arm") == arm)
            .join(base, on="replication", suffix="_ref")
            .sort("replication")
        )
        cost = (paired["total_gbp"] - paired["total_gbp_ref"]).to_numpy()
        index_cost = sum(paired[c] - paired[f"{c}_ref"] for c in INDEX_COSTS).to_numpy()
        saved = (paired["hours_ref"] - paired["hours"]).to_numpy()
        row = {"arm": arm, "reference": reference, "cost_difference_gbp": float(cost.mean())}
        for t in THRESHOLDS:
            extra = (paired[f"linked_{t}"] - paired[f"linked_{t}_ref"]).to_numpy().astype(float)
            ratio, low, high = _ratio_interval(cost, extra, seed)
            row |= {f"additional_linked_{t}": float(extra.mean())}
            row |= {f"icer_{t}_gbp": ratio, f"icer_{t}_low": low, f"icer_{t}_high": high}
        ratio, low, high = _ratio_interval(index_cost, saved, seed)
        row |= {"hours_saved": float(saved.mean()), "index_cost_gbp": float(index_cost.mean())}
        row |= {"cost_per_hour_saved_gbp": ratio, "cost_per_hour_low": low}
        row |= {"cost_per_hour_high": high}
        rows.append(row)
    return pl.DataFrame(rows)


def _gbp(value: float, low: float, high: float, gain: str = "link no additional child") -> str:
    """A ratio with its interval; `gain` says what a world without the denominator lacks (a
    ratio over a gain of zero or less is dominated: the cost buys nothing)."""
    if math.isnan(value):
        return f"dominated (the worlds {gain})"
    text = f"GBP {value:,.0f}"
    if math.isinf(high):
        return f"{text} (interval unbounded: some resampled worlds {gain})"
    if math.isnan(low):
        return text
    return f"{text} ({low:,.0f} to {high:,.0f})"


def icer_rows(icer: pl.DataFrame) -> Table:
    rows = []
    for r in icer.rows(named=True):
        rows.append(
            [
                f"{r['arm']} - {r['reference']}",
                f"GBP {r['cost_difference_gbp']:,.0f}",
                *(
                    f"{r[f'additional_linked_{t}']:,.1f}; "
                    + _gbp(r[f"icer_{t}_gbp"], r[f"icer_{t}_low"], r[f"icer_{t}_high"])
                    for t in THRESHOLDS
                ),
                f"{r['hours_saved']:,.0f}; "
                + _gbp(
                    r["cost_per_hour_saved_gbp"],
                    r["cost_per_hour_low"],
                    r["cost_per_hour_high"],
                    gain="save no practitioner hours",
                ),
            ]
        )
    header = ["comparison (same worlds)", "additional cost over the run"]
    header += [
        f"additional moves linked within {t} days; cost per additional one" for t in THRESHOLDS
    ]
    header += ["practitioner hours saved; index cost per hour saved"]
    return header, rows
