"""Children by single year of age, dates of birth, and school year groups."""

import datetime as dt

import numpy as np

from sim.population.parameters import births_by_year, population_params


def apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Split `total` into integers proportional to `weights` (largest remainder, deterministic)."""
    if total <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    if short:
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:short]] += 1
    return counts


def age_shares(snapshot: dt.date) -> np.ndarray:
    """Share of 0-17s at each age: age a on the snapshot day was born in year (snapshot - 1 - a).

    Proportional to births in that calendar year (data/population/births.csv); see
    population.toml `cohort_from_births` for what this leaves out.
    """
    births = {row.year: row.births_england_wales for row in births_by_year()}
    years = [snapshot.year - 1 - age for age in range(18)]
    missing = [y for y in years if y not in births]
    if missing:
        raise ValueError(f"data/population/births.csv: no births for year(s) {missing}")
    weights = np.array([births[y] for y in years], dtype=np.float64)
    return weights / weights.sum()


def age_counts(children: int) -> np.ndarray:
    """Children at ages 0..17 for an authority with this many children."""
    snapshot = population_params().snapshot_date.value
    return apportion(children, age_shares(snapshot))


def dates_of_birth(rng: np.random.Generator, ages: np.ndarray, snapshot: dt.date) -> np.ndarray:
    """A birth date per child such that the child is exactly `age` on the snapshot day."""
    latest = np.array([_years_before(snapshot, int(a)) for a in range(19)], dtype="datetime64[D]")
    span = (latest[ages] - latest[ages + 1]).astype(np.int64)
    offset = np.floor(rng.random(len(ages)) * span).astype(np.int64)
    return latest[ages + 1] + 1 + offset


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def academic_age(dates: np.ndarray, snapshot: dt.date) -> np.ndarray:
    """Age on 31 August before the school year in progress on the snapshot day.

    English school years run 1 September to 31 August and group children by age on 31 August.
    """
    cutoff_year = snapshot.year if snapshot.month >= 9 else snapshot.year - 1
    born = dates.astype("datetime64[D]")
    years = born.astype("datetime64[Y]").astype(np.int64) + 1970
    months = born.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return cutoff_year - years - (months > 8).astype(np.int64)
