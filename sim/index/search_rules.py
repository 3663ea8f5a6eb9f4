"""Typed view of data/index/search.toml: the cap, minimum fields and match weights."""

from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.reference.params import Param, ParamFile, load_params

SEARCH_FILE = "index/search.toml"

# The record field each query field reads: it decides which query fields are hidden.
QUERY_FIELDS = {
    "forename": "name",
    "surname": "name",
    "date_of_birth": "date_of_birth",
    "gender": "gender",
    "index_id": "index_id",
    "postcode": "address",
    "school_code": "services",
    "gp_practice_code": "services",
}


class Weights(BaseModel):
    """Points per level of agreement, falling from agreement to disagreement."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _ordered(self) -> "Weights":
        levels = list(self.model_dump().values())
        if levels != sorted(levels, reverse=True):
            raise ValueError("levels must fall from exact agreement to disagreement")
        return self


class NameWeights(Weights):
    exact: float
    phonetic: float
    near: float
    differs: float


class ForenameWeights(Weights):
    """A forename may also agree as a known short form of the name (Bob for Robert)."""

    exact: float
    phonetic: float
    nickname: float
    near: float
    differs: float


class DateWeights(Weights):
    exact: float
    swapped: float
    differs: float


class GenderWeights(Weights):
    exact: float
    differs: float


class SearchRules(ParamFile):
    result_cap: Param[Annotated[int, Field(ge=1, le=500)]]
    candidate_limit: Param[Annotated[int, Field(ge=10, le=100_000)]]
    minimum_fields: Param[list[list[str]]]
    minimum_score: Param[Annotated[float, Field(gt=0.0, le=1.0)]]
    near_name_similarity: Param[Annotated[float, Field(gt=0.0, lt=1.0)]]
    surname_weights: Param[NameWeights]
    forename_weights: Param[ForenameWeights]
    date_of_birth_weights: Param[DateWeights]
    gender_weights: Param[GenderWeights]

    @field_validator("minimum_fields")
    @classmethod
    def _query_fields(cls, param: Param[list[list[str]]]) -> Param[list[list[str]]]:
        unknown = sorted({f for fields in param.value for f in fields} - QUERY_FIELDS.keys())
        if unknown:
            raise ValueError(f"not query fields: {unknown}")
        return param


@cache
def search_rules() -> SearchRules:
    """data/index/search.toml: the cap, minimum fields and match weights."""
    return load_params(SEARCH_FILE, SearchRules)
