"""Variants of a scenario: the same question asked of another place, scale, seed or arms.

    base = load_scenario("north-west")
    history = load_scenario("history-2009-2011").arms[0]
    scenario = variant(base, population={"regions": ["London"]}, arms=[*base.arms, history])

A notebook or an analyst starts from a ready-made scenario file and changes a few settings;
the result is validated exactly as a file would be (sim.experiments.scenario), so a bad
region, a date out of order or an unknown parameter gets the same one-line error.
"""

from collections.abc import Mapping
from typing import Any

import polars as pl

from sim.errors import InputError
from sim.experiments.scenario import Arm, Scenario, load_scenario, scenario_from_dict

NESTED = ("period", "population", "outputs", "parameters")  # merged key by key, not replaced


def variant(scenario: Scenario | str, **changes: Any) -> Scenario:
    """`scenario` (or the ready-made scenario of that name) with `changes`, validated again.

    Top-level settings (title, seed, replications, arms) are replaced; period, population,
    outputs and parameters are merged key by key, e.g. population={"scale": 0.05}. Arms may be
    Arm values (e.g. another scenario's) or dicts as in a scenario file.
    """
    base = load_scenario(scenario) if isinstance(scenario, str) else scenario
    document = base.model_dump(exclude={"source"}, exclude_none=True)
    unknown = sorted(set(changes) - set(document))
    if unknown:
        raise InputError(f"variant: {unknown[0]!r} is not a scenario setting")
    for key, value in changes.items():
        if key in NESTED and isinstance(value, Mapping):
            document[key] = {**document.get(key, {}), **value}
        elif key == "arms":
            document[key] = [
                a.model_dump(exclude_none=True) if isinstance(a, Arm) else a for a in value
            ]
        else:
            document[key] = value
    return scenario_from_dict(document, f"variant of {base.source or base.title}")


def arms_table(scenario: Scenario) -> pl.DataFrame:
    """One row per arm: its name, what it stands for, and its regimes with the dates they
    start (from the period's start if none is given)."""
    return pl.DataFrame(
        {
            "arm": [arm.name for arm in scenario.arms],
            "description": [arm.description for arm in scenario.arms],
            "regimes": [
                ", then ".join(
                    step.regime + (f" from {step.start:%d %b %Y %H:%M}" if step.start else "")
                    for step in arm.regimes
                )
                for arm in scenario.arms
            ],
        }
    )
