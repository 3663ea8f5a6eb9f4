"""Parameter overrides: a key path reaches the value in data/, and only inside the block."""

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.errors import InputError
from sim.experiments.parameters import PARAMETER_FILES, defaults, flatten
from sim.metrics.parameters import cost_params
from sim.parameters import model_parameters, value_of
from sim.regimes.parameters import path_params
from sim.world.parameters import care_params


def test_every_parameter_file_is_listed_with_defaults():
    """Each overridable file's values appear by key path with value and confidence."""
    table = defaults()
    prefixes = {f.removesuffix(".toml").replace("/", ".") for f in PARAMETER_FILES}
    assert {key.rpartition(".")[0] for key in table} == prefixes
    assert table["regimes.paths.compliance"]["value"] == path_params().compliance.value
    assert all(entry["confidence"] in ("high", "medium", "low") for entry in table.values())


def test_flatten_stops_at_the_parameter_file():
    """Nested TOML tables and dotted keys give the same key paths."""
    nested = {"regimes": {"paths": {"compliance": 0.5}}, "metrics.costs": {"token_gbp": 3}}
    assert flatten(nested) == {"regimes.paths.compliance": 0.5, "metrics.costs.token_gbp": 3}


@settings(max_examples=10, deadline=None)
@given(st.floats(0.0, 1.0), st.floats(1.0, 500.0))
def test_overrides_reach_the_parameter_object_only(compliance, token):
    """model_parameters carries the overrides, keeps their provenance and records them; the
    data files' loaders, and a second object built without overrides, are untouched."""
    before = (path_params().compliance.value, cost_params().token_gbp.value)
    overrides = {"regimes.paths.compliance": compliance, "metrics.costs.token_gbp": token}
    params = model_parameters(overrides)
    assert params.paths.compliance.value == compliance
    assert params.costs.token_gbp.value == token
    assert params.paths.compliance.source == path_params().compliance.source
    assert params.care == care_params()  # a file without overrides reads as data/
    assert params.overrides == overrides
    assert value_of(params, "regimes.paths.compliance") == compliance
    assert (path_params().compliance.value, cost_params().token_gbp.value) == before
    assert model_parameters().paths.compliance.value == before[0]


def test_the_parameter_object_is_frozen_and_crosses_processes():
    """Read-only (a run cannot change it under another arm) and picklable (workers get it)."""
    params = model_parameters({"regimes.paths.compliance": 0.5})
    with pytest.raises(ValueError):
        params.paths = params.paths  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(params)) == params


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"regimes.paths.compliance": 1.5}, r"^x: parameters\.regimes\.paths\.compliance: "),
        ({"regimes.paths.nerve": 1}, "data/regimes/paths.toml has no parameter 'nerve'"),
        ({"regimes.nowhere.x": 1}, "no parameter file 'regimes.nowhere'"),
        ({"world.moves.address_moves_by_age": [0.1]}, "world.moves.address_moves_by_age"),
    ],
)
def test_bad_overrides_are_one_line_errors_naming_the_key(overrides, message):
    """An unknown key or a value the file's model refuses: InputError naming the key path."""
    with pytest.raises(InputError, match=message) as caught:
        model_parameters(overrides, where="x: parameters")
    assert "\n" not in str(caught.value)


def test_the_world_and_the_regimes_run_on_the_parameters_they_are_given(tmp_path):
    """Two worlds in one process, one with nobody moving and nobody looking up: each runs on
    its own parameter object (no global state between them), and the default one moves."""
    import datetime as dt

    import polars as pl

    from sim.population.synth import SynthRequest, synthesise
    from sim.regimes import RegimeRunner, build_schedule
    from sim.world import World, WorldConfig

    people = synthesise(SynthRequest(seed=1, scale=0.02, authority_codes=("E08000001",)))
    still = model_parameters(
        {
            "world.moves.address_moves_by_age": [0.0] * 18,
            "world.moves.between_authority_moves_by_age": [0.0] * 18,
            "regimes.paths.compliance": 0.0,
        }
    )
    config = WorldConfig(seed=2, start=dt.date(2009, 1, 1), end=dt.date(2009, 3, 31))
    moves = {}
    for name, params in (("still", still), ("default", model_parameters())):
        world = World(people, config, log_path=tmp_path / f"{name}.parquet", params=params)
        runner = RegimeRunner(world, [build_schedule("contactpoint_kept", parameters=params)])
        world.run(on_day=runner.on_day)
        events = pl.read_parquet(tmp_path / f"{name}.parquet")
        moves[name] = events.filter(pl.col("event").cast(pl.String) == "move").height
        assert runner.paths.compliance.value == params.paths.compliance.value
        if name == "still":
            assert runner.population.frame()["lookups"].sum() == 0
    assert moves == {"still": 0, "default": moves["default"]} and moves["default"] > 0
