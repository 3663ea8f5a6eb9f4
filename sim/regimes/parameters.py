"""Typed views of data/regimes/paths.toml and regimes.toml: how each path to reconnection works."""

import datetime as dt
from functools import cache
from typing import Annotated

from pydantic import Field, field_validator

from sim.reference.params import Param, ParamFile, load_params
from sim.world.encounters import CARE_STATUSES, KINDS, PATHS_FILE, per_care_status

REGIMES_FILE = "regimes/regimes.toml"
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Days = Annotated[float, Field(gt=0.0)]


def _per_kind(param: Param[list[float]]) -> Param[list[float]]:
    if len(param.value) != len(KINDS):
        raise ValueError(f"give one value per encounter kind {list(KINDS)}")
    return param


def _known_kinds(param: Param[list[str]]) -> Param[list[str]]:
    unknown = sorted(set(param.value) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown encounter kind {unknown[0]!r}; kinds are {list(KINDS)}")
    return param


class PathParams(ParamFile):
    """Propensities, compliance, delays and time costs of lookups and phone-rounds."""

    lookup_propensity: Param[list[Share]]
    compliance: Param[Share]
    search_miss_rate: Param[Share]
    shield_share: Param[Share]
    involvement_lag_days: Param[Days]
    address_lag_days: Param[Days]
    contact_after_lookup_days: Param[Days]
    notification_response_days: Param[Days]
    phone_round_propensity: Param[list[Share]]
    phone_round_failure: Param[Share]
    phone_round_days: Param[Days]
    phone_round_hours: Param[Annotated[float, Field(ge=0.0)]]
    lookup_minutes: Param[Annotated[float, Field(ge=0.0)]]
    records_transfer_share: Param[list[Share]]
    records_transfer_days: Param[list[Days]]

    _per_kind = field_validator("lookup_propensity", "phone_round_propensity")(_per_kind)
    _by_care = field_validator("records_transfer_share", "records_transfer_days")(per_care_status)


def _known_care(param: Param[list[str]]) -> Param[list[str]]:
    unknown = sorted(set(param.value) - set(CARE_STATUSES))
    if unknown:
        raise ValueError(f"unknown care status {unknown[0]!r}; statuses are {list(CARE_STATUSES)}")
    return param


def _authority_groups(param: Param[list[list[str]]]) -> Param[list[list[str]]]:
    codes = [code for group in param.value for code in group]
    if len(codes) != len(set(codes)):
        raise ValueError("an authority may belong to one consortium only")
    return param


class RegimeParams(ParamFile):
    """Which practitioners each regime serves, the switch-off, and the signposting flag rule."""

    contactpoint_kinds: Param[list[str]]
    switch_off: Param[dt.datetime]
    cp_is_kinds: Param[list[str]]
    flag_days_after_end: Param[Annotated[int, Field(ge=0)]]
    local_kinds: Param[list[str]]
    contactpoint_users: Param[Annotated[int, Field(ge=0)]]
    cp_is_users: Param[Annotated[int, Field(ge=0)]]
    signposting_2010_kinds: Param[list[str]]
    signposting_2010_care: Param[list[str]]
    signposting_2010_users: Param[Annotated[int, Field(ge=0)]]
    users_live_dates: Param[list[dt.date]]
    users_live: Param[list[Annotated[int, Field(ge=0)]]]
    national_feeds_paused: Param[dt.date]
    local_consortia: Param[list[list[str]]]
    local_users: Param[Annotated[int, Field(ge=0)]]
    retention_run_days: Param[Annotated[int, Field(ge=1, le=366)]]

    _kinds = field_validator(
        "contactpoint_kinds", "cp_is_kinds", "signposting_2010_kinds", "local_kinds"
    )(_known_kinds)
    _care = field_validator("signposting_2010_care")(_known_care)
    _groups = field_validator("local_consortia")(_authority_groups)

    @field_validator("users_live")
    @classmethod
    def _one_per_date(cls, param: Param[list[int]], info) -> Param[list[int]]:
        dates = info.data.get("users_live_dates")
        if dates is not None and len(dates.value) != len(param.value):
            raise ValueError("give one number of users per date of users_live_dates")
        return param


@cache
def path_params() -> PathParams:
    """data/regimes/paths.toml, validated."""
    return load_params(PATHS_FILE, PathParams)


@cache
def regime_params() -> RegimeParams:
    """data/regimes/regimes.toml, validated."""
    return load_params(REGIMES_FILE, RegimeParams)
