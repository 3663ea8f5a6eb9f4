"""Synthetic England: every child of the chosen authorities, with carers, address and services.

Each authority is made from its own random streams (sim.streams), so it comes out the same
whether it is made alone or with all England, and authorities can be made in parallel.
"""

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from sim.population.addresses import sample_addresses
from sim.population.ages import academic_age, age_counts, dates_of_birth
from sim.population.households import form_families, make_carers
from sim.population.identifiers import index_ids, permutation_keys, serials
from sim.population.names import sample_forenames, sample_middle_names, sample_surnames
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
    first_of_family = np.r_[True, family[1:] != family[:-1]]
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
            "authority_code": pl.Series([code] * n, dtype=pl.String),
            "forename": sample_forenames(names_rng, is_male),
            "middle_names": sample_middle_names(names_rng, is_male),
            "surname": family_surname.gather(family),
            "gender": pl.Series(np.where(is_male, "male", "female")),
            "date_of_birth": pl.Series(born).cast(pl.Date),
            "household_id": pl.Series(household_id[family], dtype=pl.Int64),
            "school_urn": school_urn,
            "gp_practice_code": gp,
        }
    )

    households = pl.DataFrame(
        {
            "household_id": household_id,
            "authority_code": pl.Series([code] * families.count, dtype=pl.String),
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
            "gender": pl.Series(np.where(carers.is_male, "male", "female")),
            "date_of_birth": pl.Series(carers.date_of_birth).cast(pl.Date),
            "relationship": pl.Series(carers.relationship, dtype=pl.String),
            "phone": pl.Series(phone.view("S11").ravel()).cast(pl.String),
        }
    )


def _one(args: tuple[int, int, float]) -> dict[str, pl.DataFrame]:
    return synthesise_authority(*args)


def synthesise(
    request: SynthRequest,
    workers: int = 1,
    on_authority: Callable[[str, int], None] | None = None,
) -> dict[str, pl.DataFrame]:
    """Every table for the requested authorities, concatenated in authorities.csv order.

    The result is the same for any number of workers.
    """
    ordinals = {a.code: i for i, a in enumerate(load_authorities())}
    jobs = sorted(ordinals[code] for code in request.authority_codes)
    args = [(request.seed, ordinal, request.scale) for ordinal in jobs]
    parts: dict[str, list[pl.DataFrame]] = {name: [] for name in TABLES}

    def collect(results: Iterable[dict[str, pl.DataFrame]]) -> None:
        for result in results:
            for name in TABLES:
                parts[name].append(result[name])
            if on_authority:
                row = result["authorities"].row(0, named=True)
                on_authority(row["authority_code"], row["children"])

    if workers > 1 and len(args) > 1:
        # Fork after polars has started its thread pool can deadlock: spawn fresh workers.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            collect(pool.map(_one, args))
    else:
        collect(map(_one, args))
    return {name: pl.concat(frames, how="vertical") for name, frames in parts.items()}
