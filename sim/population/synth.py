"""Synthetic England: every child of the chosen authorities, with carers, address and services.

Each authority is made from its own random streams (sim.streams), so it comes out the same
whether it is made alone or with all England, and authorities can be made in parallel.
"""

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from sim.population.addresses import sample_addresses
from sim.population.ages import academic_age, age_counts, dates_of_birth
from sim.population.households import form_families, make_carers
from sim.population.identifiers import index_ids, permutation_keys, serials
from sim.population.names import (
    gender_labels,
    sample_forenames,
    sample_middle_names,
    sample_surnames,
)
from sim.population.parameters import household_params, population_params
from sim.population.services import (
    assign_practices,
    assign_schools,
    make_practices,
    make_schools,
    school_phase,
)
from sim.population.workforce import make_practitioners
from sim.reference.authorities import Authority, load_authorities
from sim.streams import synth_stream

TABLES = (
    "authorities",
    "children",
    "households",
    "carers",
    "schools",
    "gp_practices",
    "practitioners",
)
IDS_PER_AUTHORITY = 10_000_000


@dataclass(frozen=True)
class SynthRequest:
    """What to make: the seed, a fraction of England, and which authorities."""

    seed: int
    scale: float
    authority_codes: tuple[str, ...]


def england_factor() -> float:
    """Rescales the 2011 Census authority counts to the mid-2009 level (population.toml)."""
    census_total = sum(a.children_0_17 for a in load_authorities())
    return population_params().children_england.value / census_total


def expected_children(authority: Authority, scale: float) -> int:
    """Children the authority gets at this scale: its census count, rescaled, times scale."""
    return round(authority.children_0_17 * england_factor() * scale)


def region_letters() -> dict[str, str]:
    """One letter per region for GP practice codes, as NHS codes carry a regional letter."""
    regions = sorted({a.region_code for a in load_authorities()})
    return {code: "ABCDEFGHJKLMNP"[i] for i, code in enumerate(regions)}


def synthesise_authority(seed: int, ordinal: int, scale: float) -> dict[str, pl.DataFrame]:
    """All tables for one authority (the `ordinal`-th row of authorities.csv)."""
    authority = load_authorities()[ordinal]
    code = authority.code
    snapshot = population_params().snapshot_date.value
    n = expected_children(authority, scale)
    share = n / population_params().children_england.value

    def rng(part: str) -> np.random.Generator:
        return synth_stream(seed, ordinal, part)

    ages = np.repeat(np.arange(18), age_counts(n))
    born = dates_of_birth(rng("dates"), ages, snapshot)
    is_male = rng("sex").random(n) < population_params().male_share.value
    families = form_families(rng("families"), ages)
    family = families.family

    # Children sorted by family then date of birth, eldest first: siblings sit together.
    order = np.lexsort((born, family))
    ages, born, is_male, family = ages[order], born[order], is_male[order], family[order]
    first_of_family = np.diff(family, prepend=-1) != 0
    eldest_birth = born[first_of_family]

    family_rng = rng("families")
    family_surname = sample_surnames(family_rng, families.count)
    household_id = ordinal * IDS_PER_AUTHORITY + np.arange(families.count, dtype=np.int64)
    addresses = sample_addresses(rng("addresses"), code, families.count)

    schools = make_schools(rng("schools"), ordinal, code, share)
    practices = make_practices(
        rng("gps"), ordinal, region_letters()[authority.region_code], code, share
    )
    school_ages = academic_age(born, snapshot)
    school_rng = rng("schools")
    school_urn = assign_schools(
        school_rng, schools, school_phase(school_rng, school_ages), family, school_ages
    )
    gp = assign_practices(rng("gps"), practices, family)

    id_rng = rng("ids")
    multiplier, offset = permutation_keys(id_rng)
    child_ids = index_ids(ordinal, serials(np.arange(n), multiplier, offset))
    names_rng = rng("forenames")
    children = pl.DataFrame(
        {
            "child_id": pl.Series(child_ids).cast(pl.String),
            "authority_code": pl.repeat(code, n, dtype=pl.String, eager=True),
            "forename": sample_forenames(names_rng, is_male),
            "middle_names": sample_middle_names(names_rng, is_male),
            "surname": family_surname.gather(family),
            "gender": gender_labels(is_male),
            "date_of_birth": pl.Series(born).cast(pl.Date),
            "household_id": pl.Series(household_id[family], dtype=pl.Int64),
            "school_urn": school_urn,
            "gp_practice_code": gp,
        }
    )

    households = pl.DataFrame(
        {
            "household_id": household_id,
            "authority_code": pl.repeat(code, families.count, dtype=pl.String, eager=True),
        }
    ).hstack(addresses.select("address_line", "town", "postcode"))

    carers = _carers(rng("carers"), ordinal, eldest_birth, family_surname, household_id)
    practitioners = make_practitioners(rng("workforce"), ordinal, code, share, schools, practices)
    summary = pl.DataFrame(
        {
            "authority_code": [code],
            "name": [authority.name],
            "region": [authority.region],
            "ordinal": [ordinal],
            "children": [n],
            "id_multiplier": [multiplier],
            "id_offset": [offset],
            "ids_issued": [n],
        }
    )
    return {
        "authorities": summary,
        "children": children,
        "households": households,
        "carers": carers,
        "schools": schools.drop("weight"),
        "gp_practices": practices.drop("weight"),
        "practitioners": practitioners,
    }


def _carers(
    rng: np.random.Generator,
    ordinal: int,
    eldest_birth: np.ndarray,
    family_surname: pl.Series,
    household_id: np.ndarray,
) -> pl.DataFrame:
    carers = make_carers(rng, eldest_birth)
    count = len(carers.family)
    differs = rng.random(count) < household_params().carer_surname_differs_share.value
    own_surname = sample_surnames(rng, count)
    surname = pl.select(
        pl.when(pl.lit(pl.Series(differs)))
        .then(own_surname)
        .otherwise(family_surname.gather(carers.family))
    ).to_series()
    phone = np.empty((count, 11), dtype=np.uint8)
    phone[:, :2] = np.frombuffer(b"07", dtype=np.uint8)
    phone[:, 2:] = ord("0") + rng.integers(0, 10, (count, 9))
    return pl.DataFrame(
        {
            "carer_id": pl.Series(ordinal * IDS_PER_AUTHORITY + np.arange(count), dtype=pl.Int64),
            "household_id": pl.Series(household_id[carers.family], dtype=pl.Int64),
            "forename": sample_forenames(rng, carers.is_male),
            "middle_names": sample_middle_names(rng, carers.is_male),
            "surname": surname,
            "gender": gender_labels(carers.is_male),
            "date_of_birth": pl.Series(carers.date_of_birth).cast(pl.Date),
            "relationship": carers.relationship,
            "phone": pl.Series(phone.view("S11").ravel()).cast(pl.String),
        }
    )


def authority_counts(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Rows of each table per authority, with the region: the basis of every summary."""
    authorities = tables["authorities"].select("authority_code", "region")
    carers = tables["carers"].join(
        tables["households"].select("household_id", "authority_code"), on="household_id"
    )
    counted = {name: tables[name] for name in TABLES if name != "authorities"} | {"carers": carers}
    result = authorities
    for name, frame in counted.items():
        per = frame.group_by("authority_code").agg(pl.len().alias(name))
        result = result.join(per, on="authority_code", how="left")
    return result.fill_null(0)


def _one(args: tuple[int, int, float]) -> dict[str, pl.DataFrame]:
    return synthesise_authority(*args)


def map_authorities(
    function: Callable[[tuple], Any],
    args: list[tuple],
    workers: int,
    on_done: Callable[[Any], None] | None = None,
    sizes: list[int] | None = None,
) -> list[Any]:
    """Apply `function` to each authority's arguments in up to `workers` processes.

    Results come back in the order of `args` whatever the worker count; the largest jobs (by
    `sizes`) start first so that no big county is left running alone at the end.
    """
    if workers <= 1 or len(args) <= 1:
        results = []
        for item in args:
            results.append(function(item))
            if on_done:
                on_done(results[-1])
        return results
    order = sorted(range(len(args)), key=lambda i: -(sizes[i] if sizes else 0))
    # Fork after polars has started its thread pool can deadlock: spawn fresh workers, each with
    # one polars thread, since the parallelism is already one process per core.
    context = multiprocessing.get_context("spawn")
    results: list[Any] = [None] * len(args)
    previous = os.environ.get("POLARS_MAX_THREADS")
    os.environ["POLARS_MAX_THREADS"] = "1"  # read by each worker as it starts
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(function, args[i]): i for i in order}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if on_done:
                    on_done(results[futures[future]])
    finally:
        if previous is None:
            os.environ.pop("POLARS_MAX_THREADS", None)
        else:
            os.environ["POLARS_MAX_THREADS"] = previous
    return results


def job_sizes(ordinals: list[int], scale: float) -> list[int]:
    authorities = load_authorities()
    return [expected_children(authorities[o], scale) for o in ordinals]


def ordinals_of(codes: tuple[str, ...]) -> list[int]:
    """Positions in authorities.csv of the given codes, in file order."""
    ordinals = {a.code: i for i, a in enumerate(load_authorities())}
    return sorted(ordinals[code] for code in codes)


def synthesise(request: SynthRequest, workers: int = 1) -> dict[str, pl.DataFrame]:
    """Every table for the requested authorities, in memory, in authorities.csv order.

    The result is the same for any number of workers. For England-sized output use
    `sim.population.output.write_population`, which writes each authority from its worker.
    """
    args = [
        (request.seed, ordinal, request.scale) for ordinal in ordinals_of(request.authority_codes)
    ]
    results = map_authorities(_one, args, workers)
    return {name: pl.concat([r[name] for r in results], how="vertical") for name in TABLES}
