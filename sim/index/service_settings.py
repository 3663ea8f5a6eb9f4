"""Settings of the index service (data/index/service.toml) and its hashing profiles.

The "simulation" profile swaps argon2's cost for the least it allows so a simulation can create
thousands of accounts: UNSAFE for real use, and marked so in the data file.
"""

from functools import cache
from typing import Annotated

from pydantic import Field

from sim.errors import InputError
from sim.index.access import AccessRules, load_access_rules
from sim.reference.params import Param, ParamFile, load_params

SERVICE_FILE = "index/service.toml"
PROFILES = ("production", "simulation")


class ServiceRules(ParamFile):
    simulation_argon2_time_cost: Param[Annotated[int, Field(ge=1)]]
    simulation_argon2_memory_kib: Param[Annotated[int, Field(ge=8)]]
    simulation_argon2_parallelism: Param[Annotated[int, Field(ge=1)]]
    shielding_request_roles: Param[list[str]]
    shielding_decider_roles: Param[dict[str, str]]
    record_maintainer_roles: Param[list[str]]


@cache
def service_rules() -> ServiceRules:
    """data/index/service.toml: hashing profiles and the roles that shield and amend."""
    return load_params(SERVICE_FILE, ServiceRules)


def profile_rules(profile: str) -> AccessRules:
    """Access rules for a profile: "simulation" swaps in cheap argon2 (UNSAFE for real use)."""
    base = load_access_rules()
    if profile == "production":
        return base
    if profile != "simulation":
        raise InputError(f"--profile: {profile!r} is not one of {', '.join(PROFILES)}")
    rules = service_rules()
    cheap = {
        "argon2_time_cost": rules.simulation_argon2_time_cost,
        "argon2_memory_kib": rules.simulation_argon2_memory_kib,
        "argon2_parallelism": rules.simulation_argon2_parallelism,
    }
    return base.model_copy(update=cheap)
