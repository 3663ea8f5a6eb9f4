"""A PostgreSQL deployment made once per session, and a running copy of it for each test."""

import shutil
import subprocess
from pathlib import Path

import pytest

from sim.deployment.deploy import SIDE_FILES
from sim.population.output import write_population
from sim.population.synth import SynthRequest
from sim.postgres.deploy import NEGATIVE_CONTROL, deploy_postgres
from sim.postgres.topology import start_all, stop_all


@pytest.fixture(scope="session")
def pg_built(postgres_root: Path) -> Path:
    """`cpw deploy --backend postgres` of one authority at 1%, its servers stopped: a template
    made once per session (each test runs on its own copy)."""
    root = postgres_root / "built"
    root.mkdir(mode=0o711)
    write_population(SynthRequest(1, 0.01, ("E08000001",)), root / "population")
    deploy_postgres(root / "population", root / "dep", canaries=5, profile="simulation")
    stop_all(root / "dep")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_deployment(pg_built: Path, postgres_tmp: Path) -> Path:
    """A private running copy of the module's PostgreSQL deployment (owners and modes kept)."""
    target = postgres_tmp / "dep"
    subprocess.run(["cp", "-a", str(pg_built / "dep"), str(target)], check=True)
    for name in (*SIDE_FILES, NEGATIVE_CONTROL):
        shutil.copy2(pg_built / f"dep.{name}", postgres_tmp / f"dep.{name}")
    start_all(target)
    yield target
    if target.exists():
        stop_all(target, mode="immediate")
