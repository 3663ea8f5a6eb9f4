"""Typed view of data/metrics/costs.toml: every unit cost with its source (facts.md 5b)."""

from functools import cache
from typing import Annotated

from pydantic import Field

from sim.reference.params import Param, ParamFile, load_params

COSTS_FILE = "metrics/costs.toml"
Money = Annotated[float, Field(ge=0.0)]


class CostParams(ParamFile):
    setup_gbp: Param[Money]
    running_gbp_per_year: Param[Money]
    signposting_running_gbp_per_year: Param[Money]
    children_england: Param[Annotated[int, Field(gt=0)]]
    users_planned: Param[Annotated[int, Field(gt=0)]]
    vetting_gbp: Param[Money]
    training_hours: Param[Annotated[float, Field(ge=0.0)]]
    token_gbp: Param[Money]
    per_lookup_gbp: Param[Money]
    practitioner_gbp_per_hour: Param[Money]
    inappropriate_share: Param[Annotated[float, Field(ge=0.0, le=1.0)]]


@cache
def cost_params() -> CostParams:
    """data/metrics/costs.toml, validated."""
    return load_params(COSTS_FILE, CostParams)
