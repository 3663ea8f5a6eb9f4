"""Settings of a deployment (data/index/deployment.toml); the service's own settings and
profiles are in sim.index.service_settings."""

from functools import cache
from typing import Annotated

from pydantic import Field

from sim.errors import InputError
from sim.reference.params import Param, ParamFile, load_params

DEPLOYMENT_FILE = "index/deployment.toml"
Count = Annotated[int, Field(ge=0)]


class DeploymentSettings(ParamFile):
    backup_generations: Param[Annotated[int, Field(ge=2)]]
    backup_interval_days: Param[Annotated[int, Field(ge=1)]]
    extracts: Param[Count]
    unlisted_extracts: Param[Count]
    pending_subject_access_requests: Param[Count]
    child_protection_holds: Param[Count]
    activity_searches: Param[Count]
    activity_views: Param[Count]
    canary_forenames: Param[list[Annotated[str, Field(pattern=r"^[A-Z][a-z]+$")]]]
    canary_surname_stem: Param[Annotated[str, Field(pattern=r"^[A-Z][a-z]+$")]]


@cache
def deployment_settings() -> DeploymentSettings:
    """data/index/deployment.toml: backups, extracts, requests, holds, demo activity, canaries."""
    settings = load_params(DEPLOYMENT_FILE, DeploymentSettings)
    if settings.unlisted_extracts.value > settings.extracts.value:
        raise InputError(f"data/{DEPLOYMENT_FILE}: unlisted_extracts exceeds extracts")
    return settings
