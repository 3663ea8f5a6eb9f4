"""Privacy exposure and data quality in the metrics table."""

import datetime as dt

import polars as pl

from sim.metrics import cost_params, metrics_table
from sim.regimes import EXPOSURE_SCHEMA

FEB = dt.date(2010, 2, 1)


def test_exposure_and_stale_lookups(logs):
    """Records held, users and shields come from snapshots; lookups give misuse and staleness."""
    regime_rows, case, _, world_rows = logs
    rows = [case(1, dt.date(2010, 1, 20), scenario="contactpoint")]
    for number, stale in enumerate([True, False, False, True]):
        row = case(1, dt.date(2010, 1, 20), scenario="contactpoint")
        row.update(event="lookup", date=FEB + dt.timedelta(days=number), regime="contactpoint")
        row.update(kind="school_admission", found=True, contacts_shown=True, stale=stale)
        row.update(shielded=False, refused=False, hours=5 / 60)
        rows.append(row)
    snapshot = pl.DataFrame(
        [("contactpoint", FEB, "contactpoint", "E08000001", 60_000, 60_000, 2_000.0, 282.0)],
        schema=EXPOSURE_SCHEMA,
        orient="row",
    ).lazy()
    table = metrics_table(regime_rows(rows), world_rows([]), snapshot, dt.date(2010, 12, 31))
    feb = table.filter(
        (pl.col("level") == "authority")
        & (pl.col("month") == FEB)
        & (pl.col("area") == "E08000001")
    )
    value = dict(zip(feb["metric"], feb["value"], strict=True))
    assert value["records_held"] == 60_000 and value["users"] == 2_000
    assert value["shielded_records"] == 282
    assert value["lookups"] == 4 and value["lookups_found"] == 4
    assert value["stale_at_lookup"] == 2
    assert value["inappropriate_accesses"] == round(4 * cost_params().inappropriate_share.value, 6)
    assert value["hours"] == round(4 * 5 / 60, 6)
