"""`cpw simulate SCENARIO` as a user meets it: a small run writes its outputs and a report;
the same scenario gives the same tables; bad input gets one line, exit 2, and nothing written."""

import polars as pl
import pytest

TINY = """\
title = "Tiny CLI run"
seed = 3
replications = 2

[period]
start = 2009-01-01
end = 2009-04-30

[population]
scale = 0.05
authorities = ["E06000001", "E06000002"]

[[arms]]
name = "none"
regimes = [{ regime = "none" }]

[[arms]]
name = "contactpoint"
regimes = [{ regime = "contactpoint" }]
"""


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def test_a_small_run_writes_tables_report_and_prints_intervals(tmp_path, cpw, scenario):
    """Replications, tables with CIs, paired differences, and a report with figures."""
    out = tmp_path / "run"
    result = cpw("simulate", str(scenario), "--out", str(out))
    assert result.returncode == 0, result.stderr
    for name in [
        "scenario.toml",
        "resolved.json",
        "manifest.json",
        "figures.csv",
        "metrics.parquet",
        "metrics.csv",
        "confidence.csv",
        "differences.csv",
        "report.md",
        "report.html",
        "figures/lost_over_time.png",
        "figures/authority_map.png",
        "replications/r001/events.parquet",
    ]:
        assert (out / name).is_file(), name
    assert "Paired difference from 'none'" in result.stdout
    assert "lost at 90 days per 1,000" in result.stdout and "report.md" in result.stdout


def test_same_scenario_same_tables(tmp_path, cpw, scenario):
    """Two runs of one scenario, one with two workers, give identical metrics and figures."""
    assert cpw("simulate", str(scenario), "--out", str(tmp_path / "a")).returncode == 0
    two = cpw("simulate", str(scenario), "--workers", "2", "--out", str(tmp_path / "b"))
    assert two.returncode == 0, two.stderr
    for table in ("metrics.parquet", "figures.parquet"):
        assert pl.read_parquet(tmp_path / "a" / table).equals(
            pl.read_parquet(tmp_path / "b" / table)
        ), table
    assert (tmp_path / "a" / "confidence.csv").read_text() == (
        tmp_path / "b" / "confidence.csv"
    ).read_text()


@pytest.mark.parametrize(
    ("edit", "args", "message"),
    [
        (None, ["--workers", "0"], "--workers: must be at least 1, got 0"),
        (None, ["--replications", "0"], "--replications: must be 1 to 1000"),
        (('regime = "none" }', 'regime = "utopia" }'), [], "arms[0].regimes[0].regime"),
        (("end = 2009-04-30", 'end = "2009-13-01"'), [], "period.end: 2009-13-01 is not a date"),
        (("end = 2009-04-30", "end = 2008-06-01"), [], "period.end: 2008-06-01 is not after"),
        (('"E06000002"', '"Wessex"'), [], "population.authorities[1]: 'Wessex'"),
        (("scale = 0.05", "scale = -0.05"), [], "population.scale: Input should be greater"),
        (
            ('"contactpoint" }]\n', '"contactpoint" }]\n[parameters]\nworld.moves.x = 1\n'),
            [],
            "has no parameter 'x'",
        ),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, cpw, scenario, edit, args, message):
    """Each bad option or scenario value is named in a one-line error, exit 2, nothing written."""
    if edit is not None:
        scenario.write_text(TINY.replace(*edit, 1))
    out = tmp_path / "run"
    result = cpw("simulate", str(scenario), *args, "--out", str(out))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not out.exists()


def test_a_missing_scenario_file_is_one_line(tmp_path, cpw):
    """A scenario that does not exist: one line naming it, exit 2."""
    result = cpw("simulate", str(tmp_path / "absent.toml"), "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert "absent.toml: scenario file not found" in result.stderr.strip()
