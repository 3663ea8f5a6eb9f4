"""The audit log as a polars frame, for monitoring, subject access and research."""

from pathlib import Path

import polars as pl

SCHEMA = {
    "seq": pl.Int64,
    "time": pl.String,
    "actor": pl.String,
    "action": pl.String,
    "outcome": pl.String,
    "child_id": pl.String,
    "reason": pl.String,
    "detail": pl.String,
    "prev": pl.String,
    "hash": pl.String,
}


def scan_audit(log_path: Path) -> pl.LazyFrame:
    """A lazy frame of the log: time parsed, `detail` kept as its JSON text.

    Reading does not verify: run `verify` first when the log's integrity matters.
    """
    empty = Path(log_path).stat().st_size == 0
    source = pl.LazyFrame(schema=SCHEMA) if empty else pl.scan_ndjson(log_path, schema=SCHEMA)
    return source.with_columns(
        pl.col("time").str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us")
    ).drop("prev", "hash")


def read_audit(log_path: Path) -> pl.DataFrame:
    """The whole log: seq, time, actor, action, outcome, child_id, reason, detail (JSON text)."""
    return scan_audit(log_path).collect()


def detail_field(name: str, dtype: pl.DataType = pl.String) -> pl.Expr:
    """One key of the `detail` JSON as a column (null where absent)."""
    return pl.col("detail").str.json_path_match(f"$.{name}").cast(dtype).alias(name)
