"""Time to linkage: social care in the new authority learns of a child's previous involvement.

One endpoint for every regime. Each move of a child known to services into another authority
opens a *spell*; the spell ends in *linkage* on the day practitioners in the new authority
know who was involved before, by whichever path came first (the old authority's records or
transfer-in conference, a lookup followed by a call, a CP-IS notification answered, or a
phone-round that reached someone; a practitioner who learns it is assumed to tell social care
in the same contact). A spell is *censored* when the child moves again (that move opens a new
spell), dies, reaches 18 (leaves the index) or the run ends.

Kaplan-Meier gives the share of spells still unlinked t days after the move. A child who
moves twice contributes two spells that are not independent, so intervals come from a
bootstrap over children (spells drawn a child at a time); the same draws serve every arm, so
differences between arms are paired. Care status is the one at the move: lead professional
only, CAF, child in need, protection plan, looked after, or unborn (on a pre-birth plan).

KM is a few lines of numpy here, not a survival library, because the bootstrap needs it for
many weight vectors at once and no well-kept library takes case weights that way.
"""

import numpy as np
import polars as pl

THRESHOLDS = (30, 90)
REPLICATES = 200
CARE_ORDER = (
    "all",
    "lead_professional",
    "caf",
    "child_in_need",
    "child_protection_plan",
    "looked_after",
    "unborn",
)
CARE_LABELS = {
    "all": "all known to services",
    "lead_professional": "lead professional only",
    "caf": "CAF",
    "child_in_need": "child in need",
    "child_protection_plan": "protection plan",
    "looked_after": "looked after",
    "unborn": "unborn (pre-birth plan)",
}
SPELL_SCHEMA = pl.Schema(
    {
        "scenario": pl.String,
        "case": pl.Int64,
        "child_id": pl.String,
        "care_status": pl.String,
        "days": pl.Int64,
        "linked": pl.Boolean,
    }
)


def spells(regime_log: pl.LazyFrame, outcomes: pl.LazyFrame) -> pl.DataFrame:
    """One row per scenario and spell: days to linkage (linked) or to censoring (not linked).

    `outcomes` is sim.metrics.lost.case_outcomes of the same run: the replication computes it
    once for this, the outcome file and the figures."""
    unborn = (
        regime_log.filter(pl.col("event") == "case_open").select("case", "unborn").unique("case")
    )
    outcomes = outcomes.join(unborn, on="case", how="left")
    followed = (pl.col("followed_until") - pl.col("opened")).dt.total_days()
    return (
        outcomes.select(
            pl.col("scenario"),
            pl.col("case"),
            pl.col("child_id"),
            pl.when(pl.col("unborn"))
            .then(pl.lit("unborn"))
            .otherwise(pl.col("care").cast(pl.String))
            .alias("care_status"),
            pl.coalesce(pl.col("days"), followed).clip(lower_bound=0).alias("days"),
            pl.col("days").is_not_null().alias("linked"),
        )
        .cast(dict(SPELL_SCHEMA))
        .sort("scenario", "case")
        .collect()
    )


def kaplan_meier(
    days: np.ndarray, linked: np.ndarray, at: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """The share still unlinked at each day of `at` (Kaplan-Meier), for each row of `weights`.

    `weights` is (replicates, spells), e.g. how often a bootstrap drew each spell's child; one
    row of ones if None. A spell censored on a day counts as at risk on that day. Returns
    (replicates, len(at)); NaN after the last day anyone was followed, unless all were linked.
    """
    days = np.asarray(days, dtype=np.int64)
    linked = np.asarray(linked, dtype=bool)
    at = np.asarray(at, dtype=np.int64)
    w = np.ones((1, len(days))) if weights is None else np.atleast_2d(weights).astype(float)
    horizon = int(max(days.max(initial=0), at.max(initial=0))) + 1
    result = np.empty((w.shape[0], len(at)))
    for row, weight in enumerate(w):
        ended = np.bincount(days, weights=weight, minlength=horizon)
        events = np.bincount(days[linked], weights=weight[linked], minlength=horizon)
        at_risk = weight.sum() - np.r_[0.0, np.cumsum(ended)[:-1]]
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(at_risk > 0, 1.0 - events / at_risk, 1.0)
        survival = np.cumprod(step)
        last = max(int(np.flatnonzero(at_risk > 0).max(initial=0)), 0)
        # beyond the last day followed the share is unknown, unless everyone had been linked
        beyond = 0.0 if survival[last] == 0 else np.nan
        result[row] = np.where(at <= last, survival[np.minimum(at, horizon - 1)], beyond)
    return result


def child_draws(children: int, replicates: int, seed: int) -> np.ndarray:
    """(replicates, children) counts: how often each child is drawn in each bootstrap sample."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(children, np.full(children, 1.0 / children), size=replicates).astype(
        float
    )


def _curves(
    table: pl.DataFrame, cluster: tuple[str, ...], at: np.ndarray, replicates: int, seed: int
) -> dict[tuple[str, str], tuple[pl.DataFrame, np.ndarray, np.ndarray]]:
    """Per arm and care status (arms in order, then CARE_ORDER; empty groups left out): the
    spells, the Kaplan-Meier point estimate at `at`, and its bootstrap (replicates, len(at)).

    Spells are drawn a child at a time (`cluster` identifies a child), with the same draws for
    every arm, so differences between arms are paired."""
    arm = "arm" if "arm" in table.columns else "scenario"
    keys = table.select(cluster).unique(maintain_order=True).with_row_index("child_row")
    spells_ = table.join(keys, on=list(cluster), how="left")
    draws = child_draws(max(keys.height, 1), replicates, seed)
    curves = {}
    for name in spells_[arm].unique(maintain_order=True).to_list():
        mine = spells_.filter(pl.col(arm) == name)
        for status in CARE_ORDER:
            group = mine if status == "all" else mine.filter(pl.col("care_status") == status)
            if group.is_empty():
                continue
            days, linked = group["days"].to_numpy(), group["linked"].to_numpy()
            point = kaplan_meier(days, linked, at)[0]
            boot = kaplan_meier(days, linked, at, draws[:, group["child_row"].to_numpy()])
            curves[name, status] = group, point, boot
    return curves


def linkage_table(
    table: pl.DataFrame,
    thresholds: tuple[int, ...] = THRESHOLDS,
    replicates: int = REPLICATES,
    seed: int = 0,
    cluster: tuple[str, ...] = ("child_id",),
) -> pl.DataFrame:
    """Per arm and care status: spells, linked, censored, and the share still unlinked at each
    threshold (Kaplan-Meier) with a 95% percentile interval from a bootstrap over children.

    `table` holds spells (SPELL_SCHEMA, with `arm` for `scenario`); `cluster` names the columns
    that identify a child (add "replication" when spells of several worlds are pooled).
    """
    rows = []
    curves = _curves(table, cluster, np.array(thresholds), replicates, seed)
    for (name, status), (group, point, boot) in curves.items():
        linked = group["linked"].to_numpy()
        row = {
            "arm": name,
            "care_status": status,
            "spells": group.height,
            "children": group.select(cluster).n_unique(),
            "linked": int(linked.sum()),
            "censored": int((~linked).sum()),
        }
        for i, t in enumerate(thresholds):
            low, high = _percentiles(boot[:, i])
            row |= {f"unlinked_{t}": point[i], f"unlinked_{t}_low": low}
            row |= {f"unlinked_{t}_high": high}
        rows.append(row)
    return pl.DataFrame(rows)


def linkage_differences(
    table: pl.DataFrame,
    reference: str,
    thresholds: tuple[int, ...] = THRESHOLDS,
    replicates: int = REPLICATES,
    seed: int = 0,
    cluster: tuple[str, ...] = ("child_id",),
) -> pl.DataFrame:
    """Per arm other than `reference` and care status: the share still unlinked minus the
    reference's, at each threshold, with a paired bootstrap interval (the same children drawn
    for both arms, since every arm rides on the same world)."""
    rows = []
    curves = _curves(table, cluster, np.array(thresholds), replicates, seed)
    for (name, status), (_, point, boot) in curves.items():
        if name == reference or (reference, status) not in curves:
            continue
        _, base_point, base_boot = curves[reference, status]
        row = {"arm": name, "reference": reference, "care_status": status}
        for i, t in enumerate(thresholds):
            low, high = _percentiles(boot[:, i] - base_boot[:, i])
            row |= {f"difference_{t}": point[i] - base_point[i]}
            row |= {f"difference_{t}_low": low, f"difference_{t}_high": high}
        rows.append(row)
    return pl.DataFrame(rows)


def _percentiles(values: np.ndarray) -> tuple[float, float]:
    values = values[~np.isnan(values)]
    if len(values) < 2:
        return float("nan"), float("nan")
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def survival_curves(table: pl.DataFrame, horizon: int = 365) -> pl.DataFrame:
    """Kaplan-Meier curves to `horizon` days per arm and care status (long: arm, care_status,
    day, unlinked), for plotting."""
    arm = "arm" if "arm" in table.columns else "scenario"
    grid = np.arange(horizon + 1)
    frames = []
    for (name, status), group in table.group_by(arm, "care_status", maintain_order=True):
        curve = kaplan_meier(group["days"].to_numpy(), group["linked"].to_numpy(), grid)[0]
        frames.append(
            pl.DataFrame({"arm": name, "care_status": status, "day": grid, "unlinked": curve})
        )
    if not frames:
        return pl.DataFrame(schema={"arm": pl.String, "care_status": pl.String, "day": pl.Int64})
    return pl.concat(frames)
