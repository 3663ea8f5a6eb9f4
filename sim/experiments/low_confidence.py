"""The low-confidence figures of docs/reference.md and the parameters that carry them.

docs/reference.md grades each figure high, medium or low, and asks that every low one be a parameter
to vary, not a constant (docs/reference.md, "Confidence"). data/experiments/low-confidence.toml maps
each such figure to the key paths a scenario or a sweep uses, or says why it is not a model input (a
certificate that was never published is not a number). This loader checks every key is an
overridable parameter; tests/experiments/test_low_confidence.py checks each can be swept.
"""

from typing import Literal

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


class LowConfidenceFigures(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    figures: list[LowConfidenceFigure] = Field(min_length=1)

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
    return table
