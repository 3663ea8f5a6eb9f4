"""Typed views of data/world/*.toml: the rates and shares that drive the simulated world."""

import datetime as dt
from functools import cache
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from sim.reference.params import Param, ParamFile, load_params

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
Count = Annotated[int, Field(gt=0)]
Age = Annotated[int, Field(ge=1, le=30)]

DEMOGRAPHY_FILE = "world/demography.toml"
MOVES_FILE = "world/moves.toml"
SERVICES_FILE = "world/services.toml"
CARE_FILE = "world/care.toml"


def _one_per_age(param: Param[list[float]]) -> Param[list[float]]:
    if param.categories != list(range(18)) or len(param.value) != 18:
        raise ValueError("give one value per age 0..17 (categories = [0, 1, ..., 17])")
    return param


class DemographyParams(ParamFile):
    births_per_year: Param[Count]
    sibling_birth_share: Param[Share]
    sibling_max_age: Param[Age]
    newborn_gp_lag_days: Param[Positive]
    infant_deaths_per_year: Param[Annotated[int, Field(ge=0)]]
    child_deaths_per_year: Param[Annotated[int, Field(ge=0)]]
    adult_age: Param[Age]
    consent_age: Param[Age]
    consent_share: Param[Share]

    @model_validator(mode="after")
    def _ages_in_order(self) -> "DemographyParams":
        if self.consent_age.value <= self.adult_age.value:
            raise ValueError("consent_age must be above adult_age")
        return self


class MoveParams(ParamFile):
    address_moves_by_age: Param[list[Share]]
    between_authority_moves_by_age: Param[list[Share]]
    gravity_exponent: Param[Positive]
    distance_floor_km: Param[Positive]
    long_distance_share: Param[Share]
    london_outflow_factor: Param[Positive]
    london_net_flow_per_1000: Param[float]
    distance_band_shares: Param[list[Share]]
    within_authority_share_all_ages: Param[Share]

    _per_age = field_validator("address_moves_by_age", "between_authority_moves_by_age")(
        _one_per_age
    )

    @field_validator("distance_band_shares")
    @classmethod
    def _bands(cls, param: Param[list[float]]) -> Param[list[float]]:
        if param.categories is None or len(param.categories) != len(param.value):
            raise ValueError("categories must give each band's lower bound in km")
        if abs(sum(param.value) - 1.0) > 0.01:  # published shares are rounded; renormalised
            raise ValueError(f"value must sum to 1 (sums to {sum(param.value):g})")
        return param

    @model_validator(mode="after")
    def _between_within_moves(self) -> "MoveParams":
        pairs = zip(
            self.between_authority_moves_by_age.value,
            self.address_moves_by_age.value,
            strict=True,
        )
        if any(between > moves for between, moves in pairs):
            raise ValueError("between_authority_moves_by_age exceeds address_moves_by_age")
        return self


class ServiceChangeParams(ParamFile):
    school_change_share_between: Param[Share]
    school_change_share_within: Param[Share]
    school_change_lag_days: Param[Positive]
    gp_change_share_between: Param[Share]
    gp_change_share_within: Param[Share]
    gp_change_lag_days: Param[Positive]


class CareParams(ParamFile):
    reference_date: Param[dt.date]
    referrals_per_year: Param[Count]
    children_in_need_stock: Param[Count]
    short_episode_share: Param[Share]
    short_episode_days: Param[Positive]
    protection_plan_starts_per_year: Param[Count]
    protection_plan_stock: Param[Count]
    pre_birth_plan_share: Param[Share]
    pre_birth_plan_lead_days: Param[Positive]
    looked_after_starts_per_year: Param[Count]
    looked_after_ceased_per_year: Param[Count]
    looked_after_stock: Param[Count]
    looked_after_growth: Param[float]
    looked_after_placed_out_share: Param[Share]
    caf_starts_per_year: Param[Annotated[int, Field(ge=0)]]
    caf_days: Param[Positive]
    lead_professional_share: Param[Share]

    @model_validator(mode="after")
    def _stocks_fit(self) -> "CareParams":
        planned = self.protection_plan_stock.value + self.looked_after_stock.value
        if planned >= self.children_in_need_stock.value:
            raise ValueError("protection_plan_stock + looked_after_stock must be below CIN stock")
        outcomes = self.protection_plan_starts_per_year.value
        outcomes += self.looked_after_starts_per_year.value
        if self.short_episode_share.value + outcomes / self.referrals_per_year.value >= 1:
            raise ValueError("short episodes, plans and care starts exceed the referrals")
        return self


@cache
def demography_params() -> DemographyParams:
    return load_params(DEMOGRAPHY_FILE, DemographyParams)


@cache
def move_params() -> MoveParams:
    return load_params(MOVES_FILE, MoveParams)


@cache
def service_change_params() -> ServiceChangeParams:
    return load_params(SERVICES_FILE, ServiceChangeParams)


@cache
def care_params() -> CareParams:
    return load_params(CARE_FILE, CareParams)
