"""Shared fixtures: one small synthetic England, made once per test session."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from sim.population.synth import SynthRequest, synthesise
from sim.reference import load_authorities

ROOT = Path(__file__).resolve().parents[1]
SMALL_SEED = 7


@pytest.fixture(scope="session")
def england_small() -> dict[str, pl.DataFrame]:
    """All 152 authorities at 1% of England (~110,000 children)."""
    codes = tuple(a.code for a in load_authorities())
    return synthesise(SynthRequest(seed=SMALL_SEED, scale=0.01, authority_codes=codes))


@pytest.fixture
def cpw():
    """Run `cpw ARGS...` in a fresh process as a user would; returns the CompletedProcess."""
    return run_cpw


def run_cpw(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd or ROOT,
        timeout=300,
    )


@pytest.fixture
def deployment(built: Path, tmp_path: Path) -> Path:
    """A private copy of the module's deployment (`built` / "dep") and the files beside it.

    A test module that uses it defines `built`: a directory holding a deployment named `dep`.
    """
    shutil.copytree(built / "dep", tmp_path / "dep")
    for side in built.glob("dep.*"):
        shutil.copy2(side, tmp_path / side.name)
    return tmp_path / "dep"
