"""Sourced parameters: every value in a TOML file carries its unit, source, year and confidence."""

import tomllib
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from sim.errors import ReferenceDataError
from sim.reference.paths import data_path, display_path
from sim.reference.validation import describe

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

Confidence = Literal["high", "medium", "low"]


class Param(BaseModel, Generic[T]):
    """One value with its provenance; 'low' confidence marks a value to vary, not a fact."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: T
    unit: str
    source: str
    year: int
    confidence: Confidence
    description: str | None = None
    categories: list[int] | None = None


class ParamFile(BaseModel):
    """Base for a parameter file's model: unknown keys are refused, values are read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_toml(relative: str) -> dict[str, Any]:
    """Parse a TOML file under data/, with a one-line error on bad syntax."""
    path = data_path(relative)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ReferenceDataError(f"{display_path(path)}: {exc}") from None


def load_params(relative: str, model: type[M]) -> M:
    """Load and validate a parameter file; errors name the file and the key path."""
    raw = read_toml(relative)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ReferenceDataError(f"data/{relative}: {describe(exc)}") from None
