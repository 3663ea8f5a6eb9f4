"""Small hand-made logs whose metrics can be worked out on paper."""

import datetime as dt

import polars as pl
import pytest

from sim.regimes import EXPOSURE_SCHEMA, REGIME_SCHEMA

BOLTON, WIGAN = "E08000001", "E08000010"  # both North West


def regime_rows(rows: list[dict]) -> pl.LazyFrame:
    """Regime-log rows from dicts (missing columns null), as REGIME_SCHEMA."""
    full = [{name: row.get(name) for name in REGIME_SCHEMA} for row in rows]
    return pl.DataFrame(full, schema=REGIME_SCHEMA).lazy()


def case(number: int, opened: dt.date, authority: str = BOLTON, scenario: str = "none") -> dict:
    return {
        "scenario": scenario,
        "date": opened,
        "event": "case_open",
        "case": number,
        "child_id": f"C{number}",
        "authority": authority,
        "from_authority": "E08000003",
        "care": "child_in_need",
        "opened": opened,
    }


def reconnection(number: int, opened: dt.date, on: dt.date, path: str = "phone_round") -> dict:
    row = case(number, opened)
    row.update(event="reconnection", date=on, path=path)
    return row


def world_rows(rows: list[tuple[str, str, dt.date]]) -> pl.LazyFrame:
    """World-log rows (child_id, event, date): only what the lost-child query reads."""
    return pl.DataFrame(
        rows, schema={"child_id": pl.String, "event": pl.String, "date": pl.Date}, orient="row"
    ).lazy()


@pytest.fixture
def empty_exposure() -> pl.LazyFrame:
    return pl.DataFrame(schema=EXPOSURE_SCHEMA).lazy()


@pytest.fixture
def logs():
    """Helpers: regime_rows, case, reconnection, world_rows."""
    return regime_rows, case, reconnection, world_rows
