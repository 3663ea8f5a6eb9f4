"""Typed views of the population's data files (data/population, data/rules, data/workforce)."""

import datetime as dt
from functools import cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sim.reference.params import Confidence, Param, ParamFile, load_params
from sim.reference.tables import load_rows

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
Count = Annotated[int, Field(gt=0)]


def _sums_to_one(values: dict[str, float] | list[float], name: str) -> None:
    total = sum(values.values()) if isinstance(values, dict) else sum(values)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{name} must sum to 1 (sums to {total:g})")


class PopulationParams(ParamFile):
    snapshot_date: Param[dt.date]
    children_england: Param[Count]
    male_share: Param[Share]
    cohort_from_births: Param[bool]


class HouseholdParams(ParamFile):
    lone_parent_share: Param[Share]
    lone_parent_female_share: Param[Share]
    children_per_family: Param[list[Share]]
    sibling_age_spread_sd: Param[Positive]
    mother_age_at_birth_mean: Param[Positive]
    mother_age_at_birth_sd: Param[Positive]
    partner_age_gap_mean: Param[float]
    partner_age_gap_sd: Param[Positive]
    carer_surname_differs_share: Param[Share]
    same_sex_couple_share: Param[Share]

    @field_validator("children_per_family")
    @classmethod
    def _distribution(cls, param: Param[list[float]]) -> Param[list[float]]:
        _sums_to_one(param.value, "value")
        if param.categories is None or len(param.categories) != len(param.value):
            raise ValueError("categories must list one family size per share")
        return param


Locale = Literal["en_GB", "en_US", "en_IE", "en_IN", "en_PK", "en_NG", "en_NZ"]


class NameParams(ParamFile):
    surname_locales: Param[dict[Locale, Share]]
    forename_locales: Param[dict[Locale, Share]]
    surname_sum_of_squares: Param[Share]
    surname_sum_of_squares_tolerance: Param[Share]
    published_share_standard_errors: Param[Positive]
    double_barrelled_share: Param[Share]
    middle_name_share: Param[Share]
    street_suffixes: Param[list[str]]
    school_name_endings: Param[dict[str, list[str]]]
    gp_name_endings: Param[list[str]]

    @field_validator("surname_locales", "forename_locales")
    @classmethod
    def _weights(cls, param: Param[dict[str, float]]) -> Param[dict[str, float]]:
        _sums_to_one(param.value, "value")
        return param


class ServiceParams(ParamFile):
    primary_schools: Param[Count]
    secondary_schools: Param[Count]
    special_schools: Param[Count]
    independent_schools: Param[Count]
    post16_colleges: Param[Count]
    independent_pupil_share: Param[Share]
    special_pupil_share: Param[Share]
    home_educated_share: Param[Share]
    post16_in_education_share: Param[Share]
    post16_at_school_share: Param[Share]
    secondary_with_sixth_form_share: Param[Share]
    school_size_sigma: Param[Positive]
    gp_practices: Param[Count]
    gp_registered_share: Param[Share]
    gp_list_sigma: Param[Positive]
    reception_age: Param[Annotated[int, Field(ge=3, le=6)]]


class BirthYear(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    year: int = Field(ge=1980, le=2020)
    births_england_wales: int = Field(gt=100_000, lt=1_500_000)
    source: str
    confidence: Confidence


class PractitionerGroup(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sector: Literal["education", "health", "social care", "youth justice", "voluntary"]
    role: str
    organisation_kind: Literal[
        "school",
        "gp_practice",
        "local_authority",
        "nhs_trust",
        "youth_offending_team",
        "police_force",
        "national_partner",
    ]
    planned_index_users: int = Field(gt=0)
    female_share: float = Field(ge=0.0, le=1.0)
    source: str
    confidence: Confidence


class PrefixRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    confidence: Confidence
    excluded_first: list[Annotated[str, Field(pattern=r"^[A-Z]$")]]
    excluded_second: list[Annotated[str, Field(pattern=r"^[A-Z]$")]]
    excluded_pairs: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]]
    prefixes_per_authority: Annotated[int, Field(ge=1, le=2)]


class CheckRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    algorithm: Literal["ISO 7064 MOD 37,36"]
    source: str
    confidence: Confidence


class IdentifierRules(ParamFile):
    prefix: PrefixRule
    check: CheckRule


@cache
def population_params() -> PopulationParams:
    return load_params("population/population.toml", PopulationParams)


@cache
def household_params() -> HouseholdParams:
    return load_params("population/households.toml", HouseholdParams)


@cache
def name_params() -> NameParams:
    return load_params("population/names.toml", NameParams)


class SurnameRow(BaseModel):
    """One surname of data/population/surnames.csv and its share of people."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    surname: str = Field(min_length=1)
    share: Annotated[float, Field(gt=0.0, le=1.0)]
    basis: Literal["published", "modelled"]


class ForenameRow(BaseModel):
    """One forename of data/population/forenames.csv and its share of boys or of girls."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    forename: str = Field(min_length=1)
    sex: Literal["male", "female"]
    share: Annotated[float, Field(gt=0.0, le=1.0)]
    basis: Literal["published", "modelled"]


SURNAMES_FILE = "population/surnames.csv"
FORENAMES_FILE = "population/forenames.csv"


@cache
def surname_rows() -> tuple[SurnameRow, ...]:
    return tuple(load_rows(SURNAMES_FILE, SurnameRow))


@cache
def forename_rows() -> tuple[ForenameRow, ...]:
    return tuple(load_rows(FORENAMES_FILE, ForenameRow))


@cache
def service_params() -> ServiceParams:
    return load_params("population/services.toml", ServiceParams)


@cache
def identifier_rules() -> IdentifierRules:
    return load_params("rules/identifiers.toml", IdentifierRules)


@cache
def births_by_year() -> tuple[BirthYear, ...]:
    return tuple(load_rows("population/births.csv", BirthYear))


@cache
def practitioner_groups() -> tuple[PractitionerGroup, ...]:
    return tuple(load_rows("workforce/practitioners.csv", PractitionerGroup))
