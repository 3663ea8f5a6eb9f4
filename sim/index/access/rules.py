"""Typed view of data/index/access.toml: vetting, credentials, lockout, sessions, networks."""

from functools import cache
from typing import Annotated, Literal

from pydantic import Field, field_validator

from sim.reference.params import Param, ParamFile, load_params

ACCESS_FILE = "index/access.toml"

Role = Literal["practitioner", "management_team", "national_administrator"]
ROLES: tuple[Role, ...] = ("practitioner", "management_team", "national_administrator")
RolloutField = Literal["practitioner_access_start", "management_training_start"]
Scope = Literal["none", "authority", "all"]
Count = Annotated[int, Field(gt=0)]


class AccessRules(ParamFile):
    """Every rule on who may log in and how; the code holds none of these values."""

    crb_renewal_years: Param[Count]
    training_required: Param[bool]
    agreement_required: Param[bool]
    lockout_failures: Param[Count]
    lockout_minutes: Param[Annotated[int, Field(ge=0)]]
    session_idle_minutes: Param[Count]
    session_absolute_hours: Param[Count]
    password_min_length: Param[Count]
    pin_length: Param[list[Count]]
    token_step_seconds: Param[Count]
    token_digits: Param[Annotated[int, Field(ge=6, le=8)]]
    token_drift_steps: Param[Annotated[int, Field(ge=0, le=2)]]
    argon2_time_cost: Param[Count]
    argon2_memory_kib: Param[Annotated[int, Field(ge=8)]]
    argon2_parallelism: Param[Count]
    accredited_networks: Param[dict[str, list[str]]]
    role_access_start: Param[dict[Role, RolloutField]]
    national_staff_group: Param[Literal["early_adopters", "national"]]
    role_administers: Param[dict[Role, Scope]]

    @field_validator("pin_length")
    @classmethod
    def _pin(cls, param: Param[list[int]]) -> Param[list[int]]:
        if len(param.value) != 2 or param.value[0] > param.value[1]:
            raise ValueError("value must be [least, most] digits")
        return param

    @field_validator("role_access_start", "role_administers")
    @classmethod
    def _every_role(cls, param: Param[dict]) -> Param[dict]:
        missing = set(ROLES) - param.value.keys()
        if missing:
            raise ValueError(f"value lacks role(s) {sorted(missing)}")
        return param

    def networks_for(self, organisation_kind: str) -> frozenset[str]:
        """The accredited networks from which users of this kind of organisation may log in."""
        return frozenset(
            network
            for network, kinds in self.accredited_networks.value.items()
            if organisation_kind in kinds
        )


@cache
def load_access_rules() -> AccessRules:
    """The access rules, validated (data/index/access.toml)."""
    return load_params(ACCESS_FILE, AccessRules)
