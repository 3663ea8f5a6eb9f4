"""Tiny scenarios for the experiment tests: one authority, a few weeks, two replications."""

from pathlib import Path

import pytest

from sim.deployment.deploy import deploy
from sim.population.output import write_population
from sim.population.synth import SynthRequest

TINY = """\
title = "Tiny: Hartlepool for three months"
description = "A test scenario."
seed = 5
replications = 2

[period]
start = 2009-01-01
end = 2009-03-31

[population]
scale = 0.05
authorities = ["E06000001", "E06000002"]

[[arms]]
name = "none"
regimes = [{ regime = "none" }]

[[arms]]
name = "contactpoint"
regimes = [
  { regime = "contactpoint" },
  { regime = "none", start = 2009-03-01T12:00:00 },
]
"""


def write_scenario(directory: Path, text: str = TINY, name: str = "tiny.toml") -> Path:
    path = directory / name
    path.write_text(text)
    return path


@pytest.fixture
def tiny(tmp_path) -> Path:
    """A valid tiny scenario file."""
    return write_scenario(tmp_path)


@pytest.fixture
def scenario_file():
    """`scenario_file(directory, text)` writes a scenario file and returns its path."""
    return write_scenario


@pytest.fixture
def tiny_text() -> str:
    """The tiny scenario's TOML text, to alter one thing at a time."""
    return TINY


# A deployment of Bolton and Wigan (the real index inside a scenario, test_*deployment*.py).
SEED, SCALE, AUTHORITIES = 5, 0.05, ("E08000001", "E08000010")  # Bolton, Wigan
SCENARIO = """\
title = "Bolton and Wigan with the real index"
seed = {seed}
replications = 2

[period]
start = 2010-04-01
end = 2010-09-30

[population]
scale = 0.05
authorities = ["E08000001", "E08000010"]

[index]
deployment = "{deployment}"

[[arms]]
name = "history"
regimes = [
  {{ regime = "contactpoint" }},
  {{ regime = "none", start = 2010-08-06T12:00:00 }},
]

[[arms]]
name = "none"
regimes = [{{ regime = "none" }}]

[parameters.regimes.paths]
lookup_propensity = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
compliance = 1.0
"""


@pytest.fixture(scope="session")
def deployment(tmp_path_factory):
    """The scenario's population, written and deployed (cheap 'simulation' hashing)."""
    root = tmp_path_factory.mktemp("dep")
    write_population(SynthRequest(SEED, SCALE, AUTHORITIES), root / "pop")
    deploy(root / "pop", root / "dep", profile="simulation", users=5, canaries=1)
    return root / "dep"


def write_deployed_scenario(directory, deployment, seed_shift=0, index_lines=""):
    """A scenario file over `deployment`: its seed shifted from the deployment's population's
    by `seed_shift`, with `index_lines` added to its [index] table."""
    text = SCENARIO.format(seed=SEED + seed_shift, deployment=deployment)
    path = directory / "scenario.toml"
    path.write_text(text.replace("[index]\n", f"[index]\n{index_lines}"))
    return path


@pytest.fixture
def deployed_scenario():
    """`deployed_scenario(directory, deployment, seed_shift=0, index_lines="")` writes a
    scenario over the `deployment` fixture's population and returns its path."""
    return write_deployed_scenario
