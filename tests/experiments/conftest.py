"""Tiny scenarios for the experiment tests: one authority, a few weeks, two replications."""

from pathlib import Path

import pytest

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
