"""CSV reference tables, each row validated by a pydantic model."""

from typing import TypeVar

import polars as pl
from pydantic import BaseModel, ValidationError

from sim.errors import ReferenceDataError
from sim.reference.paths import data_path
from sim.reference.validation import describe

R = TypeVar("R", bound=BaseModel)


def load_rows(relative: str, row_model: type[R]) -> list[R]:
    """Every row of a CSV as a validated model; an error names file, row (1 = header) and field."""
    path = data_path(relative)
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.ComputeError, OSError) as exc:
        raise ReferenceDataError(f"data/{relative}: cannot read CSV: {exc}") from None
    expected = set(row_model.model_fields)
    missing = sorted(expected - set(frame.columns))
    if missing:
        raise ReferenceDataError(f"data/{relative}: missing column(s) {', '.join(missing)}")
    rows = []
    for number, raw in enumerate(frame.iter_rows(named=True), start=2):
        cleaned = {key: value for key, value in raw.items() if value not in (None, "")}
        try:
            rows.append(row_model.model_validate(cleaned))
        except ValidationError as exc:
            raise ReferenceDataError(f"data/{relative}: row {number}: {describe(exc)}") from None
    return rows


def load_table(relative: str, row_model: type[BaseModel]) -> pl.DataFrame:
    """A validated CSV as a polars frame with the model's field order."""
    rows = load_rows(relative, row_model)
    columns = list(row_model.model_fields)
    return pl.DataFrame([row.model_dump() for row in rows]).select(columns)
