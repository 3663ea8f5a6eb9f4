"""Schools and GP practices of an authority, and which of them each child is registered with.

Numbers of schools and practices are England's totals shared by children, so a scaled-down
England keeps realistic school and practice sizes. Siblings in the same phase share a school,
and a family shares a GP practice.
"""

from dataclasses import dataclass

import numpy as np
import polars as pl

from sim.population.addresses import sample_addresses
from sim.population.names import surnames
from sim.population.parameters import name_params, service_params

# Phase, inclusive academic ages it teaches (age on 31 August), and the count parameter.
PHASES = {
    "primary": (4, 10, "primary_schools"),
    "secondary": (11, 15, "secondary_schools"),
    "special": (4, 17, "special_schools"),
    "independent": (4, 17, "independent_schools"),
    "post16": (16, 17, "post16_colleges"),
}
NO_SCHOOL = -1
SCHOOL_IDS_PER_AUTHORITY = 1_000
GP_IDS_PER_AUTHORITY = 600


@dataclass(frozen=True)
class Provision:
    """An authority's schools and practices, and each child's registration (null = none)."""

    schools: pl.DataFrame
    practices: pl.DataFrame
    school_urn: pl.Series
    gp_practice: pl.Series


def _weighted_pick(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    cumulative = np.cumsum(weights)
    return np.searchsorted(cumulative / cumulative[-1], rng.random(size), side="right")


def _names(rng: np.random.Generator, count: int, endings: list[str]) -> pl.Series:
    words = surnames()
    frame = pl.DataFrame(
        {
            "word": words.gather(words.sample(rng, count)),
            "ending": pl.Series(endings).gather(rng.integers(0, len(endings), count)),
        }
    )
    return frame.select(pl.concat_str("word", pl.lit(" "), "ending")).to_series()


def make_schools(rng: np.random.Generator, ordinal: int, code: str, share: float) -> pl.DataFrame:
    """The authority's schools; `share` is its fraction of England's (scaled) children."""
    params = service_params()
    endings = name_params().school_name_endings.value
    parts = []
    for phase, (low, high, count_param) in PHASES.items():
        count = max(1, round(getattr(params, count_param).value * share))
        sixth_form = np.zeros(count, dtype=bool)
        if phase == "secondary":
            sixth_form = rng.random(count) < params.secondary_with_sixth_form_share.value
            sixth_form[0] = True  # every authority offers at least one school sixth form
        parts.append(
            pl.DataFrame(
                {
                    "phase": [phase] * count,
                    "name": _names(rng, count, endings[phase]),
                    "low_age": np.full(count, low, dtype=np.int8),
                    "high_age": np.where(sixth_form, 17, high).astype(np.int8),
                    "has_sixth_form": sixth_form | (phase in ("independent", "post16")),
                    "weight": rng.lognormal(0.0, params.school_size_sigma.value, count),
                }
            )
        )
    schools = pl.concat(parts)
    if schools.height > SCHOOL_IDS_PER_AUTHORITY:
        raise ValueError(f"{code}: more schools than URNs allotted to one authority")
    urn = 100_000 + ordinal * SCHOOL_IDS_PER_AUTHORITY + np.arange(schools.height)
    addresses = sample_addresses(rng, code, schools.height)
    return schools.with_columns(
        urn=pl.Series(urn, dtype=pl.Int64),
        authority_code=pl.lit(code),
        postcode=addresses["postcode"],
        town=addresses["town"],
    ).select(
        "urn",
        "name",
        "phase",
        "low_age",
        "high_age",
        "has_sixth_form",
        "authority_code",
        "postcode",
        "town",
        "weight",
    )


def school_phase(rng: np.random.Generator, academic_age: np.ndarray) -> np.ndarray:
    """The phase each child attends, as an index into PHASES, or NO_SCHOOL."""
    params = service_params()
    names = list(PHASES)
    phase = np.full(len(academic_age), NO_SCHOOL, dtype=np.int64)
    draw = rng.random(len(academic_age))
    compulsory = (academic_age >= params.reception_age.value) & (academic_age <= 15)
    home = params.home_educated_share.value
    independent = home + params.independent_pupil_share.value
    special = independent + params.special_pupil_share.value
    attends = compulsory & (draw >= home)
    phase[attends] = np.where(academic_age[attends] <= 10, 0, 1)
    phase[attends & (draw < independent)] = names.index("independent")
    phase[attends & (draw >= independent) & (draw < special)] = names.index("special")

    older = academic_age >= 16
    in_education = params.post16_in_education_share.value
    stays = params.independent_pupil_share.value * in_education
    at_school = stays + (in_education - stays) * params.post16_at_school_share.value
    phase[older & (draw < stays)] = names.index("independent")
    phase[older & (draw >= stays) & (draw < at_school)] = names.index("secondary")
    phase[older & (draw >= at_school) & (draw < in_education)] = names.index("post16")
    return phase


def assign_schools(
    rng: np.random.Generator,
    schools: pl.DataFrame,
    phase: np.ndarray,
    family: np.ndarray,
    academic_age: np.ndarray,
) -> pl.Series:
    """A school URN per child (null for none); siblings in one phase go to the same school."""
    urn = np.full(len(phase), -1, dtype=np.int64)
    for index, name in enumerate(PHASES):
        candidates = schools.filter(pl.col("phase") == name)
        pupils = np.flatnonzero(phase == index)
        if not len(pupils):
            continue
        if name == "secondary":
            sixth = academic_age[pupils] >= 16
            candidates_sixth = candidates.filter(pl.col("has_sixth_form"))
            urn[pupils[sixth]] = _by_family(rng, candidates_sixth, family[pupils[sixth]])
            urn[pupils[~sixth]] = _by_family(rng, candidates, family[pupils[~sixth]])
        else:
            urn[pupils] = _by_family(rng, candidates, family[pupils])
    return pl.Series("school_urn", urn).replace(-1, None)


def _by_family(
    rng: np.random.Generator, candidates: pl.DataFrame, family: np.ndarray
) -> np.ndarray:
    if not len(family):
        return np.zeros(0, dtype=np.int64)
    families, inverse = np.unique(family, return_inverse=True)
    chosen = _weighted_pick(rng, candidates["weight"].to_numpy(), len(families))
    return candidates["urn"].to_numpy()[chosen][inverse]


def make_practices(
    rng: np.random.Generator, ordinal: int, region_letter: str, code: str, share: float
) -> pl.DataFrame:
    """The authority's GP practices with NHS-style codes (a letter and five digits)."""
    params = service_params()
    count = max(1, round(params.gp_practices.value * share))
    if count > GP_IDS_PER_AUTHORITY:
        raise ValueError(f"{code}: more practices than codes allotted to one authority")
    numbers = ordinal * GP_IDS_PER_AUTHORITY + np.arange(count)
    addresses = sample_addresses(rng, code, count)
    return pl.DataFrame(
        {
            "practice_code": [f"{region_letter}{n:05d}" for n in numbers],
            "name": _names(rng, count, name_params().gp_name_endings.value),
            "authority_code": [code] * count,
            "postcode": addresses["postcode"],
            "town": addresses["town"],
            "weight": rng.lognormal(0.0, params.gp_list_sigma.value, count),
        }
    )


def assign_practices(
    rng: np.random.Generator, practices: pl.DataFrame, family: np.ndarray
) -> pl.Series:
    """A practice per child (null if unregistered); a family registers at one practice."""
    families, inverse = np.unique(family, return_inverse=True)
    chosen = _weighted_pick(rng, practices["weight"].to_numpy(), len(families))[inverse]
    registered = rng.random(len(family)) < service_params().gp_registered_share.value
    return (
        pl.DataFrame({"code": practices["practice_code"].gather(chosen), "registered": registered})
        .select(pl.when(pl.col("registered")).then(pl.col("code")).alias("gp_practice_code"))
        .to_series()
    )
