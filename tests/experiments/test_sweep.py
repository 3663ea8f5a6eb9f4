"""Sweeps: Latin hypercube strata, one-at-a-time tornado points, and a small tornado run."""

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cli.experiments import sweep
from sim.errors import InputError
from sim.experiments.scenario import load_scenario
from sim.experiments.sweep import Range, latin_hypercube, parse_range, run_sweep


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 30), st.integers(0, 2**32 - 1))
def test_latin_hypercube_uses_every_stratum_once(points, seed):
    """Each parameter's range is cut into `points` equal strata; each holds exactly one point,
    and the same seed gives the same design."""
    ranges = [Range("a.b.x", 0.0, 1.0), Range("a.b.y", 10.0, 20.0)]
    design = latin_hypercube(ranges, points, seed)
    assert design == latin_hypercube(ranges, points, seed)
    for r in ranges:
        strata = sorted(int((p[r.key] - r.low) / (r.high - r.low) * points) for p in design)
        assert strata == list(range(points))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("regimes.paths.compliance", "is not KEY=LOW:HIGH"),
        ("regimes.paths.nerve=0:1", "is not a parameter"),
        ("regimes.paths.lookup_propensity=0:1", "is not a single number"),
        ("regimes.paths.compliance=0.9:0.1", "LOW 0.9 must be below HIGH 0.1"),
    ],
)
def test_bad_ranges_are_refused(text, message):
    """A range must name a scalar numeric parameter and run from low to high."""
    with pytest.raises(InputError, match=message):
        parse_range(text)


def test_a_point_out_of_range_is_refused_before_running(tmp_path, tiny):
    """A compliance of 1.5 fails the paths model: nothing runs, nothing is written."""
    ranges = [parse_range("regimes.paths.compliance=0.5:1.5")]
    with pytest.raises(InputError, match=r"parameters\.regimes\.paths\.compliance"):
        run_sweep(load_scenario(tiny), ranges, tmp_path / "sweep", method="tornado")
    assert not (tmp_path / "sweep").exists()


def test_a_tornado_moves_the_lost_rate_with_the_records_transfer_share(
    tmp_path, tiny_text, scenario_file, capsys
):
    """More records transferred, fewer children lost; the base, low and high points all run."""
    larger = tiny_text.replace(
        'authorities = ["E06000001", "E06000002"]', 'regions = ["North West"]'
    )
    larger = larger.replace("2009-03-31", "2009-09-30")
    path = scenario_file(tmp_path, larger)
    out = tmp_path / "sweep"
    sweep(str(path), ["regimes.paths.records_transfer_share=0.0:1.0"], "tornado", out=out)
    table = pl.read_csv(out / "sweep.csv")
    lost = table.filter((pl.col("arm") == "none") & (pl.col("metric") == "lost_90_per_1000"))
    by_point = dict(zip(lost["point"].to_list(), lost["mean"].to_list(), strict=True))
    assert sorted(by_point) == [0, 1, 2]
    assert by_point[1] > by_point[0] > by_point[2]
    assert (out / "figures" / "tornado.png").is_file()
    assert len(list((out / "points").iterdir())) == 3
    assert "sweep.csv" in capsys.readouterr().out
