"""Probabilistic sensitivity analysis: each replication draws the uncertain parameters.

Without PSA every replication runs the same parameters (the scenario's overrides on data/), so
its intervals measure replication noise only. With PSA (`psa = true` in a scenario, or
`cpw compare --psa`) replication r also draws every parameter of
data/experiments/low-confidence.toml's [[distributions]] from its stated distribution, so the
intervals include parameter uncertainty. A parameter the scenario overrides stays fixed at the
scenario's value (the scenario asked that question).

The draws come from the replication's own stream, (seed, "psa", r) in sim.streams, apart from
the world's: the same seed gives the same draws in any process, and every arm of a replication
shares them (paired differences stay paired). One uniform per distribution, in the file's
order, through its inverse CDF.
"""

from typing import Any

from sim.experiments.low_confidence import Distribution, low_confidence_figures
from sim.experiments.scenario import Scenario
from sim.parameters import ModelParameters, defaults, model_parameters
from sim.streams import stream


def draw_value(distribution: Distribution, draw: float, current: Any) -> Any:
    """The parameter's value for a draw: the draw, or `current` (number or list) times it."""
    if distribution.scale == "value":
        return round(draw) if isinstance(current, int) else draw
    if isinstance(current, list):
        return [draw_value(distribution, draw, item) for item in current]
    scaled = current * draw
    if distribution.at_most is not None:
        scaled = min(scaled, distribution.at_most)
    return round(scaled) if isinstance(current, int) else round(scaled, 12)


def psa_draws(scenario: Scenario, replication: int) -> dict[str, Any]:
    """Replication `replication`'s drawn values by key path (the scenario's own overrides are
    left out: they hold those parameters fixed)."""
    distributions = low_confidence_figures().distributions
    table = defaults()
    rng = stream(scenario.seed, "psa", replication)
    uniforms = rng.random(len(distributions))
    draws = {}
    for distribution, u in zip(distributions, uniforms, strict=True):
        key = distribution.parameter
        if key in scenario.parameters:
            continue
        draws[key] = draw_value(distribution, distribution.quantile(float(u)), table[key]["value"])
    return draws


def replication_parameters(scenario: Scenario, replication: int) -> ModelParameters:
    """The parameters replication `replication` runs with: data/, the PSA draws (if the
    scenario asks for PSA), then the scenario's overrides."""
    overrides = dict(scenario.parameters)
    if scenario.psa:
        overrides = {**psa_draws(scenario, replication), **overrides}
    where = f"{scenario.source or scenario.title}: replication {replication}: parameters"
    return model_parameters(overrides, where=where)


def interval_kind(psa: bool) -> str:
    """What a run's intervals cover, in the words the reports use."""
    if psa:
        return (
            "replication noise and parameter uncertainty (PSA: each replication draws the "
            "low-confidence parameters of data/experiments/low-confidence.toml)"
        )
    return "replication noise only (every replication runs the same parameters)"
