"""Typed view of data/metrics/costs.toml: every unit cost with its source (docs/reference.md 5b),
and the published claims (hours saved, users) the model's figures are set beside
(docs/reference.md 5a)."""

from collections.abc import Mapping
from functools import cache
from typing import Annotated

from pydantic import Field, ValidationError

from sim.errors import InputError
from sim.reference.params import Param, ParamFile, load_params
from sim.reference.validation import describe

COSTS_FILE = "metrics/costs.toml"
Money = Annotated[float, Field(ge=0.0)]


class CostParams(ParamFile):
    setup_gbp: Param[Money]
    running_gbp_per_year: Param[Money]
    cp_is_running_gbp_per_year: Param[Money]
    signposting_2010_running_gbp_per_year: Param[Money]
    children_england: Param[Annotated[int, Field(gt=0)]]
    users_planned: Param[Annotated[int, Field(gt=0)]]
    vetting_gbp: Param[Money]
    training_hours: Param[Annotated[float, Field(ge=0.0)]]
    token_gbp: Param[Money]
    per_lookup_gbp: Param[Money]
    practitioner_gbp_per_hour: Param[Money]
    inappropriate_share: Param[Annotated[float, Field(ge=0.0, le=1.0)]]
    claimed_hours_per_year: Param[Annotated[int, Field(gt=0)]]
    users_at_closure: Param[Annotated[int, Field(gt=0)]]


@cache
def cost_params() -> CostParams:
    """data/metrics/costs.toml, validated."""
    return load_params(COSTS_FILE, CostParams)


def with_costs(changes: Mapping[str, float], base: CostParams | None = None) -> CostParams:
    """The unit costs with some values changed by name (unit, source and year kept), validated.

    Unit costs are applied after a run (sim.metrics.costs), so an analyst can ask "what if
    set-up had cost GBP 300 m?" of a finished run without simulating it again.
    """
    base = base or cost_params()
    document = base.model_dump()
    unknown = sorted(set(changes) - set(document))
    if unknown:
        known = ", ".join(sorted(document))
        raise InputError(f"unit costs: no cost named {unknown[0]!r}; costs are {known}")
    for name, value in changes.items():
        document[name] = {**document[name], "value": value}
    try:
        return CostParams.model_validate(document)
    except ValidationError as exc:
        raise InputError(f"unit costs: {describe(exc)}") from None
