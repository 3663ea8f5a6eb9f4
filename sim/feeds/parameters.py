"""Typed view of data/index/feeds.toml (the nickname table: sim.index.nicknames)."""

import datetime as dt
from functools import cache
from typing import Annotated

from pydantic import Field

from sim.reference.params import Param, ParamFile, load_params

FEEDS_FILE = "index/feeds.toml"

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Days = Annotated[float, Field(ge=0.0, le=730.0)]


class ErrorRates(ParamFile):
    """How often a feed's view of a child is wrong, one rate per kind of error."""

    typo_forename: Param[Share]
    typo_surname: Param[Share]
    nickname: Param[Share]
    swapped_day_month: Param[Share]
    stale_address: Param[Share]
    missing_postcode: Param[Share]
    missing_middle_names: Param[Share]
    surname_change: Param[Share]
    duplicate: Param[Share]


class Feed(ParamFile):
    coverage: Param[Share]
    lag_days_mean: Param[Days]
    errors: ErrorRates


class ChildBenefitFeed(Feed):
    age_limit: Param[Annotated[int, Field(ge=1, le=18)]]
    older_coverage: Param[Share]
    crn_missing: Param[Share]


class BirthFeed(Feed):
    births_from: Param[dt.date]


class DeathFeed(ParamFile):
    death_rate: Param[Annotated[float, Field(ge=0.0, le=0.1)]]
    lag_days_mean: Param[Days]
    window_days: Param[Annotated[int, Field(ge=1, le=3650)]]
    errors: ErrorRates


class FeedParams(ParamFile):
    dwp_child_benefit: ChildBenefitFeed
    nhs_pds: Feed
    school_census: Feed
    gro_births: BirthFeed
    gro_deaths: DeathFeed
    local_authority: Feed


@cache
def feed_params() -> FeedParams:
    """The feeds' coverage, lags and error rates (data/index/feeds.toml)."""
    return load_params(FEEDS_FILE, FeedParams)
