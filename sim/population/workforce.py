"""Practitioners who could use the index, by sector, role and organisation, per authority."""

import numpy as np
import polars as pl

from sim.population.ages import apportion
from sim.population.names import gender_labels, sample_forenames, sample_surnames
from sim.population.parameters import practitioner_groups
from sim.reference.rollout import load_rollout

PRACTITIONER_IDS_PER_AUTHORITY = 100_000


def make_practitioners(
    rng: np.random.Generator,
    ordinal: int,
    code: str,
    share: float,
    schools: pl.DataFrame,
    practices: pl.DataFrame,
) -> pl.DataFrame:
    """The authority's planned index users (data/workforce/practitioners.csv x its share)."""
    groups = practitioner_groups()
    expected = np.array([g.planned_index_users for g in groups], dtype=np.float64) * share
    counts = apportion(round(expected.sum()), expected)
    total = int(counts.sum())
    if total >= PRACTITIONER_IDS_PER_AUTHORITY:
        raise ValueError(f"{code}: more practitioners than IDs allotted to one authority")
    partners = [p.name for p in load_rollout().national_partners]
    organisations = {
        "school": schools.filter(pl.col("phase") != "post16")["urn"].cast(pl.String),
        "gp_practice": practices["practice_code"],
        "local_authority": pl.Series([code]),
        "nhs_trust": pl.Series([f"{code}-NHS"]),
        "youth_offending_team": pl.Series([f"{code}-YOT"]),
        "police_force": pl.Series([f"{code}-POLICE"]),
        "national_partner": pl.Series(partners),
    }
    parts = []
    for group, count in zip(groups, counts, strict=True):
        if not count:
            continue
        choices = organisations[group.organisation_kind]
        parts.append(
            pl.DataFrame(
                {
                    "sector": [group.sector] * int(count),
                    "role": [group.role] * int(count),
                    "organisation_kind": [group.organisation_kind] * int(count),
                    "organisation": choices.gather(rng.integers(0, len(choices), int(count))),
                    "female_share": [group.female_share] * int(count),
                }
            )
        )
    if not parts:
        return _empty()
    frame = pl.concat(parts)
    is_male = rng.random(total) >= frame["female_share"].to_numpy()
    return frame.with_columns(
        practitioner_id=pl.Series(
            ordinal * PRACTITIONER_IDS_PER_AUTHORITY + np.arange(total), dtype=pl.Int64
        ),
        authority_code=pl.lit(code),
        forename=sample_forenames(rng, is_male),
        surname=sample_surnames(rng, total),
        gender=gender_labels(is_male),
    ).select(COLUMNS)


COLUMNS = [
    "practitioner_id",
    "authority_code",
    "sector",
    "role",
    "organisation_kind",
    "organisation",
    "forename",
    "surname",
    "gender",
]


def _empty() -> pl.DataFrame:
    schema = {name: pl.String for name in COLUMNS} | {"practitioner_id": pl.Int64}
    return pl.DataFrame(schema=schema)
