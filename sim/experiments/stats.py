"""Means, 95% t-intervals across replications, and paired differences between arms.

Replications are independent worlds, so a figure's mean over n replications has a Student t
interval with n - 1 degrees of freedom. Arms of one replication share a world (common random
numbers), so an arm is compared with the reference arm replication by replication: the paired
difference has its own t-interval, narrower than the two separate intervals would suggest.
"""

import math

import numpy as np
import polars as pl

LEVEL = 0.95
HEADLINE = (
    "lost_30_per_1000",
    "lost_90_per_1000",
    "mean_days_to_reconnection",
    "hours",
    "cost_per_child_found_gbp",
    "records_exposed_per_child_found",
    "population_lookups",
    "views_never_known",
    "children_viewed",
    "never_known_children_viewed",
    "services_per_viewed_child",
    "routine_hours",
)
LABELS = {
    "lost_30_per_1000": "lost at 30 days per 1,000 vulnerable movers",
    "lost_90_per_1000": "lost at 90 days per 1,000 vulnerable movers",
    "mean_days_to_reconnection": "mean days to reconnection",
    "hours": "practitioner hours finding who was involved",
    "cost_per_child_found_gbp": "cost per child reconnected (GBP)",
    "records_exposed_per_child_found": "records exposed per child reconnected",
    "vulnerable_movers": "vulnerable movers",
    "total_gbp": "total cost (GBP)",
    "population_lookups": "lookups of any child (whole population, over the run)",
    "views_never_known": "records shown of children never known to social care (over the run)",
    "children_viewed": "distinct children whose record was shown",
    "never_known_children_viewed": "distinct children never known to social care, record shown",
    "services_per_viewed_child": "kinds of service that saw a viewed child's record",
    "routine_hours": "practitioner hours on lookups and enquiries (whole population)",
}


def _t_cdf(t: float, df: int) -> float:
    """Student t distribution function by Simpson's rule on its density (no SciPy needed)."""
    x = np.linspace(0.0, abs(t), 4001)
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    density = np.exp(log_c - (df + 1) / 2 * np.log1p(x * x / df))
    h = x[1] - x[0]
    area = (
        h / 3 * (density[0] + density[-1] + 4 * density[1:-1:2].sum() + 2 * density[2:-1:2].sum())
    )
    return 0.5 + math.copysign(area, t)


def t_quantile(p: float, df: int) -> float:
    """The p-quantile (p > 0.5) of Student's t with `df` degrees of freedom, by bisection."""
    low, high = 0.0, 1000.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if _t_cdf(middle, df) < p else (low, middle)
    return (low + high) / 2


def interval(values: np.ndarray) -> tuple[float, float, float]:
    """(mean, low, high) of the 95% t-interval; low/high are NaN with fewer than two values."""
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return math.nan, math.nan, math.nan
    mean = float(values.mean())
    if len(values) < 2:
        return mean, math.nan, math.nan
    half = (
        t_quantile(0.5 + LEVEL / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    )
    return mean, mean - half, mean + half


def _long(figures: pl.DataFrame, metrics: tuple[str, ...]) -> pl.DataFrame:
    present = [m for m in metrics if m in figures.columns]
    arms = pl.Enum(figures["arm"].unique(maintain_order=True))  # keep the scenario's arm order
    return (
        figures.select(pl.col("arm").cast(arms), "replication", *present)
        .unpivot(index=["arm", "replication"], variable_name="metric")
        .with_columns(pl.col("metric").cast(pl.Enum(present)))
    )


def _rows(groups: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    rows = []
    for key, group in groups.group_by(keys, maintain_order=True):
        values = group["value"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
        mean, low, high = interval(values)
        rows.append((*(str(k) for k in key), len(values), mean, low, high))
    schema = [*keys, "replications", "mean", "ci_low", "ci_high"]
    return pl.DataFrame(rows, schema=schema, orient="row")


def confidence_table(figures: pl.DataFrame, metrics: tuple[str, ...] = HEADLINE) -> pl.DataFrame:
    """One row per arm and metric: replications, mean, 95% CI."""
    return _rows(_long(figures, metrics).sort("arm", "metric", "replication"), ["arm", "metric"])


def paired_differences(
    figures: pl.DataFrame, reference: str, metrics: tuple[str, ...] = HEADLINE
) -> pl.DataFrame:
    """Each arm minus `reference`, replication by replication: mean difference and 95% CI."""
    long = _long(figures, metrics)
    base = long.filter(pl.col("arm") == reference).select(
        "replication", "metric", pl.col("value").alias("base")
    )
    diffs = (
        long.filter(pl.col("arm") != reference)
        .join(base, on=["replication", "metric"])
        .with_columns(value=pl.col("value") - pl.col("base"))
        .sort("arm", "metric", "replication")
    )
    table = _rows(diffs, ["arm", "metric"])
    return table.with_columns(reference=pl.lit(reference)).select(
        "arm", "reference", "metric", "replications", "mean", "ci_low", "ci_high"
    )
