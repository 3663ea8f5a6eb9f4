"""Roll-out groups: trailblazers, North West early adopters, national partners, national."""

import datetime as dt
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from sim.errors import ReferenceDataError
from sim.reference.authorities import load_authorities
from sim.reference.params import Confidence, load_params

ROLLOUT_FILE = "rollout/groups.toml"


class Member(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str = Field(pattern=r"^E(06|08|09|10)\d{6}$")
    name: str
    confirmed: bool


class Trailblazers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    description: str
    start: dt.date
    source: str
    year: int
    confidence: Confidence
    members: list[Member]
    also_named: list[str]
    also_named_source: str


class EarlyAdopters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    description: str
    management_training_start: dt.date
    practitioner_access_start: dt.date
    source: str
    year: int
    confidence: Confidence
    membership_note: str
    members: list[Member] = Field(min_length=17, max_length=17)


class NationalPartner(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    kind: str
    practitioner_access_start: dt.date
    users_at_start: int = Field(ge=0)
    source: str
    confidence: Confidence


class National(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    description: str
    management_training_start: dt.date
    practitioner_access_start: dt.date
    source: str
    year: int
    confidence: Confidence


class RolloutGroups(BaseModel):
    """Who could use the index from when; read by the regimes and the index's phase gates."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    trailblazers: Trailblazers
    early_adopters: EarlyAdopters
    national_partners: list[NationalPartner]
    national: National


@cache
def load_rollout() -> RolloutGroups:
    """The roll-out groups, validated, with every member a known authority."""
    groups = load_params(ROLLOUT_FILE, RolloutGroups)
    known = {a.code for a in load_authorities()}
    listed = [m.code for m in groups.trailblazers.members + groups.early_adopters.members]
    for code in listed + groups.trailblazers.also_named:
        if code not in known:
            raise ReferenceDataError(f"data/{ROLLOUT_FILE}: unknown authority code {code}")
    return groups
