"""`cpw compare`: scenarios or regimes side by side on identical worlds, paired differences."""

import polars as pl
import pytest

from sim.cli.experiments import compare
from sim.errors import InputError
from sim.experiments.compare import combine, regimes_throughout
from sim.experiments.scenario import load_scenario


def test_two_scenarios_share_worlds_and_keep_their_arms(tmp_path, tiny_text, scenario_file):
    """Arms of both files run together, named file.arm; differing worlds are refused."""
    a = load_scenario(scenario_file(tmp_path, tiny_text, "a.toml"))
    b = load_scenario(scenario_file(tmp_path, tiny_text, "b.toml"))
    combined = combine([a, b])
    assert [arm.name for arm in combined.arms] == [
        "a.none",
        "a.contactpoint",
        "b.none",
        "b.contactpoint",
    ]
    other = load_scenario(
        scenario_file(tmp_path, tiny_text.replace("seed = 5", "seed = 6"), "c.toml")
    )
    with pytest.raises(InputError, match=r"c\.toml: seed differs from"):
        combine([a, other])


def test_regimes_throughout_replace_the_arms(tiny):
    """--regimes gives one arm per regime on the scenario's world; unknown names are refused."""
    scenario = regimes_throughout(load_scenario(tiny), ["none", "cp_is", "local"])
    assert [(a.name, a.regimes[0].regime) for a in scenario.arms] == [
        ("none", "none"),
        ("cp_is", "cp_is"),
        ("local", "local"),
    ]
    with pytest.raises(InputError, match="--regimes"):
        regimes_throughout(load_scenario(tiny), ["none", "utopia"])


def test_the_compare_command_prints_paired_differences(tmp_path, capsys, tiny_text, scenario_file):
    """Two identical scenario files compared: their like arms differ by exactly zero."""
    a = scenario_file(tmp_path, tiny_text, "a.toml")
    b = scenario_file(tmp_path, tiny_text, "b.toml")
    out = tmp_path / "run"
    compare([str(a), str(b)], out=out)
    assert "Paired difference from 'a.none'" in capsys.readouterr().out
    differences = pl.read_csv(out / "differences.csv")
    same = differences.filter(pl.col("arm") == "b.none")
    assert same.height > 0 and (same["mean"].abs().max() == 0)
    with pytest.raises(InputError, match="--regimes: give distinct names"):
        compare([str(a)], regimes="none,utopia", out=tmp_path / "x")
    assert not (tmp_path / "x").exists()
