"""The audit log as a polars frame, for monitoring, subject access and research."""

import io
from collections.abc import Iterator
from pathlib import Path

import polars as pl

# A trail read a piece at a time holds about this much of its text in memory at once
# (scan_audit maps the whole file, and an England run's trail is several gigabytes).
PIECE_BYTES = 64 * 1024 * 1024

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
    if Path(log_path).stat().st_size == 0:
        return _events(pl.LazyFrame(schema=SCHEMA))
    return _events(pl.scan_ndjson(log_path, schema=SCHEMA))


def audit_pieces(log_path: Path, piece_bytes: int = PIECE_BYTES) -> Iterator[pl.LazyFrame]:
    """The log as `scan_audit` gives it, in pieces of about `piece_bytes` of its text, each cut
    at a line's end: for passes over a trail larger than memory should hold."""
    with open(log_path, "rb") as log:
        while piece := log.read(piece_bytes):
            piece += log.readline()  # up to the end of the line the piece cut into
            yield _events(pl.read_ndjson(io.BytesIO(piece), schema=SCHEMA).lazy())


def _events(lines: pl.LazyFrame) -> pl.LazyFrame:
    return lines.with_columns(
        pl.col("time").str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us")
    ).drop("prev", "hash")


def read_audit(log_path: Path) -> pl.DataFrame:
    """The whole log: seq, time, actor, action, outcome, child_id, reason, detail (JSON text)."""
    return scan_audit(log_path).collect()


def detail_field(name: str, dtype: pl.DataType = pl.String) -> pl.Expr:
    """One key of the `detail` JSON as a column (null where absent)."""
    return pl.col("detail").str.json_path_match(f"$.{name}").cast(dtype).alias(name)
