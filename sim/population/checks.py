"""Acceptance checks on a synthetic population, at any scale, from in-memory or parquet tables.

The same checks run in the tests (1% of England) and on full England (`cpw check-population`,
`make bench`), so what is claimed of the small population is shown of the large one.
"""

from dataclasses import dataclass

import numpy as np
import polars as pl

from sim.population.ages import academic_age, age_shares
from sim.population.identifiers import valid_index_ids
from sim.population.parameters import population_params
from sim.population.synth import expected_children
from sim.reference.authorities import load_authorities

Tables = dict[str, pl.DataFrame | pl.LazyFrame]


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


def _frame(table: pl.DataFrame | pl.LazyFrame, *columns: str) -> pl.DataFrame:
    return table.lazy().select(columns).collect()


def children_per_authority(tables: Tables, scale: float, tolerance: float = 0.01) -> Check:
    """Each authority's children are within `tolerance` of its data-file count times the scale."""
    counts = dict(
        _frame(tables["children"], "authority_code").group_by("authority_code").len().iter_rows()
    )
    present = set(_frame(tables["authorities"], "authority_code")["authority_code"])
    worst = 0.0
    for authority in load_authorities():
        if authority.code not in present:
            continue
        expected = expected_children(authority, scale)
        worst = max(worst, abs(counts.get(authority.code, 0) - expected) / max(expected, 1))
    return Check(
        "children per authority within 1%",
        worst <= tolerance,
        f"largest deviation {worst:.4%} over {len(present)} authorities",
    )


def ages_per_region(tables: Tables, tolerance: float = 0.03) -> Check:
    """Single-year age counts per region are within `tolerance` of total x reference shares."""
    snapshot = population_params().snapshot_date.value
    children = _frame(tables["children"], "authority_code", "date_of_birth").join(
        _frame(tables["authorities"], "authority_code", "region"), on="authority_code"
    )
    born = children["date_of_birth"].to_numpy().astype("datetime64[D]")
    years = (np.datetime64(snapshot) - born).astype(np.int64) / 365.2425
    children = children.with_columns(age=pl.Series(np.floor(years).astype(np.int64)))
    shares = age_shares(snapshot)
    worst = 0.0
    for (_,), part in children.group_by("region"):
        counts = np.bincount(part["age"].to_numpy(), minlength=18)[:18]
        expected = part.height * shares
        big = expected >= 1_000  # relative error is meaningless on tiny cells
        if big.any():
            worst = max(worst, float(np.max(np.abs(counts[big] - expected[big]) / expected[big])))
    return Check(
        "single-year ages per region within 3%",
        worst <= tolerance,
        f"largest deviation {worst:.4%} (cells of >= 1,000 children)",
    )


def ids_valid_and_unique(tables: Tables) -> Check:
    """Every index ID passes its check character and prefix rules, and none repeats."""
    ids = _frame(tables["children"], "child_id")["child_id"]
    invalid = int((~valid_index_ids(ids)).sum())
    duplicates = len(ids) - ids.n_unique()
    return Check(
        "every ID valid and unique",
        invalid == 0 and duplicates == 0,
        f"{len(ids):,} IDs, {invalid} invalid, {duplicates} duplicated",
    )


def siblings_share_address(tables: Tables) -> Check:
    """Each household has one address and 1-2 carers; every child belongs to a household."""
    households = _frame(tables["households"], "household_id", "postcode")
    children = _frame(tables["children"], "household_id")
    carers = _frame(tables["carers"], "household_id").group_by("household_id").len()
    orphans = children.join(households, on="household_id", how="anti").height
    ok = (
        households["household_id"].n_unique() == households.height
        and orphans == 0
        and carers.height == households.height
        and carers["len"].is_between(1, 2).all()
    )
    return Check(
        "siblings share one address and carers",
        bool(ok),
        f"{households.height:,} households, {orphans} children without one",
    )


def schools_match_age(tables: Tables) -> Check:
    """A child's school teaches the child's school year, in the child's authority."""
    snapshot = population_params().snapshot_date.value
    pupils = (
        _frame(tables["children"], "authority_code", "date_of_birth", "school_urn")
        .drop_nulls("school_urn")
        .join(
            _frame(tables["schools"], "urn", "low_age", "high_age", "authority_code"),
            left_on="school_urn",
            right_on="urn",
            how="left",
            suffix="_school",
        )
    )
    school_age = academic_age(pupils["date_of_birth"].to_numpy(), snapshot)
    wrong_age = int(
        (
            (school_age < pupils["low_age"].to_numpy())
            | (school_age > pupils["high_age"].to_numpy())
        ).sum()
    )
    wrong_place = int((pupils["authority_code"] != pupils["authority_code_school"]).sum())
    missing = pupils["low_age"].null_count()
    ok = wrong_age == 0 and wrong_place == 0 and missing == 0
    return Check(
        "schools match age",
        ok,
        f"{pupils.height:,} pupils, {wrong_age} wrong year, {wrong_place} other authority",
    )


def check_population(tables: Tables, scale: float) -> list[Check]:
    """Every acceptance check of a synthetic population (`cpw check-population`), in order."""
    return [
        children_per_authority(tables, scale),
        ages_per_region(tables),
        ids_valid_and_unique(tables),
        siblings_share_address(tables),
        schools_match_age(tables),
    ]
