"""Typed views of data/regimes/paths.toml and regimes.toml: how each path to reconnection works."""

import datetime as dt
from functools import cache
from typing import Annotated

from pydantic import Field, field_validator

from sim.reference.params import Param, ParamFile, load_params
from sim.world.encounters import KINDS, PATHS_FILE

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
    phone_round_days: Param[Days]
    phone_round_hours: Param[Annotated[float, Field(ge=0.0)]]
    lookup_minutes: Param[Annotated[float, Field(ge=0.0)]]
    records_transfer_share: Param[Share]
    records_transfer_days: Param[Days]

    _per_kind = field_validator("lookup_propensity", "phone_round_propensity")(_per_kind)


class RegimeParams(ParamFile):
    """Which practitioners each regime serves, the switch-off, and the signposting flag rule."""

    contactpoint_kinds: Param[list[str]]
    switch_off: Param[dt.datetime]
    signposting_kinds: Param[list[str]]
    flag_days_after_end: Param[Annotated[int, Field(ge=0)]]
    local_kinds: Param[list[str]]
    contactpoint_users: Param[Annotated[int, Field(ge=0)]]
    signposting_users: Param[Annotated[int, Field(ge=0)]]
    local_users: Param[Annotated[int, Field(ge=0)]]
    practitioner_accounts: Param[Annotated[int, Field(ge=1, le=1000)]]
    retention_run_days: Param[Annotated[int, Field(ge=1, le=366)]]

    _kinds = field_validator("contactpoint_kinds", "signposting_kinds", "local_kinds")(_known_kinds)


@cache
def path_params() -> PathParams:
    """data/regimes/paths.toml, validated."""
    return load_params(PATHS_FILE, PathParams)


@cache
def regime_params() -> RegimeParams:
    """data/regimes/regimes.toml, validated."""
    return load_params(REGIMES_FILE, RegimeParams)
