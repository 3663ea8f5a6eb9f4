"""Comparisons: several scenarios' arms, or several regimes, run side by side on identical worlds.

Arms can only share worlds when what makes the world is the same: seed, period, population,
replications, parameter overrides and PSA (the draws). Scenarios that differ in any of these are
refused (the message names the first key that differs), rather than compared on different worlds.
"""

from sim.errors import InputError
from sim.experiments.scenario import Arm, Scenario, Step
from sim.regimes.regimes import REGIMES

SHARED = ("seed", "period", "population", "replications", "parameters", "psa")


def combine(scenarios: list[Scenario]) -> Scenario:
    """One scenario holding every arm of `scenarios`, named 'file.arm' when there are several."""
    if not scenarios:
        raise InputError("compare: give at least one scenario")
    first = scenarios[0]
    for other in scenarios[1:]:
        for key in SHARED:
            if getattr(other, key) != getattr(first, key):
                raise InputError(
                    f"{other.source}: {key} differs from {first.source}; compared scenarios "
                    "must share seed, period, population, replications, parameters and psa"
                )
    if len(scenarios) == 1:
        return first
    arms = []
    for scenario in scenarios:
        stem = scenario.source.rsplit("/", 1)[-1].removesuffix(".toml")
        arms += [arm.model_copy(update={"name": f"{stem}.{arm.name}"}) for arm in scenario.arms]
    names = [arm.name for arm in arms]
    if len(set(names)) != len(names):
        raise InputError("compare: two scenarios have the same file name; rename one")
    title = "Comparison: " + "; ".join(s.title for s in scenarios)
    return first.model_copy(update={"arms": arms, "title": title, "description": ""})


def regimes_throughout(scenario: Scenario, regimes: list[str]) -> Scenario:
    """The scenario's world with one arm per regime, each in force throughout."""
    unknown = [r for r in regimes if r not in REGIMES]
    if unknown or not regimes or len(set(regimes)) != len(regimes):
        raise InputError(f"--regimes: give distinct names from {', '.join(REGIMES)}")
    arms = [Arm(name=r, regimes=[Step(regime=r)]) for r in regimes]
    return scenario.model_copy(update={"arms": arms})
