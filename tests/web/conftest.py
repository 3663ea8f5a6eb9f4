"""Fixtures for the web interface: a fresh small deployment per test and its server.

The deployment is Bolton at 2% scale with the demo users (simulation hashing profile, so new
accounts are quick); its web settings make loopback count as GCSx and GSi, the networks of its
local-authority and national users. The server is `cpw serve` in a child process on 127.0.0.1
and a free port, stopped after the test.
"""

import shutil
from pathlib import Path

import pytest

from sim.deployment.deploy import deploy
from sim.population.output import read_population, write_population
from sim.population.synth import SynthRequest
from sim.web.launch import RunningServer, running_server
from sim.web.settings import write_loopback_settings
from tests.web.support import AUTHORITY, SIDE_FILES, Deployment


@pytest.fixture(scope="session")
def web_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("web-template")
    population = root / "population"
    write_population(SynthRequest(seed=5, scale=0.02, authority_codes=(AUTHORITY,)), population)
    deploy(population, root / "dep", seed=5, canaries=4, profile="simulation")
    write_loopback_settings(root / "dep", ["GCSx", "GSi"])
    return root / "dep"


@pytest.fixture
def deployment(web_template: Path, tmp_path: Path) -> Deployment:
    """A private copy of the template deployment (tests change it: shields, switch-off)."""
    target = tmp_path / "dep"
    shutil.copytree(web_template, target)
    for suffix in SIDE_FILES:
        shutil.copy2(f"{web_template}.{suffix}", f"{target}.{suffix}")
    baseline = len((target / "audit" / "audit.jsonl").read_bytes().splitlines())
    return Deployment(target, baseline)


@pytest.fixture
def server(deployment: Deployment, tmp_path: Path) -> RunningServer:
    with running_server(
        deployment.path, tmp_path / "server.log", audit_key=deployment.public_key
    ) as running:
        yield running


@pytest.fixture(scope="session")
def queries(web_template: Path) -> list[tuple[str, str]]:
    """(surname, date of birth) of 300 children in the template deployment's population."""
    children = read_population(web_template.parent / "population", ["children"])["children"]
    rows = children.select("surname", "date_of_birth").head(300).collect().rows()
    return [(surname, born.isoformat()) for surname, born in rows]
