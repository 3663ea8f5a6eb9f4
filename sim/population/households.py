"""Families: children grouped into households with one or two parents or carers."""

from dataclasses import dataclass

import numpy as np
import polars as pl

from sim.population.parameters import household_params

DAYS_PER_YEAR = 365.2425


@dataclass(frozen=True)
class Families:
    """`family[i]` is child i's family (0..count-1); siblings share carers and address."""

    family: np.ndarray
    count: int


def form_families(rng: np.random.Generator, ages: np.ndarray) -> Families:
    """Group children into families of realistic size with realistic gaps between siblings.

    Children are ordered by age plus a normal jitter and cut into runs of family sizes drawn
    from the size distribution, so siblings are close in age but rarely the same age, and the
    age structure is kept exactly.
    """
    params = household_params()
    n = len(ages)
    if n == 0:
        return Families(np.zeros(0, dtype=np.int64), 0)
    key = ages + rng.normal(0.0, params.sibling_age_spread_sd.value, n)
    order = np.argsort(key, kind="stable")
    sizes_dist = np.asarray(params.children_per_family.value)
    categories = np.asarray(params.children_per_family.categories)
    mean_size = float(sizes_dist @ categories)
    draws = int(n / mean_size * 1.2) + 16
    sizes = categories[np.searchsorted(np.cumsum(sizes_dist), rng.random(draws), side="right")]
    ends = np.cumsum(sizes)
    count = int(np.searchsorted(ends, n) + 1)
    sizes = sizes[:count].copy()
    sizes[-1] -= int(ends[count - 1] - n)
    family = np.empty(n, dtype=np.int64)
    family[order] = np.repeat(np.arange(count), sizes)
    return Families(family, count)


@dataclass(frozen=True)
class Carers:
    """One row per carer: the family they belong to, gender, date of birth and relationship."""

    family: np.ndarray
    is_male: np.ndarray
    date_of_birth: np.ndarray
    relationship: pl.Series  # "mother", "father" or "parent" (same-sex couples)


def make_carers(rng: np.random.Generator, eldest_birth: np.ndarray) -> Carers:
    """One or two carers per family, aged from the eldest child's birth date.

    `eldest_birth` holds each family's eldest child's date of birth (datetime64[D]).
    """
    params = household_params()
    count = len(eldest_birth)
    lone = rng.random(count) < params.lone_parent_share.value
    lone_male = lone & (rng.random(count) >= params.lone_parent_female_share.value)
    same_sex = ~lone & (rng.random(count) < params.same_sex_couple_share.value)
    same_sex_male = same_sex & (rng.random(count) < 0.5)

    mother_age = rng.normal(
        params.mother_age_at_birth_mean.value, params.mother_age_at_birth_sd.value, count
    ).clip(16, 50)
    partner_age = (
        mother_age
        + rng.normal(params.partner_age_gap_mean.value, params.partner_age_gap_sd.value, count)
    ).clip(16, 65)

    first_male = lone_male | same_sex_male
    first_age = np.where(lone_male, partner_age, mother_age)
    second_male = ~same_sex | same_sex_male

    couples = np.flatnonzero(~lone)
    family = np.concatenate([np.arange(count), couples])
    is_male = np.concatenate([first_male, second_male[couples]])
    age_at_birth = np.concatenate([first_age, partner_age[couples]])
    born = eldest_birth[family] - np.round(age_at_birth * DAYS_PER_YEAR).astype("timedelta64[D]")
    parent = np.concatenate([same_sex, same_sex[couples]])
    order = np.argsort(family, kind="stable")
    relationship = (
        pl.select(
            pl.when(pl.lit(pl.Series(parent[order])))
            .then(pl.lit("parent"))
            .when(pl.lit(pl.Series(is_male[order])))
            .then(pl.lit("father"))
            .otherwise(pl.lit("mother"))
        )
        .to_series()
        .alias("relationship")
    )
    return Carers(family[order], is_male[order], born[order], relationship)
