"""The world's 2009-10 figures read back from its event log, beside the scaled reference figures.

Counts are over the year ending 31 March 2010 (the CIN census year); stocks are episodes open
at the end of 31 March 2010. The comparison is a check on the model, not a fit: nothing here
feeds back into the run.
"""

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from sim.population.parameters import population_params
from sim.world.parameters import care_params, demography_params, move_params

if TYPE_CHECKING:  # sim.parameters imports the world's parameter models
    from sim.parameters import ModelParameters

YEAR_START = dt.date(2009, 4, 1)
YEAR_END = dt.date(2010, 3, 31)


def stocks_on(log: pl.LazyFrame, episode: str, days: list[dt.date]) -> list[int]:
    """Episodes of this kind open at the end of each of `days` (open at the start, plus
    starts, less ends), from one pass over the log."""
    sign = (
        pl.when(pl.col("event").is_in(["episode_open", "episode_start"]))
        .then(1)
        .when(pl.col("event") == "episode_end")
        .then(-1)
        .otherwise(0)
    )
    changes = (
        log.filter(pl.col("episode") == episode)
        .group_by("date")
        .agg(sign.sum().alias("change"))
        .sort("date")
        .collect()
    )
    running = np.r_[0, np.cumsum(changes["change"].to_numpy())]
    dates = changes["date"].to_numpy().astype("datetime64[D]")
    wanted = np.array(days, dtype="datetime64[D]")
    return [int(n) for n in running[np.searchsorted(dates, wanted, side="right")]]


def stock_on(log: pl.LazyFrame, episode: str, day: dt.date) -> int:
    """Episodes of this kind open at the end of `day`."""
    return stocks_on(log, episode, [day])[0]


def year_counts(log: pl.LazyFrame, start: dt.date = YEAR_START, end: dt.date = YEAR_END) -> dict:
    """Events in [start, end]: referrals, births, deaths, starts by episode, child moves."""
    period = log.filter(pl.col("date").is_between(start, end))
    events = dict(period.group_by("event").len().collect().iter_rows())
    starts = dict(
        period.filter(pl.col("event") == "episode_start")
        .group_by("episode")
        .len()
        .collect()
        .iter_rows()
    )
    between = (
        period.filter(
            (pl.col("event") == "move") & (pl.col("from_authority") != pl.col("authority"))
        )
        .select(pl.len())
        .collect()
        .item()
    )
    return {
        "referrals": int(events.get("referral", 0)),
        "births": int(events.get("birth", 0)),
        "deaths": int(events.get("death", 0)),
        "moves": int(events.get("move", 0)),
        "moves_between_authorities": int(between),
        "protection_plan_starts": int(starts.get("child_protection_plan", 0)),
        "looked_after_starts": int(starts.get("looked_after", 0)),
    }


def reference_figures(scale: float, params: "ModelParameters | None" = None) -> dict[str, float]:
    """2009-10 reference figures for England times `scale` (the simulated share of children),
    from the run's parameters (data/ as it stands if None)."""
    if params is None:
        care, demography, moves = care_params(), demography_params(), move_params()
    else:
        care, demography, moves = params.care, params.demography, params.moves
    children = population_params().children_england.value
    between = moves.between_authority_moves_by_age.value
    return {
        "referrals": care.referrals_per_year.value * scale,
        "births": demography.births_per_year.value * scale,
        "deaths": (demography.infant_deaths_per_year.value + demography.child_deaths_per_year.value)
        * scale,
        "moves_between_authorities": children * sum(between) / len(between) * scale,
        "protection_plan_starts": care.protection_plan_starts_per_year.value * scale,
        "looked_after_starts": care.looked_after_starts_per_year.value * scale,
        "children_in_need_stock": care.children_in_need_stock.value * scale,
        "protection_plan_stock": care.protection_plan_stock.value * scale,
        "looked_after_stock": care.looked_after_stock.value * scale,
    }


def calibration_table(
    log: pl.LazyFrame, scale: float, params: "ModelParameters | None" = None
) -> pl.DataFrame:
    """Simulated 2009-10 figures, the scaled reference, and their ratio, one row per measure."""
    simulated = year_counts(log)
    for name, episode in (
        ("children_in_need_stock", "child_in_need"),
        ("protection_plan_stock", "child_protection_plan"),
        ("looked_after_stock", "looked_after"),
    ):
        simulated[name] = stock_on(log, episode, YEAR_END)
    reference = reference_figures(scale, params)
    rows = [(name, simulated[name], reference[name]) for name in reference]
    return pl.DataFrame(
        rows,
        schema={"measure": pl.String, "simulated": pl.Int64, "reference": pl.Float64},
        orient="row",
    ).with_columns(ratio=pl.col("simulated") / pl.col("reference"))
