"""Sweeps: Latin hypercube strata, one-at-a-time tornado points, and a small tornado run."""

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cli.experiments import sweep
from sim.errors import InputError
from sim.experiments.parameters import defaults
from sim.experiments.run import read_resolved
from sim.experiments.scenario import load_scenario
from sim.experiments.sweep import Range, latin_hypercube, parse_range, parse_ranges, run_sweep
from sim.parameters import model_parameters


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
        ("regimes.paths.lookup_propensity=0:1", "a list of 7 numbers, not a single number"),
        ("regimes.paths.compliance=0.9:0.1", "LOW 0.9 must be below HIGH 0.1"),
        ("world.moves.address_moves_by_age=0.8x:1.2", "both ends as multipliers"),
        ("world.moves.address_moves_by_age=-0.5x:1.2x", "cannot be negative"),
        ("world.moves.address_moves_by_age=1.2x:0.8x", "LOW 1.2 must be below HIGH 0.8"),
        ("regimes.regimes.switch_off=0.8x:1.2x", "is not numeric"),
        ("regimes.regimes.nerve=0.8x:1.2x", "is not a parameter"),
    ],
)
def test_bad_ranges_are_refused(text, message):
    """A range must name a scalar numeric parameter and run from low to high."""
    with pytest.raises(InputError, match=message):
        parse_range(text)


def test_a_multiplier_scales_every_value_of_a_list_and_the_model_sees_it():
    """0.8x:1.2x on the address moves by age: each age's share times the factor, the same
    age profile, and the run's parameters carry the scaled list (data/ is untouched)."""
    from sim.world.parameters import move_params

    r = parse_range("world.moves.address_moves_by_age = 0.8x : 1.2x")
    assert (r.low, r.high, r.multiplier, r.integer) == (0.8, 1.2, True, False)
    default = defaults()[r.key]["value"]
    scaled = r.parameter(r.value(1.0), default)
    assert scaled == pytest.approx([share * 1.2 for share in default])
    params = model_parameters({r.key: scaled})
    assert params.moves.address_moves_by_age.value == pytest.approx(scaled)
    assert move_params().address_moves_by_age.value == default


def test_ranges_parse_in_order_and_a_multiplier_is_labelled_as_one():
    """parse_ranges keeps the order given (as --vary repeated); a tornado labels a multiplier
    range '0.8x to 1.2x' and a plain one by its values."""
    from sim.experiments.tornado import _span

    ranges = parse_ranges(
        ["regimes.paths.compliance=0.4:1", "world.moves.address_moves_by_age=0.8x:1.2x"]
    )
    assert [r.key for r in ranges] == [
        "regimes.paths.compliance",
        "world.moves.address_moves_by_age",
    ]
    assert [_span(r) for r in ranges] == ["0.4 to 1", "0.8x to 1.2x"]


def test_a_multiplier_on_a_whole_number_keeps_it_whole():
    """Scaling a count (days, users) rounds to a whole number, as the file's model expects."""
    r = parse_range("regimes.paths.phone_round_days=0.5x:1.5x")
    assert r.parameter(r.value(0.0), 14) == 7
    assert r.parameter(r.value(1.0), 14) == 21
    assert r.describe() == "0.5x to 1.5x"


def test_a_multiplier_that_breaks_the_model_is_refused_before_running(tmp_path, tiny):
    """3x the between-authority moves exceeds the address moves at some age: the sweep stops
    with a one-line error naming the key, and writes nothing."""
    ranges = [parse_range("world.moves.between_authority_moves_by_age=0.5x:3x")]
    with pytest.raises(InputError, match=r"parameters\.world\.moves\.between_authority") as exc:
        run_sweep(load_scenario(tiny), ranges, tmp_path / "sweep", method="tornado")
    assert "\n" not in str(exc.value)
    assert not (tmp_path / "sweep").exists()


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
    sweep(str(path), ["regimes.paths.records_transfer_share=0x:1.1x"], "tornado", out=out)
    table = pl.read_csv(out / "sweep.csv")
    lost = table.filter((pl.col("arm") == "none") & (pl.col("metric") == "lost_90_per_1000"))
    by_point = dict(zip(lost["point"].to_list(), lost["mean"].to_list(), strict=True))
    assert sorted(by_point) == [0, 1, 2]
    assert by_point[1] > by_point[0] > by_point[2]
    effect = table.filter(
        (pl.col("arm") == "contactpoint") & (pl.col("metric") == "lost_90_per_1000_effect")
    )
    assert sorted(effect["point"].to_list()) == [0, 1, 2]  # the tornado's paired differences
    assert (out / "figures" / "tornado.png").is_file()
    assert len(list((out / "points").iterdir())) == 3
    assert "sweep.csv" in capsys.readouterr().out


def test_a_list_sweep_runs_and_records_its_multipliers(tmp_path, tiny):
    """A tornado over a list parameter runs its three points; sweep.csv holds the multiplier
    (1 at the base) and each point's resolved scenario holds the scaled list."""
    key = "world.moves.between_authority_moves_by_age"
    table = run_sweep(
        load_scenario(tiny), [parse_range(f"{key}=0.5x:1.5x")], tmp_path / "sweep", "tornado"
    )
    assert sorted(set(zip(table["point"], table[key], strict=True))) == [
        (0, 1.0),
        (1, 0.5),
        (2, 1.5),
    ]
    ran = read_resolved(tmp_path / "sweep" / "points" / "p002")["parameters"][key]
    assert ran["value"] == pytest.approx([share * 1.5 for share in defaults()[key]["value"]])
    assert ran["confidence"] == "scenario"
