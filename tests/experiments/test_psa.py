"""Probabilistic sensitivity analysis: draws within their distributions, the same for the same
seed, valid for the models, recorded per replication, and shared by a replication's arms."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.experiments.low_confidence import Distribution, low_confidence_figures
from sim.experiments.psa import draw_value, psa_draws, replication_parameters
from sim.experiments.run import run_experiment
from sim.experiments.scenario import load_scenario
from sim.parameters import defaults

DISTRIBUTIONS = low_confidence_figures().distributions


def _triangle(low: float, mode: float, high: float) -> Distribution:
    return Distribution(
        parameter="regimes.paths.compliance",
        kind="triangular",
        low=low,
        mode=mode,
        high=high,
        scale="value",
        source="Assumption: a worked example",
    )


def test_worked_examples_of_the_inverse_cdf():
    """Uniform 100k-200k at 0.25 is 125k; triangular (0, 0.5, 1) is 0.5 at u = 0.5, its ends at
    0 and 1, and at u = 0.125 is sqrt(0.125 * 0.5) = 0.25 (the CDF is 2x^2 below the mode)."""
    uniform = Distribution(
        parameter="world.care.caf_starts_per_year",
        kind="uniform",
        low=100_000,
        high=200_000,
        scale="value",
        source="docs/reference.md 4: 100-200k a year is a guess",
    )
    assert uniform.quantile(0.25) == pytest.approx(125_000)
    triangle = _triangle(0.0, 0.5, 1.0)
    assert triangle.quantile(0.5) == pytest.approx(0.5)
    assert (triangle.quantile(0.0), triangle.quantile(1.0)) == pytest.approx((0.0, 1.0))
    assert triangle.quantile(0.125) == pytest.approx(0.25)
    skewed = _triangle(0.5, 0.8, 1.0)  # compliance's: the mode at the CDF's 0.6
    assert skewed.quantile(0.6) == pytest.approx(0.8)


def test_a_multiplier_scales_a_list_and_caps_a_share():
    """0.6x to 1.2x on records transfer: at 1.2x every share grows, those at 0.9 stop at 1."""
    distribution = next(d for d in DISTRIBUTIONS if d.parameter.endswith("records_transfer_share"))
    assert draw_value(distribution, 1.2, [0.1, 0.5, 0.9]) == pytest.approx([0.12, 0.6, 1.0])
    assert draw_value(distribution, 0.6, [0.1, 0.5, 0.9]) == pytest.approx([0.06, 0.3, 0.54])


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.integers(0, 999))
def test_every_draw_lies_within_its_distribution(seed, replication):
    """Each value (or each multiplied value) lies between the distribution's low and high."""
    scenario = load_scenario("north-west").model_copy(update={"seed": seed, "psa": True})
    draws = psa_draws(scenario, replication)
    table = defaults()
    assert set(draws) == {d.parameter for d in DISTRIBUTIONS}
    for d in DISTRIBUTIONS:
        drawn, base = draws[d.parameter], table[d.parameter]["value"]
        if d.scale == "value":
            assert d.low <= drawn <= d.high
            continue
        pairs = zip(drawn, base, strict=True) if isinstance(base, list) else [(drawn, base)]
        for value, original in pairs:
            high = original * d.high if d.at_most is None else min(original * d.high, d.at_most)
            assert original * d.low - 1e-9 <= value <= high + 1e-9


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31), st.integers(0, 999))
def test_every_draw_is_a_valid_parameter_set(seed, replication):
    """The models accept every replication's draws (no share above 1, moves within moves)."""
    scenario = load_scenario("north-west").model_copy(update={"seed": seed, "psa": True})
    params = replication_parameters(scenario, replication)
    assert params.overrides == psa_draws(scenario, replication)


def test_same_seed_same_draws_and_replications_differ():
    """The draws are a function of (seed, replication) only; another replication or another
    seed draws differently; without PSA nothing is drawn."""
    scenario = load_scenario("north-west").model_copy(update={"psa": True})
    assert psa_draws(scenario, 3) == psa_draws(scenario, 3)
    assert psa_draws(scenario, 3) != psa_draws(scenario, 4)
    other = scenario.model_copy(update={"seed": scenario.seed + 1})
    assert psa_draws(other, 3) != psa_draws(scenario, 3)
    plain = scenario.model_copy(update={"psa": False})
    assert replication_parameters(plain, 3).overrides == {}


def test_a_scenario_override_holds_its_parameter_fixed():
    """A parameter the scenario sets is not drawn: the scenario asked that question."""
    scenario = load_scenario("north-west").model_copy(
        update={"psa": True, "parameters": {"regimes.paths.compliance": 0.3}}
    )
    assert "regimes.paths.compliance" not in psa_draws(scenario, 0)
    params = replication_parameters(scenario, 0)
    assert params.paths.compliance.value == 0.3
    assert (
        params.moves.gravity_exponent.value
        == psa_draws(scenario, 0)["world.moves.gravity_exponent"]
    )


def test_parameter_sets_are_recorded_in_the_manifest_and_each_replication(tmp_path, tiny):
    """With PSA each replication's draws are in its parameters.json and in manifest.json, and
    the manifest says the intervals include parameter uncertainty."""
    scenario = load_scenario(tiny).model_copy(update={"psa": True})
    run_experiment(scenario, tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["psa"] is True
    assert "parameter uncertainty" in manifest["intervals"]
    for r in range(scenario.replications):
        recorded = json.loads(
            (tmp_path / "run" / "replications" / f"r{r:03d}" / "parameters.json").read_text()
        )
        expected = json.loads(json.dumps({"replication": r, **psa_draws(scenario, r)}))
        assert recorded == expected
        assert manifest["parameter_sets"][r] == expected
    assert manifest["parameter_sets"][0] != manifest["parameter_sets"][1]


def test_without_psa_the_manifest_says_replication_noise_only(tmp_path, tiny):
    run_experiment(load_scenario(tiny), tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["psa"] is False
    assert manifest["intervals"].startswith("replication noise only")
    assert manifest["parameter_sets"] == [{"replication": 0}, {"replication": 1}]
