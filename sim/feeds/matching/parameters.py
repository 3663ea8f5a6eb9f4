"""Typed view of data/index/matching.toml."""

from functools import cache
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from sim.feeds.matching.standardise import COMPARED
from sim.feeds.sources import SOURCES
from sim.reference.params import Param, ParamFile, load_params

MATCHING_FILE = "index/matching.toml"
BLOCKING_KEYS = (
    "date_of_birth",
    "birth_year",
    "surname",
    "forename",
    "surname_code",
    "forename_code",
    "postcode",
    "authority_code",
)
# Every blocking rule holds one of these: a compared pair is always of one birth cohort, which
# is what lets the feed build match England cohort by cohort (sim/feeds/build.py).
COHORT_KEYS = ("date_of_birth", "birth_year")
Probability = Annotated[float, Field(gt=0.0, lt=1.0)]


class MatchingParams(ParamFile):
    blocking_rules: Param[list[list[str]]]
    max_block_size: Param[Annotated[int, Field(ge=2)]]
    labelled_children: Param[Annotated[int, Field(ge=10)]]
    random_pairs: Param[Annotated[int, Field(ge=100)]]
    match_probability: Param[Probability]
    review_probability: Param[Probability]
    min_margin_bits: Param[Annotated[float, Field(ge=0.0)]]
    shielded_hold_probability: Param[Probability]
    source_priority: Param[list[str]]
    nearby_authority_km: Param[Annotated[float, Field(ge=0.0, le=1000.0)]]
    term_frequency_fields: Param[list[str]]

    @field_validator("term_frequency_fields")
    @classmethod
    def _compared(cls, param: Param[list[str]]) -> Param[list[str]]:
        unknown = sorted(set(param.value) - set(COMPARED))
        if unknown:
            raise ValueError(f"{unknown}: fields must be among {COMPARED}")
        return param

    @field_validator("blocking_rules")
    @classmethod
    def _known_keys(cls, param: Param[list[list[str]]]) -> Param[list[list[str]]]:
        for rule in param.value:
            unknown = sorted(set(rule) - set(BLOCKING_KEYS))
            if not rule or unknown:
                raise ValueError(f"blocking rule {rule}: keys must be among {BLOCKING_KEYS}")
            if not set(rule) & set(COHORT_KEYS):
                raise ValueError(f"blocking rule {rule}: must hold one of {COHORT_KEYS}")
        return param

    @field_validator("source_priority")
    @classmethod
    def _every_source(cls, param: Param[list[str]]) -> Param[list[str]]:
        if sorted(param.value) != sorted(SOURCES):
            raise ValueError(f"must list each source once: {', '.join(SOURCES)}")
        return param

    @field_validator("review_probability")
    @classmethod
    def _below_match(cls, param: Param[float], info: ValidationInfo) -> Param[float]:
        match = info.data.get("match_probability")
        if match is not None and param.value >= match.value:
            raise ValueError("must be below match_probability")
        return param


@cache
def matching_params() -> MatchingParams:
    """Blocking, thresholds and source priority (data/index/matching.toml)."""
    return load_params(MATCHING_FILE, MatchingParams)
