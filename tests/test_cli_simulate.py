"""`cpw simulate` as a user meets it: a small run writes its outputs; bad input gets one line."""

import json

import polars as pl
import pytest

SMALL = [
    "--region",
    "North East",
    "--scale",
    "0.05",
    "--start",
    "2009-01-01",
    "--end",
    "2009-06-30",
]


def test_a_small_run_writes_log_metrics_and_manifest(tmp_path, cpw):
    """Three regimes on one world: event log, metrics table, summary and manifest are written."""
    out = tmp_path / "run"
    result = cpw("simulate", *SMALL, "--out", str(out))
    assert result.returncode == 0, result.stderr
    for name in [
        "events.parquet",
        "regime_log.parquet",
        "metrics.parquet",
        "metrics.csv",
        "summary.csv",
        "manifest.json",
    ]:
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenarios"] == ["none", "contactpoint", "signposting"]
    assert "lost 30 per 1000" in result.stdout


def test_same_seed_same_outputs(tmp_path, cpw):
    """Two runs with the same seed give identical event logs and metrics tables."""
    for name in ("a", "b"):
        assert cpw("simulate", *SMALL, "--seed", "4", "--out", str(tmp_path / name)).returncode == 0
    for table in ("events.parquet", "metrics.parquet", "regime_log.parquet"):
        first = pl.read_parquet(tmp_path / "a" / table)
        assert first.equals(pl.read_parquet(tmp_path / "b" / table)), table
    assert (tmp_path / "a" / "summary.csv").read_text() == (
        tmp_path / "b" / "summary.csv"
    ).read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "Wessex"], "--regions: unknown region 'Wessex'"),
        (["--scenarios", "none,utopia"], "scenarios: give distinct names"),
        (["--start", "2010-13-01"], "--start: '2010-13-01' is not a date"),
        (["--start", "2010-06-01", "--end", "2010-01-01"], "--end: 2010-01-01 is not after"),
        (["--scale", "2"], "--scale: must be in (0, 1], got 2"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, cpw, args, message):
    """Each bad option is named in a one-line error, exit 2, and no run directory appears."""
    result = cpw(
        "simulate",
        "--region",
        "North East",
        "--scale",
        "0.01",
        *args,
        "--out",
        str(tmp_path / "run"),
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert list(tmp_path.iterdir()) == []
