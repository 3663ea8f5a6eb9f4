"""The low-confidence figures of docs/reference.md and the parameters that carry them.

docs/reference.md grades each figure high, medium or low, and asks that every low one be a parameter
to vary, not a constant (docs/reference.md, "Confidence"). data/experiments/low-confidence.toml maps
each such figure to the key paths a scenario or a sweep uses, or says why it is not a model input (a
certificate that was never published is not a number). This loader checks every key is an
overridable parameter; tests/experiments/test_low_confidence.py checks each can be swept.

The same file gives each such parameter, and the low-confidence assumptions that decide what a
regime finds, a distribution with its source: probabilistic sensitivity analysis
(sim.experiments.psa) draws every one of them in every replication.
"""

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.errors import ReferenceDataError
from sim.experiments.parameters import defaults
from sim.reference.params import load_params

LOW_CONFIDENCE_FILE = "experiments/low-confidence.toml"


class LowConfidenceFigure(BaseModel):
    """One docs/reference.md row graded low: the parameters that carry it, or why none does."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    section: str = Field(pattern=r"^docs/reference\.md \d")
    item: str = Field(min_length=1)
    confidence: Literal["low", "low-medium", "medium-low"]
    parameters: list[str]
    not_applicable: str | None = Field(default=None, min_length=10)
    note: str | None = None

    @model_validator(mode="after")
    def _parameters_or_reason(self) -> "LowConfidenceFigure":
        if bool(self.parameters) == bool(self.not_applicable):
            raise ValueError("give either parameters or not_applicable (with the reason)")
        return self


class Distribution(BaseModel):
    """One uncertain parameter's distribution: uniform or triangular, of the value itself or of
    a multiplier on it (a list is scaled whole, keeping its shape), capped at `at_most`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    parameter: str
    kind: Literal["uniform", "triangular"]
    low: float
    high: float
    mode: float | None = None
    scale: Literal["value", "multiplier"]
    at_most: float | None = None
    source: str = Field(min_length=10)

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if not self.low < self.high:
            raise ValueError(f"{self.parameter}: low must be below high")
        if (self.kind == "triangular") != (self.mode is not None):
            raise ValueError(f"{self.parameter}: a triangular distribution (only) needs a mode")
        if self.mode is not None and not self.low <= self.mode <= self.high:
            raise ValueError(f"{self.parameter}: mode must lie between low and high")
        if self.scale == "multiplier" and self.low < 0:
            raise ValueError(f"{self.parameter}: a multiplier cannot be negative")
        return self

    def quantile(self, u: float) -> float:
        """The value (or multiplier) at probability `u` (inverse CDF), so one uniform per
        distribution gives the draw."""
        low, high = self.low, self.high
        if self.kind == "uniform" or self.mode is None:
            return low + u * (high - low)
        cut = (self.mode - low) / (high - low)
        if u < cut:
            return low + ((high - low) * (self.mode - low) * u) ** 0.5
        return high - ((high - low) * (high - self.mode) * (1 - u)) ** 0.5


class LowConfidenceFigures(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    figures: list[LowConfidenceFigure] = Field(min_length=1)
    distributions: list[Distribution] = Field(default_factory=list)

    def parameter_keys(self) -> list[str]:
        """Every key path that carries a low-confidence figure, in the file's order."""
        return [key for figure in self.figures for key in figure.parameters]


def low_confidence_figures() -> LowConfidenceFigures:
    """The table, validated: every key names a parameter a scenario may override."""
    table = load_params(LOW_CONFIDENCE_FILE, LowConfidenceFigures)
    known = defaults()
    for i, figure in enumerate(table.figures):
        for key in figure.parameters:
            if key not in known:
                raise ReferenceDataError(
                    f"data/{LOW_CONFIDENCE_FILE}: figures[{i}].parameters: {key} is not a "
                    "parameter (e.g. world.care.caf_starts_per_year)"
                )
    drawn = [d.parameter for d in table.distributions]
    for i, distribution in enumerate(table.distributions):
        where = f"data/{LOW_CONFIDENCE_FILE}: distributions[{i}]"
        if distribution.parameter not in known:
            raise ReferenceDataError(
                f"{where}.parameter: {distribution.parameter} is not a parameter"
            )
        if drawn.count(distribution.parameter) > 1:
            raise ReferenceDataError(f"{where}.parameter: {distribution.parameter} is listed twice")
        value = known[distribution.parameter]["value"]
        if isinstance(value, list) and distribution.scale == "value":
            raise ReferenceDataError(
                f"{where}.scale: {distribution.parameter} is a list; draw a multiplier"
            )
    for key in table.parameter_keys():
        if key not in drawn:
            raise ReferenceDataError(
                f"data/{LOW_CONFIDENCE_FILE}: {key} carries a low-confidence figure but has no "
                "distribution (add one under [[distributions]])"
            )
    return table
